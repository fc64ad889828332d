/*
 * test_regexport.c - the registry export: every line regexport writes is
 * read back by csv.c and regimport.c into the very same struct
 * domain_reg, for odd but valid values; the header names every import
 * column; what cannot be written so that it reads back is refused.
 *
 * SYNOPSIS
 *	make check TESTS=tests/test_regexport
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "regexport.h"
#include "regimport.h"

/* reg_base - a zeroed entry with only the domain set (normalized). */
static void
reg_base(struct domain_reg *r, const char *domain)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->domain, sizeof(r->domain), "%s", domain);
	r->dmarc_min_policy = DMARC_POLICY_UNSET;
	r->added = 1764938404; /* 2025-12-05T12:40:04Z */
}

/* add_sel - a selector, with a key path or "". */
static void
add_sel(struct domain_reg *r, const char *name, const char *key)
{
	struct domain_selector *s = &r->selectors[r->nselectors++];

	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->key_path, sizeof(s->key_path), "%s", key);
}

/* add_ip - an egress address as given. */
static void
add_ip(struct domain_reg *r, const char *ip)
{
	snprintf(r->egress[r->negress++], DOMAIN_IP_TEXT_MAX, "%s", ip);
}

/* read_back - header + row through csv.c and regimport.c into out. */
static void
read_back(const char *line, size_t linelen, struct domain_reg *out)
{
	static struct csv_record hdr, row;
	static char text[2 * REGEXPORT_LINE_MAX];
	struct regimport_columns cols;
	struct csv_reader rd;
	char err[REGIMPORT_ERR_MAX], head[512];
	size_t hlen;

	ck_assert_int_eq(regexport_header(head, sizeof(head), &hlen), 0);
	ck_assert_uint_lt(hlen + linelen, sizeof(text));
	memcpy(text, head, hlen);
	memcpy(text + hlen, line, linelen);
	csv_init(&rd, text, hlen + linelen);
	ck_assert_int_eq(csv_next(&rd, &hdr, err, sizeof(err)), 1);
	ck_assert_msg(regimport_header(&hdr, &cols, err, sizeof(err)) == 0,
	              "%s", err);
	ck_assert_msg(csv_next(&rd, &row, err, sizeof(err)) == 1, "%s: %s",
	              line, err);
	ck_assert_msg(regimport_row(&cols, &row, 1, out, err, sizeof(err)) == 0,
	              "%s: %s", line, err);
	ck_assert_int_eq(csv_next(&rd, &row, err, sizeof(err)), 0);
}

/* round_trip - r written and read back is r, byte for byte. */
static void
round_trip(const struct domain_reg *r)
{
	static struct domain_reg back;
	char line[REGEXPORT_LINE_MAX], why[256];
	size_t len;

	ck_assert_msg(
	    regexport_row(r, line, sizeof(line), &len, why, sizeof(why)) == 0,
	    "%s: %s", r->domain, why);
	ck_assert_uint_eq(strlen(line), len);
	ck_assert_int_eq(line[len - 1], '\n');
	read_back(line, len, &back);
	/* what import does with the row: the one judgement of an entry */
	ck_assert_msg(regimport_validate(&back, NULL, why, sizeof(why)) == 0,
	              "%s: %s", line, why);
	ck_assert_str_eq(back.domain, r->domain);
	ck_assert_str_eq(back.mail_from, r->mail_from);
	ck_assert_uint_eq(back.nselectors, r->nselectors);
	for (uint32_t i = 0; i < r->nselectors; i++) {
		ck_assert_str_eq(back.selectors[i].name, r->selectors[i].name);
		ck_assert_str_eq(back.selectors[i].key_path,
		                 r->selectors[i].key_path);
	}
	ck_assert_str_eq(back.mx_host, r->mx_host);
	ck_assert_str_eq(back.spf_include, r->spf_include);
	ck_assert_uint_eq(back.negress, r->negress);
	for (uint32_t i = 0; i < r->negress; i++)
		ck_assert_str_eq(back.egress[i], r->egress[i]);
	ck_assert_int_eq(back.dmarc_min_policy, r->dmarc_min_policy);
	ck_assert_str_eq(back.contact, r->contact);
	ck_assert_int_eq(back.added, r->added);
	/* and nothing else: the whole struct, padding and all */
	ck_assert_msg(memcmp(&back, r, sizeof(*r)) == 0, "%s", line);
}

START_TEST(test_header)
{
	char head[512], want[512] = "";
	size_t len, i;

	ck_assert_int_eq(regexport_header(head, sizeof(head), &len), 0);
	for (i = 0; i < REGIMPORT_NCOLS; i++) {
		strcat(want, i ? "," : "");
		strcat(want, regimport_col_name((enum regimport_col)i));
	}
	strcat(want, "\n");
	ck_assert_str_eq(head, want);
	ck_assert_uint_eq(len, strlen(want));
	ck_assert_int_eq(regexport_header(head, 10, &len), -1);
}
END_TEST

START_TEST(test_defaults)
{
	static struct domain_reg r;

	reg_base(&r, "example.com");
	round_trip(&r);
}
END_TEST

