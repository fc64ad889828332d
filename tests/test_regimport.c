/*
 * test_regimport.c - CSV rows to registry entries: headers, every column
 * valid and invalid, hostile values, duplicate domains.
 *
 * SYNOPSIS
 *	make check TESTS=tests/test_regimport
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "regimport.h"

#define NOW 1700000000

static struct csv_record hdr_rec, row_rec;
static char err[REGIMPORT_ERR_MAX];

/* header - map the first record of text; returns regimport_header(). */
static int
header(const char *text, struct regimport_columns *cols)
{
	struct csv_reader rd;
	char cerr[CSV_ERR_MAX];

	csv_init(&rd, text, strlen(text));
	ck_assert_int_eq(csv_next(&rd, &hdr_rec, cerr, sizeof(cerr)), 1);
	err[0] = '\0';
	return regimport_header(&hdr_rec, cols, err, sizeof(err));
}

/* import1 - header and one row from text; returns regimport_row(). */
static int
import1(const char *text, struct domain_reg *reg)
{
	struct regimport_columns cols;
	struct csv_reader rd;
	char cerr[CSV_ERR_MAX];

	csv_init(&rd, text, strlen(text));
	ck_assert_int_eq(csv_next(&rd, &hdr_rec, cerr, sizeof(cerr)), 1);
	ck_assert_int_eq(regimport_header(&hdr_rec, &cols, err, sizeof(err)),
	                 0);
	ck_assert_int_eq(csv_next(&rd, &row_rec, cerr, sizeof(cerr)), 1);
	err[0] = '\0';
	memset(reg, 0xa5, sizeof(*reg));
	return regimport_row(&cols, &row_rec, NOW, reg, err, sizeof(err));
}

/* col1 - import "domain,COL" with value for COL; returns the result. */
static int
col1(const char *col, const char *value, struct domain_reg *reg)
{
	char text[2048];

	snprintf(text, sizeof(text), "domain,%s\nexample.com,%s\n", col, value);
	return import1(text, reg);
}

/* col1_fails - the value is refused with an error containing want. */
static void
col1_fails(const char *col, const char *value, const char *want)
{
	struct domain_reg reg;

	ck_assert_msg(col1(col, value, &reg) == -1, "%s=%s accepted", col,
	              value);
	ck_assert_msg(strstr(err, want) != NULL, "error '%s' lacks '%s'", err,
	              want);
	ck_assert_msg(strncmp(err, "line 2: ", 8) == 0, "error '%s'", err);
}

START_TEST(test_header_variants)
{
	struct regimport_columns cols;

	ck_assert_int_eq(header("domain\n", &cols), 0);
	ck_assert_int_eq(cols.index[REGIMPORT_DOMAIN], 0);
	ck_assert_int_eq(cols.index[REGIMPORT_MX], -1);
	ck_assert_uint_eq(cols.nfields, 1);
	ck_assert_int_eq(header(" MX , Domain\n", &cols), 0);
	ck_assert_int_eq(cols.index[REGIMPORT_DOMAIN], 1);
	ck_assert_int_eq(cols.index[REGIMPORT_MX], 0);
	ck_assert_int_eq(
	    header("\"domain\",CONTACT,Dmarc_Min_Policy,"
	           "egress_ips,spf_include,selectors,mail_from,mx\n",
	           &cols),
	    0);
	ck_assert_int_eq(cols.index[REGIMPORT_CONTACT], 1);
	ck_assert_int_eq(cols.index[REGIMPORT_MAIL_FROM], 6);
	ck_assert_uint_eq(cols.nfields, 8);
}
END_TEST

START_TEST(test_header_errors)
{
	struct regimport_columns cols;

	ck_assert_int_eq(header("domain,foo,mx,bar\n", &cols), -1);
	ck_assert_ptr_nonnull(strstr(err, "unknown columns 'foo', 'bar'"));
	ck_assert_ptr_nonnull(strstr(err, "known: domain, mail_from"));
	ck_assert_int_eq(header("domain,mailfrom\n", &cols), -1);
	ck_assert_ptr_nonnull(strstr(err, "unknown column 'mailfrom'"));
	ck_assert_int_eq(header("mx,contact\n", &cols), -1);
	ck_assert_str_eq(err, "line 1: header: no 'domain' column (known: "
	                      "domain, mail_from, selectors, mx, spf_include, "
	                      "egress_ips, dmarc_min_policy, contact, added)");
	ck_assert_int_eq(header("domain,Domain\n", &cols), -1);
	ck_assert_str_eq(err, "line 1: header: column 'domain' appears twice");
	ck_assert_int_eq(header("domain,,mx\n", &cols), -1);
	ck_assert_str_eq(err, "line 1: header: column 2 has no name");
	/* a hostile column name is echoed printable */
	ck_assert_int_eq(header("domain,\"x\ny\"\n", &cols), -1);
	ck_assert_ptr_nonnull(strstr(err, "'x\\x0ay'"));
	ck_assert_ptr_null(strchr(err, '\n'));
}
END_TEST

