/*
 * NAME
 *	fuzz_policyreq - libFuzzer target for the Postfix policy request
 *	parser and its reply mapping
 * SYNOPSIS
 *	make fuzz-run (fuzz/Makefile.fuzz builds it)
 * DESCRIPTION
 *	Hands the input to policyreq_end() and policyreq_parse() in a
 *	buffer of exactly its size (libFuzzer's own), so that a read past
 *	the end is caught.  Aborts when a result breaks the contract: an
 *	end past the input or past POLICYREQ_MAX, a refusal without a
 *	message, a kept attribute without its NUL or with a newline, a
 *	request refused whole whose parts parse.  Each request read is
 *	then mapped as the policy door maps it (stage, path, client, one
 *	transaction, a reply for every action): a reply must be
 *	"action=" and printable ASCII ended by one empty line, and it
 *	must fit its buffer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policymap.h"
#include "policyreq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check_field - NUL-terminated in its field, no newline. */
static void
check_field(const char *f, size_t size)
{
	const char *nul = memchr(f, '\0', size);

	if (nul == NULL || memchr(f, '\n', (size_t)(nul - f)) != NULL)
		abort();
}

/* check_reply - "action=..." printable, then exactly "\n\n". */
static void
check_reply(const char *out)
{
	size_t n = strlen(out);

	if (n < 9 || n >= POLICYMAP_REPLY_MAX ||
	    strncmp(out, "action=", 7) != 0 || out[n - 1] != '\n' ||
	    out[n - 2] != '\n')
		abort();
	for (size_t i = 0; i < n - 2; i++)
		if (out[i] < 0x20 || out[i] > 0x7e)
			abort();
}

/* check_map - the door's mapping of r under every action. */
static void
check_map(const struct policyreq *r)
{
	static struct policymap_txn t;
	char path[POLICYREQ_SENDER_MAX + 3], out[POLICYMAP_REPLY_MAX];
	struct sockaddr_storage ss;
	enum policymap_stage stage = policymap_stage(r->protocol_state);

	policymap_path(r, path, sizeof(path));
	if (path[0] != '<' || path[strlen(path) - 1] != '>')
		abort();
	(void)policymap_client(r->client_address, &ss);
	for (int a = POLICY_ACCEPT; a <= POLICY_MONITOR; a++) {
		memset(&t, 0, sizeof(t));
		(void)policymap_enter(&t, r, stage);
		t.decided = t.judged = true;
		t.d.action = (enum policy_action)a;
		snprintf(t.d.smtp_code, sizeof(t.d.smtp_code), "550");
		snprintf(t.d.xcode, sizeof(t.d.xcode), "5.7.1");
		/* untrusted text where the decision carries text */
		snprintf(t.d.text, sizeof(t.d.text), "%s", r->sender);
		snprintf(t.d.reason, sizeof(t.d.reason), "%s", r->sender);
		snprintf(t.d.tag_value, sizeof(t.d.tag_value), "%s",
		         r->sasl_username);
		policymap_reply(&t, stage, "X-Authready", a & 1, out,
		                sizeof(out));
		check_reply(out);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct policyreq r;
	const char *buf = (const char *)data;
	char err[160];
	long end;

	end = policyreq_end(buf, size);
	if (end > (long)size || end > POLICYREQ_MAX ||
	    (end < 0 && size < POLICYREQ_MAX))
		abort();
	if (end > 0 && buf[end - 1] != '\n')
		abort();
	err[0] = '\0';
	if (policyreq_parse(buf, end > 0 ? (size_t)end : size, &r, err,
	                    sizeof(err)) != 0) {
		if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL)
			abort();
		return 0;
	}
	check_field(r.request, sizeof(r.request));
	check_field(r.protocol_state, sizeof(r.protocol_state));
	check_field(r.sender, sizeof(r.sender));
	check_field(r.client_address, sizeof(r.client_address));
	check_field(r.sasl_username, sizeof(r.sasl_username));
	check_field(r.queue_id, sizeof(r.queue_id));
	check_field(r.instance, sizeof(r.instance));
	check_map(&r);
	return 0;
}