START_TEST(test_every_field)
{
	static struct domain_reg r;

	reg_base(&r, "xn--bcher-kva.example");
	snprintf(r.mail_from, sizeof(r.mail_from), "bounce");
	add_sel(&r, "s1", "/etc/dkim/my keys, 2024/k 1.pem");
	add_sel(&r, "sel_2.sub", "/etc/dkim/q\"x=y.pem");
	add_sel(&r, "nokey", "");
	add_sel(&r, "a-b", "/k=\"v\".pem");
	snprintf(r.mx_host, sizeof(r.mx_host), "mx.example.net");
	snprintf(r.spf_include, sizeof(r.spf_include), "_spf.example.net");
	add_ip(&r, "2001:db8::1");
	add_ip(&r, "192.0.2.0/24");
	add_ip(&r, "2001:db8:0:1::/64");
	r.dmarc_min_policy = DMARC_POLICY_REJECT;
	snprintf(r.contact, sizeof(r.contact), "o+tag.x@example.org");
	round_trip(&r);

	/* a MAIL FROM given as a full name, outside the domain */
	reg_base(&r, "sub.example.org");
	snprintf(r.mail_from, sizeof(r.mail_from), "m.example.org");
	r.dmarc_min_policy = DMARC_POLICY_NONE;
	round_trip(&r);
	r.dmarc_min_policy = DMARC_POLICY_QUARANTINE;
	round_trip(&r);
}
END_TEST

START_TEST(test_times)
{
	static struct domain_reg r;
	const int64_t times[] = {
	    0,        -1, 1, 86400, 1764938404, 253402300799LL, 253402300800LL,
	    INT64_MAX};
	char line[REGEXPORT_LINE_MAX], why[256];
	size_t len;

	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		reg_base(&r, "example.com");
		r.added = times[i];
		round_trip(&r);
	}
	r.added = 1764938404;
	ck_assert_int_eq(
	    regexport_row(&r, line, sizeof(line), &len, why, sizeof(why)), 0);
	ck_assert_ptr_nonnull(strstr(line, ",2025-12-05T12:40:04Z\n"));
}
END_TEST

START_TEST(test_largest)
{
	static struct domain_reg r;
	char name[DOMAIN_SELECTOR_MAX], key[DOMAIN_KEY_PATH_MAX];

	/* 8 selectors of 63 octets, each with a 255-octet key path made
	 * of quotes and '=' (every one doubled by the CSV quoting) */
	reg_base(&r, "example.com");
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	for (int i = 0; i < DOMAIN_SELECTORS_MAX; i++) {
		name[0] = (char)('a' + i);
		key[0] = '/';
		for (size_t j = 1; j < sizeof(key) - 1; j++)
			key[j] = j % 2 ? '"' : '=';
		key[sizeof(key) - 1] = '\0';
		add_sel(&r, name, key);
	}
	for (int i = 0; i < DOMAIN_EGRESS_MAX; i++) {
		char ip[DOMAIN_IP_TEXT_MAX];

		snprintf(ip, sizeof(ip), "2001:db8:%x::ffff:192.0.2.%d/128", i,
		         i);
		add_ip(&r, ip);
	}
	round_trip(&r);
}
END_TEST

START_TEST(test_refused)
{
	static struct domain_reg r;
	char line[REGEXPORT_LINE_MAX], why[256];
	size_t len;

	reg_base(&r, "example.com");
	add_sel(&r, "s1", "/a \"b\".pem"); /* a space and a quote */
	ck_assert_int_eq(
	    regexport_row(&r, line, sizeof(line), &len, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "selector s1"));
	reg_base(&r, "example.com");
	ck_assert_int_eq(regexport_row(&r, line, 20, &len, why, sizeof(why)),
	                 -1);
}
END_TEST

START_TEST(test_import_quoted_keys)
{
	static struct domain_reg r;
	char why[256];

	reg_base(&r, "example.com");
	ck_assert_int_eq(regimport_set(&r, REGIMPORT_SELECTORS,
	                               "s1=\"/a b/k.pem\" s2 s3=/c\"d", 26, why,
	                               sizeof(why)),
	                 0);
	ck_assert_uint_eq(r.nselectors, 3);
	ck_assert_str_eq(r.selectors[0].key_path, "/a b/k.pem");
	ck_assert_str_eq(r.selectors[1].key_path, "");
	ck_assert_str_eq(r.selectors[2].key_path, "/c\"d");
	reg_base(&r, "example.com");
	ck_assert_int_eq(regimport_set(&r, REGIMPORT_SELECTORS, "s1=\"\"", 5,
	                               why, sizeof(why)),
	                 -1);
	ck_assert_ptr_nonnull(strstr(why, "empty key file"));
	ck_assert_int_eq(regimport_set(&r, REGIMPORT_SELECTORS, "s1=\"/a b", 8,
	                               why, sizeof(why)),
	                 -1);
	ck_assert_int_eq(regimport_set(&r, REGIMPORT_ADDED, "yesterday", 9, why,
	                               sizeof(why)),
	                 -1);
	ck_assert_int_eq(regimport_set(&r, REGIMPORT_ADDED,
	                               "2026-12-05T12:30:04Z", 20, why,
	                               sizeof(why)),
	                 0);
	ck_assert_int_eq(r.added, 1796473804);
	ck_assert_int_eq(
	    regimport_set(&r, REGIMPORT_ADDED, "-5", 2, why, sizeof(why)), 0);
	ck_assert_int_eq(r.added, -5);
	ck_assert_int_eq(
	    regimport_set(&r, REGIMPORT_ADDED, "12x", 3, why, sizeof(why)), -1);
}
END_TEST

static Suite *
regexport_suite(void)
{
	Suite *s = suite_create("regexport");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_header);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_every_field);
	tcase_add_test(tc, test_times);
	tcase_add_test(tc, test_largest);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_import_quoted_keys);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(regexport_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