START_TEST(test_full_row)
{
	struct domain_reg reg;

	ck_assert_int_eq(
	    import1("domain,mail_from,selectors,mx,spf_include,egress_ips,"
	            "dmarc_min_policy,contact\n"
	            "Example.COM.,Bounce,\"s1 S2=/etc/authready/s2.pem\","
	            "Feedback.Example.NET,amazonses.com,"
	            "\"192.0.2.1 2001:db8::/32;198.51.100.0/24\",Quarantine,"
	            "ops@example.com\n",
	            &reg),
	    0);
	ck_assert_str_eq(reg.domain, "example.com");
	ck_assert_str_eq(reg.mail_from, "bounce");
	ck_assert_uint_eq(reg.nselectors, 2);
	ck_assert_str_eq(reg.selectors[0].name, "s1");
	ck_assert_str_eq(reg.selectors[0].key_path, "");
	ck_assert_str_eq(reg.selectors[1].name, "s2");
	ck_assert_str_eq(reg.selectors[1].key_path, "/etc/authready/s2.pem");
	ck_assert_str_eq(reg.mx_host, "feedback.example.net");
	ck_assert_str_eq(reg.spf_include, "amazonses.com");
	ck_assert_uint_eq(reg.negress, 3);
	ck_assert_str_eq(reg.egress[0], "192.0.2.1");
	ck_assert_str_eq(reg.egress[1], "2001:db8::/32");
	ck_assert_str_eq(reg.egress[2], "198.51.100.0/24");
	ck_assert_int_eq(reg.dmarc_min_policy, DMARC_POLICY_QUARANTINE);
	ck_assert_str_eq(reg.contact, "ops@example.com");
	ck_assert_int_eq(reg.added, NOW);
}
END_TEST

START_TEST(test_defaults)
{
	struct domain_reg reg;

	ck_assert_int_eq(import1("domain,mail_from,selectors,mx,spf_include,"
	                         "egress_ips,dmarc_min_policy,contact\n"
	                         "example.org,,,,,,,\n",
	                         &reg),
	                 0);
	ck_assert_str_eq(reg.domain, "example.org");
	ck_assert_str_eq(reg.mail_from, "");
	ck_assert_uint_eq(reg.nselectors, 0);
	ck_assert_str_eq(reg.mx_host, "");
	ck_assert_str_eq(reg.spf_include, "");
	ck_assert_uint_eq(reg.negress, 0);
	ck_assert_int_eq(reg.dmarc_min_policy, -1);
	ck_assert_str_eq(reg.contact, "");
	ck_assert_int_eq(import1("domain\nexample.org\n", &reg), 0);
	ck_assert_int_eq(reg.dmarc_min_policy, -1);
	ck_assert_uint_eq(reg.negress, 0);
	ck_assert_int_eq(reg.added, NOW);
}
END_TEST

START_TEST(test_field_count_mismatch)
{
	struct domain_reg reg;

	ck_assert_int_eq(import1("domain,mx\nexample.com\n", &reg), -1);
	ck_assert_str_eq(err, "line 2: 1 field; the header has 2");
	ck_assert_int_eq(import1("domain,mx\na.example,b.example,c\n", &reg),
	                 -1);
	ck_assert_str_eq(err, "line 2: 3 fields; the header has 2");
}
END_TEST

