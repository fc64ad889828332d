/*
 * test_api.c - authready-api's pure pieces: routes, list queries, the
 *	JSON body of POST /v1/domains, problems, tokens and the throttle.
 *
 * SYNOPSIS
 *	make check TESTS=tests/test_api
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiproblem.h"
#include "apiroute.h"
#include "apitoken.h"

static const struct regimport_defaults defs = {"mail", "sel"};

/* route - match a C string path; the return, m filled. */
static int
route(const char *method, const char *path, struct apiroute_match *m)
{
	char why[APIROUTE_WHY_MAX];

	return apiroute_match(method, path, strlen(path), m, why, sizeof(why));
}

START_TEST(test_routes)
{
	static const struct {
		const char *method, *path;
		enum apiroute_id id;
		bool write;
	} ok[] = {
	    {"GET", "/v1/domains", APIROUTE_LIST, false},
	    {"POST", "/v1/domains", APIROUTE_ADD, true},
	    {"POST", "/v1/domains:import", APIROUTE_IMPORT, true},
	    {"GET", "/v1/domains/Example.COM.", APIROUTE_GET, false},
	    {"DELETE", "/v1/domains/example.com", APIROUTE_DELETE, true},
	    {"GET", "/v1/domains/example.com/records", APIROUTE_RECORDS, false},
	    {"POST", "/v1/domains/example.com/refresh", APIROUTE_REFRESH, true},
	    {"GET", "/v1/domains/example.com/held", APIROUTE_HELD, false},
	    {"POST", "/v1/domains/example.com/release", APIROUTE_RELEASE, true},
	};
	struct apiroute_match m;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
		ck_assert_int_eq(route(ok[i].method, ok[i].path, &m), 0);
		ck_assert_int_eq(m.id, ok[i].id);
		ck_assert_int_eq(m.write, ok[i].write);
	}
	ck_assert_int_eq(route("GET", "/v1/domains/Example.COM.", &m), 0);
	ck_assert_str_eq(m.domain, "example.com");
}
END_TEST

START_TEST(test_routes_refused)
{
	static const char *const none[] = {
	    "/",
	    "/v1",
	    "/v1/",
	    "/v1/domains/",
	    "/v1/domainsx",
	    "/v1/domains/example.com/",
	    "/v1/domains/example.com/records/",
	    "/v1/domains/example.com/x",
	    "/v1/domains//records",
	    "/v2/domains",
	    "/v1/domains:export",
	};
	struct apiroute_match m;
	size_t i;
	char longpath[APIROUTE_PATH_MAX + 20];

	for (i = 0; i < sizeof(none) / sizeof(*none); i++)
		ck_assert_msg(
		    route("GET", none[i], &m) == APIPROBLEM_NOT_FOUND ||
		        route("GET", none[i], &m) == APIPROBLEM_INVALID_DOMAIN,
		    "%s", none[i]);
	ck_assert_int_eq(route("PUT", "/v1/domains", &m), APIPROBLEM_METHOD);
	ck_assert_str_eq(m.allow, "GET, POST");
	ck_assert_int_eq(route("POST", "/v1/domains/a.example", &m),
	                 APIPROBLEM_METHOD);
	ck_assert_str_eq(m.allow, "GET, DELETE");
	ck_assert_int_eq(route("get", "/v1/domains", &m), APIPROBLEM_METHOD);
	ck_assert_int_eq(route("GET", "/v1/domains/a..example", &m),
	                 APIPROBLEM_INVALID_DOMAIN);
	ck_assert_int_eq(route("GET", "/v1/domains/a example", &m),
	                 APIPROBLEM_INVALID_DOMAIN);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	memcpy(longpath, "/v1/domains/", 12);
	ck_assert_int_eq(route("GET", longpath, &m), APIPROBLEM_NOT_FOUND);
	longpath[12 + 300] = '\0';
	ck_assert_int_eq(route("GET", longpath, &m), APIPROBLEM_INVALID_DOMAIN);
	/* A NUL inside the path is a byte like any other: refused. */
	ck_assert_int_ne(apiroute_match("GET", "/v1/domains/a\0b", 14, &m,
	                                longpath, sizeof(longpath)),
	                 0);
}
END_TEST

