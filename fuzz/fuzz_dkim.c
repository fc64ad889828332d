/*
 * NAME
 *	fuzz_dkim - libFuzzer target for the DKIM key record parser
 * SYNOPSIS
 *	make -f fuzz/Makefile.fuzz top_srcdir=. builddir=BUILD all
 *	BUILD/fuzz/fuzz_dkim -dict=fuzz/dict/fuzz_dkim.dict CORPUS
 * DESCRIPTION
 *	Hands the input to dkim_key_parse() in a heap block of exactly its
 *	size, then, split at newlines into TXT records of one answer, to
 *	dkim_evaluate() without a private key (dkim_key_match() is not
 *	fuzzed: it wants a key file, and its record side is this parser).
 *
 *	Aborts when a result breaks the contract: an accepted RSA key under
 *	1024 bits, an ed25519 key that is not 256 bits, a revoked key with
 *	a size, unterminated h= or s= copies, a refusal without a printable
 *	sentence, or a check_result with unprintable or unterminated text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim.h"
#include "dnsmsg.h"
#include "fuzz_util.h"
#include "report.h"

#define FUZZ_DKIM_RRS 4 /* TXT records in the fuzzed answer */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check_key - what an accepted key record promises. */
static void
check_key(const struct dkim_key *k)
{
	if (memchr(k->hashes, '\0', sizeof(k->hashes)) == NULL ||
	    memchr(k->services, '\0', sizeof(k->services)) == NULL)
		abort();
	if (k->revoked)
		return;
	if (k->type == DKIM_KEY_RSA && k->bits < 1024)
		abort();
	if (k->type == DKIM_KEY_ED25519 && k->bits != 256)
		abort();
	if (k->type != DKIM_KEY_RSA && k->type != DKIM_KEY_ED25519)
		abort();
}

/* fuzz_parse - dkim_key_parse() on an exact-size copy. */
static void
fuzz_parse(const uint8_t *data, size_t size)
{
	unsigned char *rec = fuzz_dup(data, size);
	struct dkim_key k;
	char err[256];

	err[0] = '\0';
	if (dkim_key_parse(rec, size, &k, err, sizeof(err)) == 0) {
		check_key(&k);
	} else {
		fuzz_printable(err, sizeof(err));
		if (err[0] == '\0')
			abort();
	}
	free(rec);
}

/* fuzz_evaluate - dkim_evaluate() of the input as TXT records. */
static void
fuzz_evaluate(const uint8_t *data, size_t size)
{
	const struct dkim_expect exp = {.domain = "example.com",
	                                .selector = "sel",
	                                .key_path = "/nonexistent/sel.key"};
	struct fuzz_part parts[FUZZ_DKIM_RRS];
	struct dns_rr rrs[FUZZ_DKIM_RRS];
	struct check_result res;
	struct dns_answer ans;
	size_t i, n = fuzz_split(data, size, "\n", parts, FUZZ_DKIM_RRS);

	dns_answer_init(&ans, "sel._domainkey.example.com", DNS_TYPE_TXT,
	                DNS_OK, NULL);
	memset(rrs, 0, sizeof(rrs));
	for (i = 0; i < n; i++) {
		rrs[i].type = DNS_TYPE_TXT;
		rrs[i].data =
		    (unsigned char *)fuzz_strdup(parts[i].p, parts[i].n);
		rrs[i].len = parts[i].n;
	}
	ans.rrs = rrs;
	ans.count = n;
	memset(&res, 0, sizeof(res));
	dkim_evaluate(&ans, &exp, &res);
	fuzz_check_result(&res);
	if (res.type != CHECK_DKIM)
		abort();
	for (i = 0; i < n; i++)
		free(rrs[i].data);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_parse(data, size);
	fuzz_evaluate(data, size);
	return 0;
}