START_TEST(test_domain)
{
	struct domain_reg reg;

	ck_assert_int_eq(import1("domain\nb\xc3\xbc"
	                         "cher.example\n",
	                         &reg),
	                 0);
	ck_assert_str_eq(reg.domain, "xn--bcher-kva.example");
	ck_assert_int_eq(import1("domain\na..b\n", &reg), -1);
	ck_assert_str_eq(err, "line 2: domain 'a..b': name has an empty label");
	ck_assert_int_eq(import1("domain\n\"\"\n", &reg), -1);
	ck_assert_str_eq(err, "line 2: domain: a domain is required");
	ck_assert_int_eq(import1("domain\n-bad.example\n", &reg), -1);
	ck_assert_int_eq(import1("domain\nexa mple.com\n", &reg), -1);
	ck_assert_int_eq(import1("domain\n\"a\nb.example\"\n", &reg), -1);
	ck_assert_ptr_nonnull(strstr(err, "'a\\x0ab.example'"));
	ck_assert_ptr_null(strchr(err, '\n'));
}
END_TEST

START_TEST(test_mail_from)
{
	struct domain_reg reg;

	ck_assert_int_eq(col1("mail_from", "Mail", &reg), 0);
	ck_assert_str_eq(reg.mail_from, "mail");
	ck_assert_int_eq(col1("mail_from", "Bounce.Example.COM", &reg), 0);
	ck_assert_str_eq(reg.mail_from, "bounce.example.com");
	ck_assert_int_eq(col1("mail_from", "bounce.example.com.", &reg), 0);
	ck_assert_str_eq(reg.mail_from, "bounce.example.com");
	/* a single label is relative even when it is a known TLD */
	ck_assert_int_eq(col1("mail_from", "com", &reg), 0);
	ck_assert_str_eq(reg.mail_from, "com");
	col1_fails("mail_from", "-mail", "mail_from '-mail'");
	col1_fails("mail_from", "a..b", "empty label");
	col1_fails("mail_from", "mail.", "top-level domain");
	col1_fails("mail_from", "ma il", "mail_from 'ma il'");
}
END_TEST

START_TEST(test_selectors)
{
	struct domain_reg reg;
	char sel63[64];

	ck_assert_int_eq(col1("selectors", "\" s1\tsel.sub  k=/k.pem \"", &reg),
	                 0);
	ck_assert_uint_eq(reg.nselectors, 3);
	ck_assert_str_eq(reg.selectors[1].name, "sel.sub");
	ck_assert_str_eq(reg.selectors[2].key_path, "/k.pem");
	ck_assert_int_eq(col1("selectors", "1234rpr_x=/a=b.pem", &reg), 0);
	ck_assert_str_eq(reg.selectors[0].name, "1234rpr_x");
	ck_assert_str_eq(reg.selectors[0].key_path, "/a=b.pem");
	memset(sel63, 'a', 63);
	sel63[63] = '\0';
	ck_assert_int_eq(col1("selectors", sel63, &reg), 0);
	ck_assert_uint_eq(strlen(reg.selectors[0].name), 63);

	col1_fails("selectors", "s1 S1", "selector 's1' given twice");
	col1_fails("selectors", "a b c d e f g h i", "more than 8 selectors");
	col1_fails("selectors", "a..b", "selector 'a..b' is not");
	col1_fails("selectors", "-s", "selector '-s' is not");
	col1_fails("selectors", "s-", "selector 's-' is not");
	col1_fails("selectors", "s/1", "selector 's/1' is not");
	col1_fails("selectors", ".s", "is not");
	col1_fails("selectors", "s.", "is not");
	col1_fails("selectors", "=/k.pem", "selector '' is not");
	col1_fails("selectors", "s1=relative.pem",
	           "key file is not an absolute path");
	col1_fails("selectors", "s1=", "'s1=' has '=' but no key file");
	col1_fails("selectors",
	           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	           "aaaaaaaaaaaaaaaa",
	           "at most 63 octets");
	{
		char longkey[400] = "s=/";

		memset(longkey + 3, 'k', 300);
		longkey[303] = '\0';
		col1_fails("selectors", longkey, "key file is 301 bytes");
	}
	/* CR, LF and TAB inside quotes separate items like spaces */
	ck_assert_int_eq(col1("selectors", "\"a\r\nb=/k\tc\"", &reg), 0);
	ck_assert_uint_eq(reg.nselectors, 3);
	ck_assert_str_eq(reg.selectors[1].key_path, "/k");
}
END_TEST