START_TEST(test_list_query)
{
	struct apiroute_list q;
	char why[APIROUTE_WHY_MAX];

	ck_assert_int_eq(
	    apiroute_list_query(NULL, NULL, NULL, &q, why, sizeof(why)), 0);
	ck_assert_int_eq(q.state, -1);
	ck_assert_uint_eq(q.limit, APIROUTE_LIMIT_DEFAULT);
	ck_assert_int_eq(apiroute_list_query("verified", "1000", "B.example",
	                                     &q, why, sizeof(why)),
	                 0);
	ck_assert_int_eq(q.state, 2);
	ck_assert_uint_eq(q.limit, 1000);
	ck_assert_str_eq(q.after, "b.example");
	ck_assert_int_ne(
	    apiroute_list_query("happy", NULL, NULL, &q, why, sizeof(why)), 0);
	ck_assert_int_ne(
	    apiroute_list_query(NULL, "0", NULL, &q, why, sizeof(why)), 0);
	ck_assert_int_ne(
	    apiroute_list_query(NULL, "1001", NULL, &q, why, sizeof(why)), 0);
	ck_assert_int_ne(
	    apiroute_list_query(NULL, "-1", NULL, &q, why, sizeof(why)), 0);
	ck_assert_int_ne(
	    apiroute_list_query(NULL, "10x", NULL, &q, why, sizeof(why)), 0);
	ck_assert_int_ne(
	    apiroute_list_query(NULL, NULL, "a..b", &q, why, sizeof(why)), 0);
}
END_TEST

/* body - apiroute_reg_json on a C string. */
static int
body(const char *json, struct domain_reg *reg, char *why, size_t whylen)
{
	return apiroute_reg_json(json, strlen(json), 1000, &defs, reg, why,
	                         whylen);
}

START_TEST(test_body)
{
	struct domain_reg reg;
	char why[APIROUTE_WHY_MAX];

	ck_assert_int_eq(
	    body("{\"domain\": \"Shop.Example.\", \"mail_from\": \"bounce\", "
	         "\"selectors\": [\"s1\", {\"name\": \"s2\", \"key_file\": "
	         "\"/etc/k.pem\"}], \"mx\": \"fb.example.net\", "
	         "\"spf_include\": \"spf.example.net\", \"egress_ips\": "
	         "[\"192.0.2.1\", \"2001:db8::/64\"], \"dmarc_min_policy\": "
	         "\"reject\", \"contact\": \"ops@shop.example\"}",
	         &reg, why, sizeof(why)),
	    0);
	ck_assert_str_eq(reg.domain, "shop.example");
	ck_assert_str_eq(reg.mail_from, "bounce");
	ck_assert_uint_eq(reg.nselectors, 2);
	ck_assert_str_eq(reg.selectors[1].key_path, "/etc/k.pem");
	ck_assert_uint_eq(reg.negress, 2);
	ck_assert_int_eq(reg.dmarc_min_policy, 2);
	ck_assert_str_eq(reg.contact, "ops@shop.example");
	ck_assert_int_eq(reg.added, 1000);
}
END_TEST

