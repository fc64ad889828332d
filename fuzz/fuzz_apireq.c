/*
 * NAME
 *	fuzz_apireq - libFuzzer target for authready-api's request parsing
 * SYNOPSIS
 *	make fuzz-run (fuzz/Makefile.fuzz builds it)
 * DESCRIPTION
 *	The input is lines: byte 0 picks the method (GET, POST, DELETE,
 *	PUT, or the rest of the first line), then the path up to the first
 *	newline, the state, limit and after query values on the next three
 *	lines (an empty line: absent), and the rest is a POST /v1/domains
 *	body.  Each part is handed over in a heap block of exactly its
 *	size.  Aborts when a result breaks the contract: a route without a
 *	kind it may have, a {domain} route whose domain is not normalized
 *	(lowercase, at most 253 octets, no trailing dot), a 405 without its
 *	Allow, a refusal without a reason, a list limit out of 1..1000, an
 *	accepted body whose entry regimport_validate() refuses, or a
 *	problem body that is not JSON with printable ASCII.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "apiproblem.h"
#include "apiroute.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const methods[] = {"GET", "POST", "DELETE", "PUT"};
static const struct regimport_defaults defs = {"mail", "sel"};

/* copy - a heap block of exactly len octets (NUL-terminated copy when
 * cstr: the query values are C strings in the daemon). */
static char *
copy(const uint8_t *p, size_t len, int cstr)
{
	char *b = malloc(len + (cstr ? 1 : 0) + (len == 0 && !cstr));

	if (b == NULL)
		abort();
	memcpy(b, p, len);
	if (cstr)
		b[len] = '\0';
	return b;
}

/* next_line - the line at *p (without its newline), *p moved past it. */
static size_t
next_line(const uint8_t **p, const uint8_t *end, const uint8_t **line)
{
	const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);

	*line = *p;
	*p = nl ? nl + 1 : end;
	return n;
}

/* check_problem - the problem body of kind is JSON of printable ASCII. */
static void
check_problem(int kind, const char *why)
{
	char *b = apiproblem_body((enum apiproblem_kind)kind, why, "/x");
	json_t *v;

	if (b == NULL)
		abort();
	for (const char *c = b; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
			abort();
	if ((v = json_loads(b, 0, NULL)) == NULL)
		abort();
	json_decref(v);
	free(b);
}

/* check_route - the contract of apiroute_match. */
static void
check_route(const char *method, const uint8_t *path, size_t len)
{
	struct apiroute_match m;
	char why[APIROUTE_WHY_MAX] = "", *p = copy(path, len, 0);
	int rc = apiroute_match(method, p, len, &m, why, sizeof(why));

	free(p);
	if (rc == 0) {
		if (m.id == APIROUTE_NONE)
			abort();
		if (m.domain[0] != '\0') {
			size_t n = strnlen(m.domain, sizeof(m.domain));

			if (n == sizeof(m.domain) || n > 253 ||
			    m.domain[n - 1] == '.')
				abort();
			for (size_t i = 0; i < n; i++)
				if (m.domain[i] >= 'A' && m.domain[i] <= 'Z')
					abort();
		}
		return;
	}
	if (rc != APIPROBLEM_NOT_FOUND && rc != APIPROBLEM_METHOD &&
	    rc != APIPROBLEM_INVALID_DOMAIN)
		abort();
	if (rc == APIPROBLEM_METHOD && m.allow == NULL)
		abort();
	if (why[0] == '\0')
		abort();
	check_problem(rc, why);
}

/* check_query - the contract of apiroute_list_query. */
static void
check_query(const uint8_t *v[3], const size_t n[3])
{
	struct apiroute_list q;
	char why[APIROUTE_WHY_MAX] = "", *s[3];
	int rc;

	for (int i = 0; i < 3; i++)
		s[i] = n[i] ? copy(v[i], n[i], 1) : NULL;
	rc = apiroute_list_query(s[0], s[1], s[2], &q, why, sizeof(why));
	for (int i = 0; i < 3; i++)
		free(s[i]);
	if (rc == 0) {
		if (q.limit < 1 || q.limit > APIROUTE_LIMIT_MAX ||
		    q.state < -1 || q.state > 4)
			abort();
		return;
	}
	if (rc != APIPROBLEM_INVALID_QUERY || why[0] == '\0')
		abort();
	check_problem(rc, why);
}

/* check_body - the contract of apiroute_reg_json. */
static void
check_body(const uint8_t *body, size_t len)
{
	static struct domain_reg reg;
	char why[APIROUTE_WHY_MAX] = "", again[REGIMPORT_ERR_MAX];
	char *b = copy(body, len, 0);
	int rc = apiroute_reg_json(b, len, 1, &defs, &reg, why, sizeof(why));

	free(b);
	if (rc == 0) {
		if (reg.domain[0] == '\0' ||
		    regimport_validate(&reg, &defs, again, sizeof(again)) != 0)
			abort();
		return;
	}
	if (rc != APIPROBLEM_BAD_JSON && rc != APIPROBLEM_UNKNOWN_FIELD &&
	    rc != APIPROBLEM_INVALID_FIELD && rc != APIPROBLEM_INVALID_DOMAIN)
		abort();
	if (why[0] == '\0')
		abort();
	check_problem(rc, why);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size, *line, *q[3];
	size_t n, qn[3];
	char method[16];

	if (size == 0)
		return 0;
	p++;
	n = next_line(&p, end, &line);
	if (data[0] < 4) {
		snprintf(method, sizeof(method), "%s", methods[data[0]]);
	} else {
		/* byte 0 and what follows up to the first space */
		size_t k = 0;

		method[k++] = (char)data[0];
		while (k < sizeof(method) - 1 && k - 1 < n &&
		       line[k - 1] != ' ')
			method[k] = (char)line[k - 1], k++;
		method[k] = '\0';
	}
	check_route(method, line, n);
	for (int i = 0; i < 3; i++)
		qn[i] = next_line(&p, end, &q[i]);
	check_query(q, qn);
	check_body(p, (size_t)(end - p));
	return 0;
}
