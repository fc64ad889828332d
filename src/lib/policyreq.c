/*
 * policyreq.c - a Postfix policy delegation request, read with bounds.
 *
 * SYNOPSIS
 *	#include "policyreq.h"
 *
 *	long policyreq_end(const char *buf, size_t len);
 *	int policyreq_parse(const char *buf, size_t len,
 *	    struct policyreq *r, char *err, size_t errlen);
 *
 * DESCRIPTION
 *	The kept attributes are a table (name, field, size); every other
 *	attribute is skipped, whatever its length, as Postfix asks of a
 *	policy server ("ignore attributes that it does not care about").
 *	Values are kept as sent (no decoding: the protocol has none); the
 *	daemon sanitizes what it logs.
 *
 * DIAGNOSTICS
 *	policyreq_parse() names the first fault: the line number and what
 *	is wrong with it, never the value.
 */
#include "policyreq.h"

#include <stddef.h>
#include <string.h>

#include "errbuf.h"

#define POLICYREQ_FIELD(f)                                                     \
	offsetof(struct policyreq, f), sizeof(((struct policyreq *)0)->f)

/* The attributes decided on, and where they go. */
static const struct {
	const char *name;
	size_t offset;
	size_t size;
} policyreq_keys[] = {
    {"request", POLICYREQ_FIELD(request)},
    {"protocol_state", POLICYREQ_FIELD(protocol_state)},
    {"sender", POLICYREQ_FIELD(sender)},
    {"client_address", POLICYREQ_FIELD(client_address)},
    {"sasl_username", POLICYREQ_FIELD(sasl_username)},
    {"queue_id", POLICYREQ_FIELD(queue_id)},
    {"instance", POLICYREQ_FIELD(instance)},
};
#define POLICYREQ_KEYS (sizeof(policyreq_keys) / sizeof(*policyreq_keys))

long
policyreq_end(const char *buf, size_t len)
{
	size_t scan = len < POLICYREQ_MAX ? len : POLICYREQ_MAX;

	/* An empty line: "\n" first, or "\n\n" anywhere. */
	for (size_t i = 0; i < scan; i++) {
		if (buf[i] != '\n')
			continue;
		if (i == 0 || buf[i - 1] == '\n')
			return (long)(i + 1);
	}
	return len >= POLICYREQ_MAX ? -1 : 0;
}

/* policyreq_key - the table index of name, or -1: ignored. */
static int
policyreq_key(const char *name, size_t len)
{
	for (size_t k = 0; k < POLICYREQ_KEYS; k++)
		if (strlen(policyreq_keys[k].name) == len &&
		    memcmp(policyreq_keys[k].name, name, len) == 0)
			return (int)k;
	return -1;
}

int
policyreq_parse(const char *buf, size_t len, struct policyreq *r, char *err,
                size_t errlen)
{
	bool seen[POLICYREQ_KEYS] = {false};
	size_t pos = 0, line = 0;

	memset(r, 0, sizeof(*r));
	if (len > POLICYREQ_MAX)
		return errbuf_fail(err, errlen, "request over %d octets",
		                   POLICYREQ_MAX);
	if (memchr(buf, '\0', len) != NULL)
		return errbuf_fail(err, errlen, "NUL octet in the request");
	while (pos < len) {
		const char *l = buf + pos, *nl, *eq;
		size_t n, nlen, vlen;
		int k;

		nl = memchr(l, '\n', len - pos);
		n = nl != NULL ? (size_t)(nl - l) : len - pos;
		pos += n + (nl != NULL);
		line++;
		if (n == 0) {
			if (pos == len && line > 1)
				break; /* the empty line that ends it */
			return errbuf_fail(err, errlen, "line %zu is empty",
			                   line);
		}
		if ((eq = memchr(l, '=', n)) == NULL)
			return errbuf_fail(err, errlen,
			                   "line %zu is not name=value", line);
		nlen = (size_t)(eq - l);
		vlen = n - nlen - 1;
		if (nlen == 0 || nlen > POLICYREQ_NAME_MAX)
			return errbuf_fail(err, errlen,
			                   "line %zu: no usable attribute name",
			                   line);
		if ((k = policyreq_key(l, nlen)) < 0)
			continue;
		if (seen[k])
			return errbuf_fail(err, errlen,
			                   "line %zu: %s given twice", line,
			                   policyreq_keys[k].name);
		if (vlen >= policyreq_keys[k].size)
			return errbuf_fail(
			    err, errlen, "line %zu: %s over %zu octets", line,
			    policyreq_keys[k].name, policyreq_keys[k].size - 1);
		seen[k] = true;
		memcpy((char *)r + policyreq_keys[k].offset, eq + 1, vlen);
		((char *)r + policyreq_keys[k].offset)[vlen] = '\0';
	}
	if (line == 0)
		return errbuf_fail(err, errlen, "empty request");
	r->have_sender = seen[policyreq_key("sender", 6)];
	return 0;
}