START_TEST(test_selector_api)
{
	struct domain_reg reg;
	char why[256], name[300], label[64];

	ck_assert(regimport_selector_ok("s1", 2));
	ck_assert(regimport_selector_ok("a.b_c-d", 7));
	ck_assert(!regimport_selector_ok("", 0));
	ck_assert(!regimport_selector_ok("a b", 3));
	ck_assert(!regimport_selector_ok("a\0b", 3));
	/* the length counts, not the NUL */
	ck_assert(regimport_selector_ok("abc!", 3));

	/* the DKIM name must fit in 253 octets: a 235-octet domain */
	regimport_reg_init(&reg, NOW);
	memset(label, 'a', 63);
	label[63] = '\0';
	snprintf(name, sizeof(name), "%s.%s.%s.%.43s", label, label, label,
	         label);
	ck_assert_uint_eq(strlen(name), 235);
	ck_assert_int_eq(regimport_set(&reg, REGIMPORT_DOMAIN, name,
	                               strlen(name), why, sizeof(why)),
	                 0);
	ck_assert_int_eq(regimport_add_selector(&reg, "s1234567890", 11, NULL,
	                                        0, why, sizeof(why)),
	                 -1);
	ck_assert_ptr_nonnull(strstr(why, "longer than 253"));
	ck_assert_int_eq(
	    regimport_add_selector(&reg, "s1", 2, "/k", 2, why, sizeof(why)),
	    0);
	ck_assert_str_eq(reg.selectors[0].key_path, "/k");
	ck_assert_int_eq(
	    regimport_add_selector(&reg, "s2", 2, "/k\0x", 4, why, sizeof(why)),
	    -1);
	ck_assert_int_eq(regimport_add_selector(&reg, "s3", 2, "/a\x01b", 4,
	                                        why, sizeof(why)),
	                 -1);
	ck_assert_str_eq(why, "key file contains a control byte");
	ck_assert_uint_eq(reg.nselectors, 1);
}
END_TEST

START_TEST(test_names)
{
	struct domain_reg reg;

	ck_assert_int_eq(col1("mx", "MX.Example.net.", &reg), 0);
	ck_assert_str_eq(reg.mx_host, "mx.example.net");
	ck_assert_int_eq(col1("mx", "a..b", &reg), -1);
	ck_assert_str_eq(err, "line 2: mx 'a..b': name has an empty label");
	col1_fails("mx", "mx_!.example", "mx 'mx_!.example'");
	ck_assert_int_eq(col1("spf_include", "_spf.Example.net", &reg), 0);
	ck_assert_str_eq(reg.spf_include, "_spf.example.net");
	col1_fails("spf_include", ".x", "spf_include '.x'");
	col1_fails("spf_include", "x-.example", "ends with a hyphen");
}
END_TEST

START_TEST(test_egress)
{
	struct domain_reg reg;
	char many[1024];
	size_t used = 0, i;

	ck_assert_int_eq(col1("egress_ips",
	                      "\"192.0.2.1, 192.0.2.2;;2001:db8::1/128\"",
	                      &reg),
	                 0);
	ck_assert_uint_eq(reg.negress, 3);
	ck_assert_str_eq(reg.egress[2], "2001:db8::1/128");
	ck_assert_int_eq(col1("egress_ips", "192.0.2.0/24", &reg), 0);
	ck_assert_uint_eq(reg.negress, 1);
	col1_fails("egress_ips", "192.0.2.1/33", "'192.0.2.1/33' is not");
	col1_fails("egress_ips", "300.1.1.1", "'300.1.1.1' is not");
	col1_fails("egress_ips", "2001:db8::/129", "is not");
	col1_fails("egress_ips", "192.0.2.1/", "is not");
	col1_fails("egress_ips", "mail.example.com", "is not");
	col1_fails("egress_ips", "192.0.2.1 192.0.2.1",
	           "'192.0.2.1' given twice");
	for (i = 0; i < 17; i++)
		used += (size_t)snprintf(many + used, sizeof(many) - used,
		                         "192.0.2.%zu ", i + 1);
	col1_fails("egress_ips", many, "more than 16 addresses");
	many[used - strlen("192.0.2.17 ")] = '\0';
	ck_assert_int_eq(col1("egress_ips", many, &reg), 0);
	ck_assert_uint_eq(reg.negress, 16);
	memset(many, '1', 200);
	many[200] = '\0';
	col1_fails("egress_ips", many, "is not");
}
END_TEST