START_TEST(test_body_refused)
{
	static const struct {
		const char *json;
		int kind;
	} bad[] = {
	    {"", APIPROBLEM_BAD_JSON},
	    {"{", APIPROBLEM_BAD_JSON},
	    {"[]", APIPROBLEM_BAD_JSON},
	    {"\"x\"", APIPROBLEM_BAD_JSON},
	    {"{\"domain\": \"a.example\"} x", APIPROBLEM_BAD_JSON},
	    {"{\"domain\": \"a.example\", \"domain\": \"b.example\"}",
	     APIPROBLEM_BAD_JSON},
	    {"{\"domain\": \"a\\u0000b.example\"}", APIPROBLEM_BAD_JSON},
	    {"{\"domain\": \"a.example\", \"owner\": 1}",
	     APIPROBLEM_UNKNOWN_FIELD},
	    {"{\"domain\": \"a.example\", \"added\": 1}",
	     APIPROBLEM_UNKNOWN_FIELD},
	    {"{\"domain\": \"a.example\", \"selectors\": [{\"name\": \"s\", "
	     "\"x\": 1}]}",
	     APIPROBLEM_UNKNOWN_FIELD},
	    {"{}", APIPROBLEM_INVALID_DOMAIN},
	    {"{\"domain\": 1}", APIPROBLEM_INVALID_FIELD},
	    {"{\"domain\": \"\"}", APIPROBLEM_INVALID_DOMAIN},
	    {"{\"domain\": \"a..example\"}", APIPROBLEM_INVALID_DOMAIN},
	    {"{\"domain\": \"a.example\", \"selectors\": \"s1\"}",
	     APIPROBLEM_INVALID_FIELD},
	    {"{\"domain\": \"a.example\", \"selectors\": [1]}",
	     APIPROBLEM_INVALID_FIELD},
	    {"{\"domain\": \"a.example\", \"selectors\": [\"s1\", \"s1\"]}",
	     APIPROBLEM_INVALID_FIELD},
	    {"{\"domain\": \"a.example\", \"selectors\": [{\"name\": \"s\", "
	     "\"key_file\": \"relative.pem\"}]}",
	     APIPROBLEM_INVALID_FIELD},
	    {"{\"domain\": \"a.example\", \"egress_ips\": [\"999.1.1.1\"]}",
	     APIPROBLEM_INVALID_FIELD},
	    {"{\"domain\": \"a.example\", \"dmarc_min_policy\": \"maybe\"}",
	     APIPROBLEM_INVALID_FIELD},
	    {"{\"domain\": \"a.example\", \"contact\": \"not an address\"}",
	     APIPROBLEM_INVALID_FIELD},
	    {"{\"domain\": \"a.example\", \"mx\": \"\"}",
	     APIPROBLEM_INVALID_FIELD},
	    {"{\"domain\": \"a.example\", \"mail_from\": \"other.example\"}",
	     APIPROBLEM_INVALID_FIELD},
	};
	struct domain_reg reg;
	char why[APIROUTE_WHY_MAX];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		int rc = body(bad[i].json, &reg, why, sizeof(why));

		ck_assert_msg(rc == bad[i].kind, "%s: %d (%s), expected %d",
		              bad[i].json, rc, why, bad[i].kind);
		ck_assert_msg(why[0] != '\0', "%s: no reason", bad[i].json);
	}
}
END_TEST

START_TEST(test_problems)
{
	char *b;
	int k;

	for (k = APIPROBLEM_BAD_JSON; k < APIPROBLEM_COUNT; k++) {
		ck_assert_uint_ge(apiproblem_status(k), 400);
		ck_assert_uint_lt(apiproblem_status(k), 600);
		ck_assert(strncmp(apiproblem_type(k),
		                  "urn:authready:problem:", 22) == 0);
	}
	ck_assert_uint_eq(apiproblem_status(APIPROBLEM_TOO_LARGE), 413);
	ck_assert_uint_eq(apiproblem_status(APIPROBLEM_TIMEOUT), 408);
	ck_assert_uint_eq(apiproblem_status(APIPROBLEM_BUSY), 503);
	b = apiproblem_body(APIPROBLEM_UNKNOWN_FIELD, "bad \x1b[31m\"field\"",
	                    "/v1/domains");
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_null(strchr(b, '\x1b'));
	ck_assert_ptr_nonnull(
	    strstr(b, "\"type\":\"urn:authready:problem:unknown-field\""));
	ck_assert_ptr_nonnull(strstr(b, "\"status\":400"));
	free(b);
}
END_TEST

