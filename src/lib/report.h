/*
 * report.h - results of readiness checks, and how they are shown.
 *
 * SYNOPSIS
 *	#include "report.h"
 *
 *	The functions: see report.c.
 *
 * DESCRIPTION
 *	A check_result says, for one DNS record an operator asked a domain owner
 *	to publish, what was queried, what was seen and what to fix.  A report
 *	collects the results for one domain and yields the verdict.  Printing
 *	(a table for people, one JSON object for scripts) lives in report.c.
 *
 *	Every text field is bounded and already sanitized (printable ASCII only)
 *	by the code that fills it; see sanitize.h.
 */
#ifndef AUTHREADY_REPORT_H
#define AUTHREADY_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define REPORT_NAME_MAX 1024 /* DNS name in presentation form, NUL */
#define REPORT_EXPECTED_MAX 512
#define REPORT_SEEN_MAX 1024
#define REPORT_DETAIL_MAX 512
#define REPORT_CHECKS_MAX 16

enum check_type {
	CHECK_SPF,
	CHECK_DKIM,
	CHECK_DMARC,
	CHECK_MX,
};

enum check_status {
	CHECK_PASS,      /* record present and right */
	CHECK_FAIL,      /* record present but wrong */
	CHECK_MISSING,   /* NXDOMAIN, or no such record */
	CHECK_TEMPERROR, /* DNS trouble: timeout, SERVFAIL, ... */
};

enum report_verdict {
	VERDICT_READY,
	VERDICT_NOT_READY,
	VERDICT_UNDECIDED, /* nothing failed, but DNS trouble hid a record */
};

struct check_result {
	enum check_type type;
	enum check_status status;
	char name[REPORT_NAME_MAX];         /* DNS name queried */
	char expected[REPORT_EXPECTED_MAX]; /* what should be published */
	char seen[REPORT_SEEN_MAX];         /* what was published */
	char detail[REPORT_DETAIL_MAX];     /* one sentence for the owner */
	char warning[REPORT_DETAIL_MAX];    /* "" or what to fix, not failed */
};

struct report {
	char domain[REPORT_NAME_MAX];
	char org[REPORT_NAME_MAX]; /* organizational domain (RFC 9989), or "" */
	char adkim, aspf; /* the DMARC record's modes ('r', 's'); 0 none read */
	size_t nchecks;
	struct check_result checks[REPORT_CHECKS_MAX];
};

const char *check_type_name(enum check_type type);
const char *check_status_name(enum check_status status);

/* check_result_set - fill status and detail (printf-style detail). */
void check_result_set(struct check_result *res, enum check_status status,
                      const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* check_result_seen - store untrusted record text, sanitized and capped. */
void check_result_seen(struct check_result *res, const unsigned char *text,
                       size_t len);

enum report_verdict report_verdict(const struct report *rep);
const char *report_verdict_name(enum report_verdict verdict);

/* report_exit_code - 0 ready, 1 not ready, 2 undecided. */
int report_exit_code(const struct report *rep);

void report_print_text(FILE *out, const struct report *rep, bool color);
void report_print_json(FILE *out, const struct report *rep);

#endif