START_TEST(test_policy)
{
	struct domain_reg reg;
	int32_t p;

	ck_assert_int_eq(col1("dmarc_min_policy", "none", &reg), 0);
	ck_assert_int_eq(reg.dmarc_min_policy, DMARC_POLICY_NONE);
	ck_assert_int_eq(col1("dmarc_min_policy", "REJECT", &reg), 0);
	ck_assert_int_eq(reg.dmarc_min_policy, DMARC_POLICY_REJECT);
	ck_assert_int_eq(col1("dmarc_min_policy", "", &reg), 0);
	ck_assert_int_eq(reg.dmarc_min_policy, -1);
	col1_fails("dmarc_min_policy", "strict",
	           "dmarc_min_policy 'strict': use none, quarantine or reject");
	col1_fails("dmarc_min_policy", "non", "use none");
	col1_fails("dmarc_min_policy", "nonee", "use none");
	ck_assert_int_eq(regimport_parse_policy("rejectX", 6, &p), 0);
	ck_assert_int_eq(p, DMARC_POLICY_REJECT);
}
END_TEST

START_TEST(test_contact)
{
	struct domain_reg reg;
	char longaddr[400];

	ck_assert_int_eq(col1("contact", "Ops@Example.com", &reg), 0);
	ck_assert_str_eq(reg.contact, "Ops@Example.com");
	/* header injection through a quoted embedded newline */
	col1_fails("contact", "\"a@b\nBcc: victim@example.net\"",
	           "not a plain address");
	ck_assert_ptr_null(strchr(err, '\n'));
	ck_assert_ptr_nonnull(strstr(err, "a@b\\x0aBcc"));
	col1_fails("contact", "\"a@b\r\nBcc: x@y\"", "not a plain address");
	col1_fails("contact", "a b@example.com", "not a plain address");
	col1_fails("contact", "<a@example.com>", "not a plain address");
	col1_fails("contact", "\"a@example.com,b@example.com\"",
	           "not a plain address");
	col1_fails("contact", "a@b@c", "not a plain address");
	col1_fails("contact", "nobody", "not a plain address");
	memset(longaddr, 'a', 300);
	memcpy(longaddr + 300, "@example.com", 13);
	col1_fails("contact", longaddr, "at most 255 allowed");
}
END_TEST

START_TEST(test_set_order_and_nul)
{
	struct domain_reg reg;
	char why[256];

	regimport_reg_init(&reg, NOW);
	ck_assert_int_eq(reg.dmarc_min_policy, -1);
	ck_assert_int_eq(reg.added, NOW);
	ck_assert_int_eq(regimport_set(&reg, REGIMPORT_MAIL_FROM, "mail", 4,
	                               why, sizeof(why)),
	                 -1);
	ck_assert_str_eq(why, "the domain must be set before mail_from");
	ck_assert_int_eq(regimport_set(&reg, REGIMPORT_DOMAIN, "ex\0ample.com",
	                               12, why, sizeof(why)),
	                 -1);
	ck_assert_int_eq(regimport_set(&reg, REGIMPORT_DOMAIN, "example.com", 7,
	                               why, sizeof(why)),
	                 0);
	ck_assert_str_eq(reg.domain, "example");
	ck_assert_int_eq(regimport_set(&reg, REGIMPORT_CONTACT, "a@b\0c", 5,
	                               why, sizeof(why)),
	                 -1);
	ck_assert_str_eq(why, "contains a NUL byte");
	ck_assert_int_eq(
	    regimport_set(&reg, REGIMPORT_NCOLS, "x", 1, why, sizeof(why)), -1);
	ck_assert_ptr_null(regimport_col_name(REGIMPORT_NCOLS));
	ck_assert_str_eq(regimport_col_name(REGIMPORT_EGRESS_IPS),
	                 "egress_ips");
	/* selectors and addresses accumulate; empty clears */
	ck_assert_int_eq(
	    regimport_set(&reg, REGIMPORT_SELECTORS, "a", 1, why, sizeof(why)),
	    0);
	ck_assert_int_eq(
	    regimport_set(&reg, REGIMPORT_SELECTORS, "b", 1, why, sizeof(why)),
	    0);
	ck_assert_uint_eq(reg.nselectors, 2);
	ck_assert_int_eq(
	    regimport_set(&reg, REGIMPORT_SELECTORS, NULL, 0, why, sizeof(why)),
	    0);
	ck_assert_uint_eq(reg.nselectors, 0);
}
END_TEST

