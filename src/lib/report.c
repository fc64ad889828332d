/*
 * report.c - readiness results: names, verdict, and the two outputs.
 *
 * SYNOPSIS
 *	void check_result_set(res, status, fmt, ...);
 *	void check_result_seen(res, text, len);
 *	enum report_verdict report_verdict(rep);
 *	int report_exit_code(rep);
 *	void report_print_text(out, rep, color);
 *	void report_print_json(out, rep);
 *
 * DESCRIPTION
 *	The verdict: any fail or missing makes a domain not ready; otherwise
 *	a temperror leaves it undecided; otherwise it is ready.  A domain
 *	with no results at all is not ready.
 */
#include "report.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "sanitize.h"

static const char *const check_type_names[] = {
    [CHECK_SPF] = "spf",
    [CHECK_DKIM] = "dkim",
    [CHECK_DMARC] = "dmarc",
    [CHECK_MX] = "mx",
};

static const char *const check_status_names[] = {
    [CHECK_PASS] = "pass",
    [CHECK_FAIL] = "fail",
    [CHECK_MISSING] = "missing",
    [CHECK_TEMPERROR] = "temperror",
};

const char *
check_type_name(enum check_type type)
{
	if ((size_t)type >=
	    sizeof(check_type_names) / sizeof(*check_type_names))
		return "unknown";
	return check_type_names[type];
}

const char *
check_status_name(enum check_status status)
{
	if ((size_t)status >=
	    sizeof(check_status_names) / sizeof(*check_status_names))
		return "unknown";
	return check_status_names[status];
}

void
check_result_set(struct check_result *res, enum check_status status,
                 const char *fmt, ...)
{
	va_list ap;

	res->status = status;
	va_start(ap, fmt);
	vsnprintf(res->detail, sizeof(res->detail), fmt, ap);
	va_end(ap);
}

void
check_result_seen(struct check_result *res, const unsigned char *text,
                  size_t len)
{
	sanitize_text(res->seen, sizeof(res->seen), text, len);
}

enum report_verdict
report_verdict(const struct report *rep)
{
	size_t i;
	int temp = 0;

	if (rep->nchecks == 0)
		return VERDICT_NOT_READY;
	for (i = 0; i < rep->nchecks; i++) {
		switch (rep->checks[i].status) {
		case CHECK_FAIL:
		case CHECK_MISSING:
			return VERDICT_NOT_READY;
		case CHECK_TEMPERROR:
			temp = 1;
			break;
		case CHECK_PASS:
			break;
		}
	}
	return temp ? VERDICT_UNDECIDED : VERDICT_READY;
}

int
report_exit_code(const struct report *rep)
{
	switch (report_verdict(rep)) {
	case VERDICT_READY:
		return 0;
	case VERDICT_NOT_READY:
		return 1;
	case VERDICT_UNDECIDED:
		break;
	}
	return 2;
}

/* Human output ---------------------------------------------------------- */

#define REPORT_COL_NAME 48
#define REPORT_COL_TYPE 6
#define REPORT_COL_EXPECTED 32
#define REPORT_COL_SEEN 40

#define ANSI_RESET "\033[0m"

static const char *const check_status_colors[] = {
    [CHECK_PASS] = "\033[32m",
    [CHECK_FAIL] = "\033[31m",
    [CHECK_MISSING] = "\033[31m",
    [CHECK_TEMPERROR] = "\033[33m",
};

/* report_cell - text cut to width, "..." marking the cut. */
static void
report_cell(char *out, size_t outlen, const char *text, size_t width)
{
	size_t len = strlen(text);

	if (width + 1 > outlen)
		width = outlen - 1;
	if (len <= width) {
		memcpy(out, text, len + 1);
		return;
	}
	memcpy(out, text, width - 3);
	memcpy(out + width - 3, "...", 4);
}

static void
report_upper(char *out, size_t outlen, const char *text)
{
	size_t i;

	for (i = 0; i + 1 < outlen && text[i] != '\0'; i++)
		out[i] =
		    (text[i] >= 'a' && text[i] <= 'z') ? text[i] - 32 : text[i];
	out[i] = '\0';
}

const char *
report_verdict_name(enum report_verdict verdict)
{
	switch (verdict) {
	case VERDICT_READY:
		return "ready";
	case VERDICT_NOT_READY:
		return "not-ready";
	case VERDICT_UNDECIDED:
		break;
	}
	return "undecided";
}

