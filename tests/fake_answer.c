/*
 * fake_answer.c - canned struct dns_answer values for unit tests.
 *
 * SYNOPSIS
 *	See fake_answer.h.
 */
#include "fake_answer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct dns_rr *
fake_answer_grow(struct dns_answer *ans)
{
	struct dns_rr *rrs;

	rrs = realloc(ans->rrs, (ans->count + 1) * sizeof(*rrs));
	if (rrs == NULL)
		abort();
	ans->rrs = rrs;
	memset(&rrs[ans->count], 0, sizeof(*rrs));
	return &rrs[ans->count++];
}

static void
fake_answer_set_data(struct dns_rr *rr, const void *data, size_t len)
{
	rr->data = malloc(len + 1);
	if (rr->data == NULL)
		abort();
	memcpy(rr->data, data, len);
	rr->data[len] = '\0';
	rr->len = len;
}

void
fake_answer(struct dns_answer *ans, const char *qname, uint16_t qtype,
            enum dns_outcome outcome, size_t n, const char *const *values)
{
	size_t i;

	dns_answer_init(ans, qname, qtype, outcome, NULL);
	for (i = 0; i < n; i++) {
		struct dns_rr *rr = fake_answer_grow(ans);
		const char *v = values[i];

		rr->type = qtype;
		rr->ttl = 300;
		if (qtype == DNS_TYPE_MX) {
			char *end;

			rr->preference = (uint16_t)strtoul(v, &end, 10);
			while (*end == ' ')
				end++;
			v = end;
		}
		fake_answer_set_data(rr, v, strlen(v));
	}
}

void
fake_answer_add_txt(struct dns_answer *ans, const unsigned char *data,
                    size_t len)
{
	struct dns_rr *rr = fake_answer_grow(ans);

	rr->type = DNS_TYPE_TXT;
	rr->ttl = 300;
	fake_answer_set_data(rr, data, len);
	ans->outcome = DNS_OK;
}