START_TEST(test_seen)
{
	struct regimport_seen seen;
	char name[64], e[REGIMPORT_ERR_MAX];
	size_t i;

	regimport_seen_init(&seen);
	ck_assert_int_eq(
	    regimport_seen_add(&seen, "a.example", 2, e, sizeof(e)), 0);
	ck_assert_int_eq(
	    regimport_seen_add(&seen, "b.example", 3, e, sizeof(e)), 0);
	ck_assert_int_eq(
	    regimport_seen_add(&seen, "a.example", 7, e, sizeof(e)), -1);
	ck_assert_str_eq(e, "line 7: domain a.example already given on line 2");
	for (i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "d%zu.example", i);
		if (regimport_seen_add(&seen, name, i + 10, e, sizeof(e)) != 0)
			ck_abort_msg("%s: %s", name, e);
	}
	ck_assert_int_eq(
	    regimport_seen_add(&seen, "d4321.example", 9999, e, sizeof(e)), -1);
	ck_assert_str_eq(e, "line 9999: domain d4321.example already given "
	                    "on line 4331");
	ck_assert_int_eq(
	    regimport_seen_add(&seen, "b.example", 9, e, sizeof(e)), -1);
	ck_assert_uint_eq(seen.count, 5002);
	regimport_seen_free(&seen);
	ck_assert_uint_eq(seen.count, 0);
	regimport_seen_free(&seen);
}
END_TEST

/* A whole file as the CLI will read it: bad lines reported, good kept. */
START_TEST(test_file)
{
	static const char file[] = "\xef\xbb\xbf"
	                           "domain,selectors,contact\r\n"
	                           "a.example,s1,ops@a.example\r\n"
	                           "b..example,s1,\r\n"
	                           "\r\n"
	                           "c.example,\"s1\r\ns2\",\r\n"
	                           "A.example.,s1,\r\n"
	                           "d.example,\"s1,\r\n"
	                           "e.example,,\r\n";
	static const char *want[] = {
	    "ok a.example",
	    "line 3: domain 'b..example': name has an empty label",
	    "ok c.example",
	    "line 7: domain a.example already given on line 2",
	    "line 8: field 2: the quoted field is never closed",
	    "ok e.example",
	};
	struct regimport_columns cols;
	struct regimport_seen seen;
	struct csv_reader rd;
	struct domain_reg reg;
	char e[REGIMPORT_ERR_MAX], got[REGIMPORT_ERR_MAX];
	size_t n = 0;
	int rc;

	regimport_seen_init(&seen);
	csv_init(&rd, file, sizeof(file) - 1);
	ck_assert_int_eq(csv_next(&rd, &hdr_rec, e, sizeof(e)), 1);
	ck_assert_int_eq(regimport_header(&hdr_rec, &cols, e, sizeof(e)), 0);
	while ((rc = csv_next(&rd, &row_rec, e, sizeof(e))) != 0) {
		if (rc == 1 &&
		    regimport_row(&cols, &row_rec, NOW, &reg, e, sizeof(e)) ==
		        0 &&
		    regimport_seen_add(&seen, reg.domain, row_rec.line, e,
		                       sizeof(e)) == 0)
			snprintf(got, sizeof(got), "ok %s", reg.domain);
		else
			snprintf(got, sizeof(got), "%s", e);
		ck_assert_uint_lt(n, sizeof(want) / sizeof(want[0]));
		ck_assert_str_eq(got, want[n]);
		n++;
	}
	ck_assert_uint_eq(n, sizeof(want) / sizeof(want[0]));
	regimport_seen_free(&seen);
}
END_TEST

/* long_domain - a name of n octets: labels of 63 'a' between dots. */
static void
long_domain(char *out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = i % 64 == 63 ? '.' : 'a';
	out[n] = '\0';
	ck_assert_int_ne(out[n - 1], '.');
}

/* validate - regimport_validate() of reg with MailFrom mf, Selector sel. */
static int
validate(const struct domain_reg *reg, const char *mf, const char *sel)
{
	struct regimport_defaults defs = {.mail_from = mf, .selector = sel};

	err[0] = '\0';
	return regimport_validate(reg, &defs, err, sizeof(err));
}

/* validate_fails - refused, and the sentence contains want. */
static void
validate_fails(const struct domain_reg *reg, const char *mf, const char *sel,
               const char *want)
{
	ck_assert_msg(validate(reg, mf, sel) == -1, "%s accepted", reg->domain);
	ck_assert_msg(strstr(err, want) != NULL, "error '%s' lacks '%s'", err,
	              want);
}

