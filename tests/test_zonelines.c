/*
 * test_zonelines.c - the records a registered domain must publish.
 *
 * SYNOPSIS
 *	make check TESTS=tests/test_zonelines
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zonelines.h"

static char *
slurp(const char *name, size_t *len)
{
	const char *top = getenv("top_srcdir");
	char path[1024];
	FILE *fp;
	char *buf = malloc(65536);

	snprintf(path, sizeof(path), "%s/tests/keys/%s", top ? top : ".", name);
	fp = fopen(path, "r");
	ck_assert_msg(fp != NULL, "cannot open %s", path);
	*len = fread(buf, 1, 65535, fp);
	buf[*len] = '\0';
	fclose(fp);
	while (*len > 0 && buf[*len - 1] == '\n')
		buf[--*len] = '\0';
	return buf;
}

static void
key_path(const char *name, char *out, size_t outlen)
{
	const char *top = getenv("top_srcdir");

	snprintf(out, outlen, "%s/tests/keys/%s", top ? top : ".", name);
}

START_TEST(test_dkim_value_rsa)
{
	char value[ZONELINES_VALUE_MAX], err[256], want[4096];
	size_t pemlen, plen;
	char *pem = slurp("rsa2048.pem", &pemlen);
	char *p = slurp("rsa2048.p", &plen);

	ck_assert_int_eq(zonelines_dkim_value(pem, pemlen, value, sizeof(value),
	                                      err, sizeof(err)),
	                 0);
	snprintf(want, sizeof(want), "v=DKIM1; k=rsa; p=%s", p);
	ck_assert_str_eq(value, want);
	free(pem);
	free(p);
}
END_TEST

START_TEST(test_dkim_value_ed25519)
{
	char value[ZONELINES_VALUE_MAX], err[256], want[4096];
	size_t pemlen, plen;
	char *pem = slurp("ed25519.pem", &pemlen);
	char *p = slurp("ed25519.p", &plen);

	ck_assert_int_eq(zonelines_dkim_value(pem, pemlen, value, sizeof(value),
	                                      err, sizeof(err)),
	                 0);
	snprintf(want, sizeof(want), "v=DKIM1; k=ed25519; p=%s", p);
	ck_assert_str_eq(value, want);
	free(pem);
	free(p);
}
END_TEST

START_TEST(test_dkim_value_garbage)
{
	char value[ZONELINES_VALUE_MAX], err[256];
	size_t plen;
	char *p = slurp("rsa2048.p", &plen); /* a public key is not enough */

	ck_assert_int_eq(zonelines_dkim_value(p, plen, value, sizeof(value),
	                                      err, sizeof(err)),
	                 -1);
	ck_assert_ptr_nonnull(strstr(err, "private key"));
	ck_assert_int_eq(
	    zonelines_dkim_value("", 0, value, sizeof(value), err, sizeof(err)),
	    -1);
	free(p);
}
END_TEST

