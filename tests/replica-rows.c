/*
 * replica-rows.c - PostgreSQL rows of registry entries and states, for
 * the replica's tests and benchmark.
 *
 * SYNOPSIS
 *	replica-rows reg DOMAIN
 *	replica-rows state DOMAIN READINESS NEXT [ORG [ADKIM ASPF]]
 *	replica-rows copy PREFIX COUNT VERSION
 *	replica-rows copy-state PREFIX COUNT VERSION
 *
 * DESCRIPTION
 *	The replica reads entries that writers encoded with storecodec.c
 *	(the schema contract: authready_registry.entry is
 *	storecodec_reg_encode(), authready_state.entry
 *	storecodec_state_encode()).  A shell test cannot encode them; this
 *	program does.
 *
 *	reg prints the hex of a registry entry of DOMAIN (MAIL FROM label
 *	"mail", selector 1234rpr, added now), for decode(HEX, 'hex').
 *
 *	state prints the hex of a state of DOMAIN in READINESS (pending,
 *	verified, degraded, failed), checked now, next check NEXT seconds
 *	from now, with ORG as the organizational domain the DMARC tree
 *	walk found and ADKIM and ASPF (r or s) as the DMARC record's
 *	alignment modes (a version-4 state).
 *
 *	copy prints COUNT lines of COPY text for authready_registry
 *	(domain, entry, version, deleted): PREFIX0.example ... with
 *	VERSION on every row.  copy-state prints the lines for
 *	authready_state (domain, entry, readiness, version, deleted) of
 *	the same domains, verified, next check in a day.
 *
 * DIAGNOSTICS
 *	Exit status 0, or 64 with a usage line, or 65 when an entry cannot
 *	be encoded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain.h"
#include "storecodec.h"

/* rows_reg - a registry entry of domain like `domain add` makes. */
static void
rows_reg(struct domain_reg *reg, const char *domain)
{
	memset(reg, 0, sizeof(*reg));
	snprintf(reg->domain, sizeof(reg->domain), "%s", domain);
	snprintf(reg->mail_from, sizeof(reg->mail_from), "mail");
	snprintf(reg->selectors[0].name, sizeof(reg->selectors[0].name),
	         "1234rpr");
	reg->nselectors = 1;
	reg->dmarc_min_policy = -1;
	reg->added = (int64_t)time(NULL);
}

/* rows_hex - print len bytes as hex, then end. */
static void
rows_hex(const unsigned char *buf, size_t len, const char *end)
{
	for (size_t i = 0; i < len; i++)
		printf("%02x", buf[i]);
	fputs(end, stdout);
}

/* rows_readiness - the number of a readiness name; -1 unknown. */
static int
rows_readiness(const char *name)
{
	static const char *const names[] = {"unknown", "pending", "verified",
	                                    "degraded", "failed"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

int
main(int argc, char **argv)
{
	static struct domain_state st;
	static struct domain_reg reg;
	unsigned char buf[STORECODEC_MAX];
	char err[256], name[DOMAIN_BUF];
	size_t len;
	int64_t now = (int64_t)time(NULL);

	if (argc == 3 && strcmp(argv[1], "reg") == 0) {
		rows_reg(&reg, argv[2]);
		if (storecodec_reg_encode(&reg, buf, sizeof(buf), &len, err,
		                          sizeof(err)) != 0)
			goto bad;
		rows_hex(buf, len, "\n");
		return 0;
	}
	if ((argc == 5 || argc == 6 || argc == 8) &&
	    strcmp(argv[1], "state") == 0 && rows_readiness(argv[3]) > 0) {
		snprintf(st.domain, sizeof(st.domain), "%s", argv[2]);
		if (argc >= 6)
			snprintf(st.org, sizeof(st.org), "%s", argv[5]);
		if (argc == 8) {
			st.adkim = argv[6][0];
			st.aspf = argv[7][0];
		}
		st.state = rows_readiness(argv[3]);
		st.since = st.first_seen = st.last_check = now;
		st.last_success = st.state == READINESS_VERIFIED ? now : 0;
		st.next_check = now + atoll(argv[4]);
		if (storecodec_state_encode(&st, buf, sizeof(buf), &len, err,
		                            sizeof(err)) != 0)
			goto bad;
		rows_hex(buf, len, "\n");
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "copy") == 0) {
		long n = atol(argv[3]);

		for (long i = 0; i < n; i++) {
			snprintf(name, sizeof(name), "%s%ld.example", argv[2],
			         i);
			rows_reg(&reg, name);
			if (storecodec_reg_encode(&reg, buf, sizeof(buf), &len,
			                          err, sizeof(err)) != 0)
				goto bad;
			printf("%s\t\\\\x", name);
			rows_hex(buf, len, "\t");
			printf("%s\tf\n", argv[4]);
		}
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "copy-state") == 0) {
		long n = atol(argv[3]);

		for (long i = 0; i < n; i++) {
			memset(&st, 0, sizeof(st));
			snprintf(st.domain, sizeof(st.domain), "%s%ld.example",
			         argv[2], i);
			st.state = READINESS_VERIFIED;
			st.since = st.first_seen = st.last_check = now;
			st.last_success = now;
			st.next_check = now + 86400;
			if (storecodec_state_encode(&st, buf, sizeof(buf), &len,
			                            err, sizeof(err)) != 0)
				goto bad;
			printf("%s\t\\\\x", st.domain);
			rows_hex(buf, len, "\t");
			printf("verified\t%s\tf\n", argv[4]);
		}
		return 0;
	}
	fputs("usage: replica-rows reg DOMAIN | state DOMAIN READINESS NEXT "
	      "[ORG [ADKIM ASPF]] | "
	      "copy[-state] PREFIX COUNT VERSION\n",
	      stderr);
	return 64;
bad:
	fprintf(stderr, "replica-rows: %s\n", err);
	return 65;
}
