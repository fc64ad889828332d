/*
 * NAME
 *	fuzz_fromhdr - libFuzzer target for the From header field parser
 * SYNOPSIS
 *	clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *	    -Isrc/lib fuzz/fuzz_fromhdr.c src/lib/fromhdr.c \
 *	    src/lib/domainname.c src/lib/errbuf.c src/lib/text.c \
 *	    src/lib/sanitize.c -lidn2 -lpsl -lpthread -o fuzz_fromhdr
 *	./fuzz_fromhdr -max_len=20000 -runs=1000000
 * DESCRIPTION
 *	Hands the input to fromhdr_parse() in a buffer of exactly its
 *	size (libFuzzer's own), so that a read past the end is caught.
 *	Aborts when a result breaks the contract: an unknown code, an
 *	error without a message or a success with one, a mailbox left
 *	behind by an error, a count that disagrees with the domains kept,
 *	a domain that does not normalize to itself, a literal without its
 *	brackets, a local part without its NUL, an input over the limit
 *	that parsed, or a first mailbox that does not parse again to the
 *	same domain as "<local@domain>".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domainname.h"
#include "fromhdr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check_domain - a normalized domain normalizes to itself. */
static void
check_domain(const struct fromhdr_box *box)
{
	char out[DOMAIN_BUF], err[FROMHDR_ERR_MAX];
	size_t n = strlen(box->domain);

	if (box->literal) {
		if (n < 2 || box->domain[0] != '[' || box->domain[n - 1] != ']')
			abort();
		return;
	}
	if (domain_normalize(box->domain, n, out, sizeof(out), err,
	                     sizeof(err)) != 0 ||
	    strcmp(out, box->domain) != 0)
		abort();
}

/* check_reparse - "<local@domain>" gives the first domain again. */
static void
check_reparse(const struct fromhdr *fh)
{
	char text[FROMHDR_LOCAL_BUF + DOMAIN_BUF + 4], err[FROMHDR_ERR_MAX];
	struct fromhdr again;
	int n;

	if (fh->local_cut)
		return;
	n = snprintf(text, sizeof(text), "<%s@%s>", fh->local,
	             fh->box[0].domain);
	if (n < 0 || (size_t)n >= sizeof(text))
		return;
	if (fromhdr_parse(text, (size_t)n, &again, err, sizeof(err)) !=
	        FROMHDR_OK ||
	    again.count != 1 ||
	    strcmp(again.box[0].domain, fh->box[0].domain) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[FROMHDR_ERR_MAX];
	struct fromhdr fh;
	int rc;

	rc = fromhdr_parse((const char *)data, size, &fh, err, sizeof(err));
	if (memchr(err, '\0', sizeof(err)) == NULL ||
	    memchr(fh.local, '\0', sizeof(fh.local)) == NULL)
		abort();
	switch (rc) {
	case FROMHDR_EMPTY:
	case FROMHDR_SYNTAX:
	case FROMHDR_TOO_LONG:
		if (err[0] == '\0' || fh.count != 0 || fh.kept != 0 ||
		    fh.local[0] != '\0')
			abort();
		return 0;
	case FROMHDR_OK:
		break;
	default:
		abort();
	}
	if (err[0] != '\0' || fh.count == 0 || size > FROMHDR_INPUT_MAX ||
	    fh.kept != (fh.count < FROMHDR_KEEP ? fh.count : FROMHDR_KEEP))
		abort();
	for (unsigned i = 0; i < fh.kept; i++)
		check_domain(&fh.box[i]);
	check_reparse(&fh);
	return 0;
}