START_TEST(test_tokens)
{
	static const char file[] = "# tokens\n"
	                           "\n"
	                           "read-token-0123456789 read\r\n"
	                           "  write-token-0123456789\tWRITE  \n";
	struct apitoken_set set;
	char err[APITOKEN_ERR_MAX];
	size_t len;
	const char *t;

	ck_assert_int_eq(
	    apitoken_parse(file, strlen(file), &set, err, sizeof(err)), 0);
	ck_assert_uint_eq(set.count, 2);
	ck_assert_int_eq(apitoken_check(&set, "read-token-0123456789", 21),
	                 APITOKEN_READ);
	ck_assert_int_eq(apitoken_check(&set, "write-token-0123456789", 22),
	                 APITOKEN_WRITE);
	ck_assert_int_eq(apitoken_check(&set, "write-token-012345678", 21),
	                 APITOKEN_NONE);
	ck_assert_int_eq(apitoken_check(&set, "", 0), APITOKEN_NONE);
	apitoken_free(&set);
	ck_assert_int_ne(
	    apitoken_parse("short read\n", 11, &set, err, sizeof(err)), 0);
	ck_assert_int_ne(apitoken_parse("long-enough-token-1 admin\n", 26, &set,
	                                err, sizeof(err)),
	                 0);
	ck_assert_ptr_nonnull(strstr(err, "line 1"));
	ck_assert_ptr_null(strstr(err, "long-enough")); /* never echoed */
	ck_assert_int_ne(apitoken_parse("long-enough-token-1 read x\n", 27,
	                                &set, err, sizeof(err)),
	                 0);
	ck_assert_int_ne(
	    apitoken_parse("# nothing\n", 10, &set, err, sizeof(err)), 0);
	t = apitoken_bearer("bearer  abc ", &len);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(len, 3);
	ck_assert_ptr_null(apitoken_bearer("Basic abc", &len));
	ck_assert_ptr_null(apitoken_bearer(NULL, &len));
	ck_assert_ptr_null(apitoken_bearer("Bearer ", &len));
}
END_TEST

START_TEST(test_throttle)
{
	static struct apitoken_throttle t;
	unsigned char a[APITOKEN_ADDR_MAX] = {1}, b[APITOKEN_ADDR_MAX] = {2};
	int64_t now = 1000000;
	int i;

	for (i = 0; i < APITOKEN_THROTTLE_FREE; i++) {
		apitoken_failed(&t, a, now);
		ck_assert_int_eq(apitoken_wait_ms(&t, a, now), 0);
	}
	apitoken_failed(&t, a, now);
	ck_assert_int_eq(apitoken_wait_ms(&t, a, now), 1000);
	apitoken_failed(&t, a, now);
	ck_assert_int_eq(apitoken_wait_ms(&t, a, now), 2000);
	ck_assert_int_eq(apitoken_wait_ms(&t, b, now), 0);
	for (i = 0; i < 40; i++)
		apitoken_failed(&t, a, now);
	ck_assert_int_eq(apitoken_wait_ms(&t, a, now),
	                 APITOKEN_THROTTLE_MAX_MS);
	ck_assert_int_eq(
	    apitoken_wait_ms(&t, a, now + APITOKEN_THROTTLE_MAX_MS), 0);
	/* Quiet long enough: forgiven. */
	apitoken_failed(&t, a, now + APITOKEN_THROTTLE_FORGET_MS * 2);
	ck_assert_int_eq(
	    apitoken_wait_ms(&t, a, now + APITOKEN_THROTTLE_FORGET_MS * 2), 0);
	apitoken_succeeded(&t, a);
	ck_assert_int_eq(apitoken_wait_ms(&t, a, now), 0);
}
END_TEST

START_TEST(test_throttle_bounded)
{
	static struct apitoken_throttle t;
	unsigned char a[APITOKEN_ADDR_MAX];
	unsigned i;
	int k;

	/* Far more addresses than slots: the table stays bounded, and the
	 * most recent offender is still remembered. */
	memset(a, 0, sizeof(a));
	for (i = 0; i < APITOKEN_THROTTLE_SLOTS * 4; i++) {
		memcpy(a, &i, sizeof(i));
		apitoken_failed(&t, a, (int64_t)i);
	}
	for (k = 0; k < APITOKEN_THROTTLE_FREE + 1; k++)
		apitoken_failed(&t, a, 1000000);
	ck_assert_int_gt(apitoken_wait_ms(&t, a, 1000000), 0);
}
END_TEST

static Suite *
api_suite(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_routes);
	tcase_add_test(tc, test_routes_refused);
	tcase_add_test(tc, test_list_query);
	tcase_add_test(tc, test_body);
	tcase_add_test(tc, test_body_refused);
	tcase_add_test(tc, test_problems);
	tcase_add_test(tc, test_tokens);
	tcase_add_test(tc, test_throttle);
	tcase_add_test(tc, test_throttle_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(api_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