static const char *
report_verdict_words(enum report_verdict verdict)
{
	switch (verdict) {
	case VERDICT_READY:
		return "ready: every record is published correctly";
	case VERDICT_NOT_READY:
		return "NOT ready: fix the records marked above";
	case VERDICT_UNDECIDED:
		break;
	}
	return "undecided: DNS trouble hid a record; try again later";
}

/* report_width - the widest cell of a column, between min and max. */
static int
report_width(const struct report *rep, size_t offset, size_t min, size_t max)
{
	size_t i, w = min;

	for (i = 0; i < rep->nchecks; i++) {
		const char *cell = (const char *)&rep->checks[i] + offset;
		size_t len = strlen(cell);

		if (len > w)
			w = len;
	}
	return (int)(w < max ? w : max);
}

void
report_print_text(FILE *out, const struct report *rep, bool color)
{
	char name[REPORT_COL_NAME + 1], expected[REPORT_COL_EXPECTED + 1];
	char seen[REPORT_COL_SEEN + 1], type[8];
	int wname, wexp, wseen;
	size_t i, npass = 0;

	wname = report_width(rep, offsetof(struct check_result, name), 4,
	                     REPORT_COL_NAME);
	wexp = report_width(rep, offsetof(struct check_result, expected), 8,
	                    REPORT_COL_EXPECTED);
	wseen = report_width(rep, offsetof(struct check_result, seen), 4,
	                     REPORT_COL_SEEN);
	fprintf(out, "%-*s %-*s %-*s %-*s %s\n", wname, "NAME", REPORT_COL_TYPE,
	        "TYPE", wexp, "EXPECTED", wseen, "SEEN", "STATUS");
	for (i = 0; i < rep->nchecks; i++) {
		const struct check_result *c = &rep->checks[i];

		report_cell(name, sizeof(name), c->name, (size_t)wname);
		report_cell(expected, sizeof(expected), c->expected,
		            (size_t)wexp);
		report_cell(seen, sizeof(seen), c->seen[0] ? c->seen : "-",
		            (size_t)wseen);
		report_upper(type, sizeof(type), check_type_name(c->type));
		fprintf(out, "%-*s %-*s %-*s %-*s %s%s%s\n", wname, name,
		        REPORT_COL_TYPE, type, wexp, expected, wseen, seen,
		        color ? check_status_colors[c->status] : "",
		        check_status_name(c->status), color ? ANSI_RESET : "");
		if (c->status == CHECK_PASS)
			npass++;
	}
	fputc('\n', out);
	for (i = 0; i < rep->nchecks; i++) {
		const struct check_result *c = &rep->checks[i];

		fprintf(out, "  %-5s %s: %s\n", check_type_name(c->type),
		        check_status_name(c->status), c->detail);
		if (c->warning[0] != '\0')
			fprintf(out, "  %-5s warning: %s\n",
			        check_type_name(c->type), c->warning);
	}
	if (rep->org[0] != '\0')
		fprintf(out,
		        "\norganizational domain (RFC 9989 tree walk): %s\n",
		        rep->org);
	fprintf(out, "\n%s: %s (%zu of %zu checks pass)\n", rep->domain,
	        report_verdict_words(report_verdict(rep)), npass, rep->nchecks);
}

/* JSON output ------------------------------------------------------------ */

void
report_print_json(FILE *out, const struct report *rep)
{
	size_t i;

	fputs("{", out);
	json_field(out, "domain", rep->domain, false);
	fprintf(out, "\"ready\": %s, ",
	        report_verdict(rep) == VERDICT_READY ? "true" : "false");
	json_field(out, "verdict", report_verdict_name(report_verdict(rep)),
	           false);
	json_field(out, "organizational_domain", rep->org, false);
	fputs("\"checks\": [", out);
	for (i = 0; i < rep->nchecks; i++) {
		const struct check_result *c = &rep->checks[i];

		fputs(i ? ", {" : "{", out);
		json_field(out, "type", check_type_name(c->type), false);
		json_field(out, "name", c->name, false);
		json_field(out, "status", check_status_name(c->status), false);
		json_field(out, "expected", c->expected, false);
		json_field(out, "seen", c->seen, false);
		json_field(out, "detail", c->detail, false);
		json_field(out, "warning", c->warning, true);
		fputs("}", out);
	}
	fputs("]}\n", out);
}