START_TEST(test_validate_csv_mail_from)
{
	struct domain_reg reg;

	/* What `domain import` reads, then the judgement `domain add` makes. */
	ck_assert_int_eq(
	    import1("domain,mail_from,selectors,mx,spf_include,egress_ips,"
	            "dmarc_min_policy,contact\n"
	            "example.com,bounce,s1=/k.pem,mx.example.net,"
	            "amazonses.com,192.0.2.1,reject,owner@example.com\n",
	            &reg),
	    0);
	ck_assert_int_eq(validate(&reg, "mail", ""), 0);
	ck_assert_int_eq(import1("domain,mail_from\nexample.com,\n", &reg), 0);
	ck_assert_int_eq(validate(&reg, NULL, NULL), 0);
	ck_assert_int_eq(
	    import1("domain,mail_from\nexample.com,b.sub.example.com\n", &reg),
	    0);
	ck_assert_int_eq(validate(&reg, "mail", ""), 0);

	/* The bare domain, with or without a dot, and outside it. */
	ck_assert_int_eq(
	    import1("domain,mail_from\nexample.com,example.com\n", &reg), 0);
	validate_fails(&reg, "mail", "", "must be a subdomain such as mail.");
	ck_assert_int_eq(
	    import1("domain,mail_from\nexample.com,EXAMPLE.com.\n", &reg), 0);
	validate_fails(&reg, "mail", "", "bare domain");
	ck_assert_int_eq(
	    import1("domain,mail_from\nexample.com,mail.example.net\n", &reg),
	    0);
	validate_fails(&reg, "mail", "", "outside example.com");
	ck_assert_int_eq(
	    import1("domain,mail_from\nsub.example.com,example.com\n", &reg),
	    0);
	validate_fails(&reg, "mail", "", "bare organizational domain");

	/* No value of its own: the config's MailFrom is judged, and named. */
	ck_assert_int_eq(import1("domain\nexample.com\n", &reg), 0);
	validate_fails(&reg, "bounce.operator.net", "",
	               "MailFrom in authready.conf");
	validate_fails(&reg, "example.com", "", "MailFrom in authready.conf");
}
END_TEST

START_TEST(test_validate_lengths)
{
	char dom[DOMAIN_BUF], text[DOMAIN_BUF + 64];
	struct domain_reg reg;

	/* 251 octets: _dmarc. and mail. do not fit. */
	regimport_reg_init(&reg, NOW);
	long_domain(reg.domain, 251);
	validate_fails(&reg, "mail", "", "DMARC record name");
	validate_fails(&reg, "mail", "", "258 octets");
	/* 247: _dmarc. is 254. */
	long_domain(reg.domain, 247);
	validate_fails(&reg, "mail", "", "DMARC record name");
	/* 246: _dmarc. and mail. fit; a longer MailFrom label does not. */
	long_domain(reg.domain, 246);
	ck_assert_int_eq(validate(&reg, "mail", ""), 0);
	ck_assert_int_eq(validate(&reg, NULL, NULL), 0);
	validate_fails(&reg, "bounces", "", "MAIL FROM name (bounces. and");
	memcpy(reg.mail_from, "bounces", 8);
	validate_fails(&reg, "mail", "", "254 octets");
	reg.mail_from[0] = '\0';
	/* ... nor a selector's key name, registered or from the config. */
	validate_fails(&reg, "mail", "1234rpr", "DKIM key name");
	snprintf(text, sizeof(text), "domain,selectors\n%s,1234rpr\n",
	         reg.domain);
	ck_assert_int_eq(import1(text, &reg), -1); /* the setter knew */
	/* 234 octets: the longest domain for selector 1234rpr. */
	long_domain(dom, 234);
	snprintf(text, sizeof(text), "domain,selectors\n%s,1234rpr\n", dom);
	ck_assert_int_eq(import1(text, &reg), 0);
	ck_assert_int_eq(validate(&reg, "mail", ""), 0);
	memcpy(reg.selectors[0].name, "1234rpra", 9);
	validate_fails(&reg, "mail", "", "254 octets");
}
END_TEST