START_TEST(test_txt_strings_split)
{
	char value[600], out[1400];
	const char *second;

	memset(value, 'a', 300);
	value[300] = '\0';
	ck_assert_int_eq(zonelines_txt_strings(value, out, sizeof(out)), 0);
	/* "<255 a>" "<45 a>" */
	ck_assert_int_eq(out[0], '"');
	ck_assert_int_eq(out[256], '"');
	ck_assert_int_eq(out[257], ' ');
	second = out + 258;
	ck_assert_int_eq(second[0], '"');
	ck_assert_uint_eq(strlen(second), 47);
	ck_assert_int_eq(
	    zonelines_txt_strings("say \"x\\\" \x01", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "\"say \\\"x\\\\\\\" \\001\"");
	ck_assert_int_eq(zonelines_txt_strings(value, out, 100), -1);
}
END_TEST

START_TEST(test_build_seed)
{
	static struct zonelines_set set;
	struct domain_reg reg;
	struct zonelines_defaults defs = {
	    .mail_from = "mail",
	    .mx_host = "feedback-smtp.ap-northeast-1.amazonses.com",
	    .spf_include = "amazonses.com",
	    .dmarc_min_policy = -1,
	};
	char err[512];

	memset(&reg, 0, sizeof(reg));
	snprintf(reg.domain, sizeof(reg.domain), "example.com");
	snprintf(reg.selectors[0].name, sizeof(reg.selectors[0].name),
	         "1234rpr");
	key_path("rsa2048.pem", reg.selectors[0].key_path,
	         sizeof(reg.selectors[0].key_path));
	reg.nselectors = 1;
	reg.dmarc_min_policy = -1;
	ck_assert_int_eq(zonelines_build(&reg, &defs, &set, err, sizeof(err)),
	                 0);
	ck_assert_uint_eq(set.count, 4);
	ck_assert_str_eq(set.rr[0].name, "mail.example.com");
	ck_assert_str_eq(set.rr[0].type, "MX");
	ck_assert_str_eq(set.rr[0].value,
	                 "10 feedback-smtp.ap-northeast-1.amazonses.com.");
	ck_assert_str_eq(set.rr[1].value, "v=spf1 include:amazonses.com ~all");
	ck_assert_str_eq(set.rr[2].name, "1234rpr._domainkey.example.com");
	ck_assert_ptr_nonnull(strstr(set.rr[2].value, "v=DKIM1; k=rsa; p=MII"));
	ck_assert_str_eq(set.rr[3].name, "_dmarc.example.com");
	ck_assert_str_eq(set.rr[3].value, "v=DMARC1; p=none;");

	/* the entry's own values win; egress addresses come first */
	snprintf(reg.egress[0], sizeof(reg.egress[0]), "192.0.2.1");
	snprintf(reg.egress[1], sizeof(reg.egress[1]), "2001:db8::/32");
	reg.negress = 2;
	reg.dmarc_min_policy = DMARC_POLICY_REJECT;
	snprintf(reg.mail_from, sizeof(reg.mail_from), "bounce");
	ck_assert_int_eq(zonelines_build(&reg, &defs, &set, err, sizeof(err)),
	                 0);
	ck_assert_str_eq(set.rr[0].name, "bounce.example.com");
	ck_assert_str_eq(set.rr[1].value,
	                 "v=spf1 ip4:192.0.2.1 ip6:2001:db8::/32 "
	                 "include:amazonses.com ~all");
	ck_assert_str_eq(set.rr[3].value, "v=DMARC1; p=reject;");
}
END_TEST

START_TEST(test_build_unreadable_key)
{
	static struct zonelines_set set;
	struct domain_reg reg;
	struct zonelines_defaults defs = {.mail_from = "mail"};
	char err[512];

	memset(&reg, 0, sizeof(reg));
	snprintf(reg.domain, sizeof(reg.domain), "example.com");
	snprintf(reg.selectors[0].name, sizeof(reg.selectors[0].name), "s1");
	snprintf(reg.selectors[0].key_path, sizeof(reg.selectors[0].key_path),
	         "/nonexistent/key.pem");
	reg.nselectors = 1;
	ck_assert_int_eq(zonelines_build(&reg, &defs, &set, err, sizeof(err)),
	                 -1);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/key.pem"));
	/* no MX host anywhere: a note, not a made-up value */
	reg.nselectors = 0;
	ck_assert_int_eq(zonelines_build(&reg, &defs, &set, err, sizeof(err)),
	                 0);
	ck_assert_str_eq(set.rr[0].value, "");
	ck_assert_ptr_nonnull(strstr(set.rr[0].note, "MXHost"));
	ck_assert_ptr_nonnull(strstr(set.rr[1].note, "authorizes no server"));
}
END_TEST

START_TEST(test_build_no_selector)
{
	static struct zonelines_set set;
	struct domain_reg reg;
	struct zonelines_defaults defs = {.mail_from = "mail",
	                                  .dmarc_min_policy = -1};
	char err[512], key[256];

	memset(&reg, 0, sizeof(reg));
	snprintf(reg.domain, sizeof(reg.domain), "example.com");
	reg.dmarc_min_policy = -1;
	/* No selector anywhere: a note where the key record would go. */
	ck_assert_int_eq(zonelines_build(&reg, &defs, &set, err, sizeof(err)),
	                 0);
	ck_assert_uint_eq(set.count, 4);
	ck_assert_str_eq(set.rr[2].name, "SELECTOR._domainkey.example.com");
	ck_assert_str_eq(set.rr[2].value, "");
	ck_assert_ptr_nonnull(strstr(set.rr[2].note, "no DKIM selector"));
	ck_assert_ptr_nonnull(strstr(set.rr[2].note, "Selector in"));
	/* Selector and KeyFile apply, as they do to the checks. */
	key_path("rsa2048.pem", key, sizeof(key));
	defs.selector = "1234rpr";
	defs.key_file = key;
	ck_assert_int_eq(zonelines_build(&reg, &defs, &set, err, sizeof(err)),
	                 0);
	ck_assert_uint_eq(set.count, 4);
	ck_assert_str_eq(set.rr[2].name, "1234rpr._domainkey.example.com");
	ck_assert_ptr_nonnull(strstr(set.rr[2].value, "v=DKIM1; k=rsa; p=MII"));
}
END_TEST

START_TEST(test_build_bad_mail_from)
{
	static struct zonelines_set set;
	struct domain_reg reg;
	struct zonelines_defaults defs = {.mail_from = "mail",
	                                  .spf_include = "amazonses.com",
	                                  .dmarc_min_policy = -1};
	char err[512];

	/* Entries stored before domain import judged its rows. */
	memset(&reg, 0, sizeof(reg));
	snprintf(reg.domain, sizeof(reg.domain), "example.com");
	snprintf(reg.mail_from, sizeof(reg.mail_from), "example.com");
	reg.dmarc_min_policy = -1;
	ck_assert_int_eq(zonelines_build(&reg, &defs, &set, err, sizeof(err)),
	                 0);
	ck_assert_str_eq(set.rr[1].type, "TXT");
	ck_assert_str_eq(set.rr[0].value, "");
	ck_assert_str_eq(set.rr[1].value, "");
	ck_assert_ptr_nonnull(strstr(set.rr[1].note, "bare domain"));
	snprintf(reg.mail_from, sizeof(reg.mail_from), "mail.example.net");
	ck_assert_int_eq(zonelines_build(&reg, &defs, &set, err, sizeof(err)),
	                 0);
	ck_assert_str_eq(set.rr[1].value, "");
	ck_assert_ptr_nonnull(strstr(set.rr[1].note, "outside"));
	snprintf(reg.mail_from, sizeof(reg.mail_from), "bounce.example.com");
	ck_assert_int_eq(zonelines_build(&reg, &defs, &set, err, sizeof(err)),
	                 0);
	ck_assert_str_eq(set.rr[1].value, "v=spf1 include:amazonses.com ~all");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("zonelines");
	TCase *tc = tcase_create("zonelines");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_dkim_value_rsa);
	tcase_add_test(tc, test_dkim_value_ed25519);
	tcase_add_test(tc, test_dkim_value_garbage);
	tcase_add_test(tc, test_txt_strings_split);
	tcase_add_test(tc, test_build_seed);
	tcase_add_test(tc, test_build_unreadable_key);
	tcase_add_test(tc, test_build_no_selector);
	tcase_add_test(tc, test_build_bad_mail_from);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
