/*
 * NAME
 *	fuzz_revpath - libFuzzer target for the reverse-path parser
 * SYNOPSIS
 *	clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *	    -Isrc/lib fuzz/fuzz_revpath.c src/lib/revpath.c \
 *	    src/lib/domainname.c src/lib/sanitize.c -lidn2 -lpsl -lpthread -o fuzz_revpath
 *	./fuzz_revpath -max_len=4096 -runs=1000000
 * DESCRIPTION
 *	Hands the input to revpath_parse() in a buffer of exactly its
 *	size (libFuzzer's own), so that a read past the end is caught.
 *	Aborts when a result breaks the contract: an unknown code, an
 *	error without a message, a success with a message, a domain that
 *	does not normalize to itself, a literal without its brackets, a
 *	local part that is empty or too long, flags that disagree with
 *	the lengths (a cut local part without a long path, a long path in
 *	a short input), or a result that does not parse again to the same
 *	thing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domainname.h"
#include "revpath.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check_reparse - "<local@domain>" must give the same result again. */
static void
check_reparse(const struct revpath *rp, int rc)
{
	char path[REVPATH_PATH_MAX * 2], err[REVPATH_ERR_MAX];
	struct revpath again;
	int n;

	n = snprintf(path, sizeof(path), "<%s@%s>", rp->local, rp->domain);
	if (n < 0 || n > REVPATH_PATH_MAX || rp->local_cut)
		return;
	if (revpath_parse(path, (size_t)n, &again, err, sizeof(err)) != rc ||
	    strcmp(again.local, rp->local) != 0 ||
	    strcmp(again.domain, rp->domain) != 0)
		abort();
}

/* check_domain - a normalized domain normalizes to itself. */
static void
check_domain(const char *domain)
{
	char out[DOMAIN_BUF], err[REVPATH_ERR_MAX];

	if (domain_normalize(domain, strlen(domain), out, sizeof(out), err,
	                     sizeof(err)) != 0 ||
	    strcmp(out, domain) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[REVPATH_ERR_MAX];
	struct revpath rp;
	size_t n;
	int rc;

	rc = revpath_parse((const char *)data, size, &rp, err, sizeof(err));
	if (memchr(err, '\0', sizeof(err)) == NULL)
		abort();
	switch (rc) {
	case REVPATH_SYNTAX:
	case REVPATH_TOO_LONG:
		if (err[0] == '\0' || rp.domain[0] != '\0' ||
		    rp.local[0] != '\0')
			abort();
		return 0;
	case REVPATH_NULL:
		if (!rp.null || err[0] != '\0' ||
		    (rp.long_path && size + 2 <= REVPATH_PATH_MAX))
			abort();
		return 0;
	case REVPATH_OK:
		check_domain(rp.domain);
		break;
	case REVPATH_LITERAL:
		n = strlen(rp.domain);
		if (!rp.literal || n < 3 || rp.domain[0] != '[' ||
		    rp.domain[n - 1] != ']')
			abort();
		break;
	default:
		abort();
	}
	n = strlen(rp.local);
	if (err[0] != '\0' || n == 0 || n >= REVPATH_LOCAL_BUF ||
	    rp.long_local != (n > REVPATH_LOCAL_MAX) ||
	    (rp.local_cut && (!rp.long_path || n + 4 < REVPATH_LOCAL_BUF)) ||
	    (rp.long_path && size + 2 <= REVPATH_PATH_MAX) ||
	    (!rp.long_path && size > REVPATH_PATH_MAX) ||
	    size > REVPATH_INPUT_MAX)
		abort();
	check_reparse(&rp, rc);
	return 0;
}