START_TEST(test_names_ok)
{
	const char *sels[] = {"s1", "1234rpr"};
	char dom[DOMAIN_BUF];

	ck_assert_int_eq(
	    regimport_names_ok("example.com", NULL, sels, 2, err, sizeof(err)),
	    0);
	ck_assert_int_eq(regimport_names_ok("example.com", "bounce.example.com",
	                                    NULL, 0, err, sizeof(err)),
	                 0);
	/* the seed rule is not judged here: the check reports it */
	ck_assert_int_eq(regimport_names_ok("example.com", "example.com", NULL,
	                                    0, err, sizeof(err)),
	                 0);
	ck_assert_int_eq(regimport_names_ok("example.com", "a..b", NULL, 0, err,
	                                    sizeof(err)),
	                 -1);
	long_domain(dom, 239);
	ck_assert_int_eq(
	    regimport_names_ok(dom, "mail", sels, 1, err, sizeof(err)), 0);
	ck_assert_int_eq(
	    regimport_names_ok(dom, "mail", sels, 2, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "1234rpr._domainkey."));
	/* a complete MAIL FROM name is not joined to the domain */
	long_domain(dom, 246);
	ck_assert_int_eq(
	    regimport_names_ok(dom, "m.example.com", NULL, 0, err, sizeof(err)),
	    0);
}
END_TEST

START_TEST(test_validate_hostile_entry)
{
	struct domain_reg good, reg;

	/* An entry built by other code (an API) is judged field by field. */
	ck_assert_int_eq(import1("domain,selectors,egress_ips,contact\n"
	                         "example.com,s1=/k.pem,192.0.2.1,"
	                         "o@example.com\n",
	                         &good),
	                 0);
	ck_assert_int_eq(validate(&good, "mail", ""), 0);
	reg = good;
	reg.domain[0] = '\0';
	validate_fails(&reg, "mail", "", "a domain is required");
	reg = good;
	memcpy(reg.domain, "Example.COM", 12);
	validate_fails(&reg, "mail", "", "normalized form example.com");
	reg = good;
	memset(reg.domain, 'a', sizeof(reg.domain));
	validate_fails(&reg, "mail", "", "a domain is required");
	reg = good;
	memcpy(reg.selectors[0].name, "S1", 3);
	validate_fails(&reg, "mail", "", "selector 'S1'");
	reg = good;
	reg.nselectors = 2;
	reg.selectors[1] = reg.selectors[0];
	validate_fails(&reg, "mail", "", "given twice");
	reg = good;
	reg.nselectors = 9;
	validate_fails(&reg, "mail", "", "more than 8 selectors");
	reg = good;
	memcpy(reg.selectors[0].key_path, "k.pem", 6);
	validate_fails(&reg, "mail", "", "not an absolute path");
	reg = good;
	memcpy(reg.mx_host, "a..b", 5);
	validate_fails(&reg, "mail", "", "empty label");
	reg = good;
	memcpy(reg.spf_include, "Amazonses.com", 14);
	validate_fails(&reg, "mail", "", "spf_include 'Amazonses.com'");
	reg = good;
	memcpy(reg.egress[0], "192.0.2.300", 12);
	validate_fails(&reg, "mail", "", "'192.0.2.300'");
	reg = good;
	reg.negress = 2;
	memcpy(reg.egress[1], reg.egress[0], sizeof(reg.egress[0]));
	validate_fails(&reg, "mail", "", "given twice");
	reg = good;
	reg.dmarc_min_policy = 7;
	validate_fails(&reg, "mail", "", "dmarc_min_policy 7");
	reg = good;
	memcpy(reg.contact, "o@example.com\nBcc: x@y", 23);
	validate_fails(&reg, "mail", "", "not a plain address");
	reg = good;
	memcpy(reg.mail_from, "-x", 3);
	ck_assert_int_eq(validate(&reg, "mail", ""), -1);
}
END_TEST

static Suite *
regimport_suite(void)
{
	Suite *s = suite_create("regimport");
	TCase *tc = tcase_create("import");

	tcase_add_test(tc, test_header_variants);
	tcase_add_test(tc, test_header_errors);
	tcase_add_test(tc, test_full_row);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_field_count_mismatch);
	tcase_add_test(tc, test_domain);
	tcase_add_test(tc, test_mail_from);
	tcase_add_test(tc, test_selectors);
	tcase_add_test(tc, test_selector_api);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_egress);
	tcase_add_test(tc, test_policy);
	tcase_add_test(tc, test_contact);
	tcase_add_test(tc, test_set_order_and_nul);
	tcase_add_test(tc, test_seen);
	tcase_add_test(tc, test_file);
	tcase_add_test(tc, test_validate_csv_mail_from);
	tcase_add_test(tc, test_validate_lengths);
	tcase_add_test(tc, test_names_ok);
	tcase_add_test(tc, test_validate_hostile_entry);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(regimport_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
