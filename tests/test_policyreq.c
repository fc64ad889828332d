/*
 * test_policyreq.c - the Postfix policy request parser and the mapping
 *	of requests to facts and of decisions to replies.
 *
 * SYNOPSIS
 *	make check TESTS=tests/test_policyreq
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policymap.h"
#include "policyreq.h"

static const char full[] = "request=smtpd_access_policy\n"
                           "protocol_state=RCPT\n"
                           "protocol_name=ESMTP\n"
                           "client_address=192.0.2.7\n"
                           "client_name=mail.example.com\n"
                           "sender=bounces@mail.example.com\n"
                           "recipient=a@example.net\n"
                           "queue_id=\n"
                           "instance=1a2b.5f0a1c2d.3e4f.0\n"
                           "sasl_username=alice\n"
                           "ccert_subject=\n"
                           "future_attribute=whatever=it is\n"
                           "\n";

/* parse - a C string; the parser's return, err filled. */
static int
parse(const char *s, struct policyreq *r, char *err, size_t errlen)
{
	err[0] = '\0';
	return policyreq_parse(s, strlen(s), r, err, errlen);
}

START_TEST(test_full_request)
{
	struct policyreq r;
	char err[160];

	ck_assert_int_eq(policyreq_end(full, strlen(full)), strlen(full));
	ck_assert_int_eq(parse(full, &r, err, sizeof(err)), 0);
	ck_assert_str_eq(r.request, "smtpd_access_policy");
	ck_assert_str_eq(r.protocol_state, "RCPT");
	ck_assert_str_eq(r.client_address, "192.0.2.7");
	ck_assert_str_eq(r.sender, "bounces@mail.example.com");
	ck_assert_str_eq(r.queue_id, "");
	ck_assert_str_eq(r.instance, "1a2b.5f0a1c2d.3e4f.0");
	ck_assert_str_eq(r.sasl_username, "alice");
	ck_assert(r.have_sender);
}
END_TEST

START_TEST(test_end)
{
	static char big[POLICYREQ_MAX + 10];

	ck_assert_int_eq(policyreq_end("a=b\n", 4), 0);
	ck_assert_int_eq(policyreq_end("a=b\n\n", 5), 5);
	ck_assert_int_eq(policyreq_end("a=b\n\nc=d\n\n", 10), 5);
	ck_assert_int_eq(policyreq_end("\n", 1), 1);
	ck_assert_int_eq(policyreq_end("", 0), 0);
	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(policyreq_end(big, POLICYREQ_MAX - 1), 0);
	ck_assert_int_eq(policyreq_end(big, POLICYREQ_MAX), -1);
	ck_assert_int_eq(policyreq_end(big, sizeof(big)), -1);
	/* an end past the bound is not looked for */
	big[POLICYREQ_MAX + 1] = '\n';
	big[POLICYREQ_MAX + 2] = '\n';
	ck_assert_int_eq(policyreq_end(big, sizeof(big)), -1);
}
END_TEST

START_TEST(test_refused)
{
	static const char *const bad[] = {
	    "\n",
	    "garbage\n\n",
	    "=value\n\n",
	    "sender=a@b\nsender=c@d\n\n",
	    "sender=a@b\n\nprotocol_state=RCPT\n",
	    "a=b\n\n\n",
	};
	struct policyreq r;
	char err[160];

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		ck_assert_msg(parse(bad[i], &r, err, sizeof(err)) == -1,
		              "accepted case %zu", i);
		ck_assert_msg(err[0] != '\0', "no message for case %zu", i);
	}
	ck_assert_int_eq(
	    policyreq_parse("sender=a\0b\n\n", 12, &r, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "NUL"));
}
END_TEST

START_TEST(test_bounds)
{
	static char buf[POLICYREQ_MAX + 64];
	struct policyreq r;
	char err[160];
	size_t n;

	/* a kept attribute longer than its field: refused, named */
	n = (size_t)snprintf(buf, sizeof(buf), "instance=");
	memset(buf + n, 'i', POLICYREQ_SHORT_MAX);
	strcpy(buf + n + POLICYREQ_SHORT_MAX, "\n\n");
	ck_assert_int_eq(parse(buf, &r, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "instance over 63 octets"));
	/* exactly fits */
	buf[n + POLICYREQ_SHORT_MAX - 1] = '\n';
	buf[n + POLICYREQ_SHORT_MAX] = '\n';
	buf[n + POLICYREQ_SHORT_MAX + 1] = '\0';
	ck_assert_int_eq(parse(buf, &r, err, sizeof(err)), 0);
	ck_assert_uint_eq(strlen(r.instance), POLICYREQ_SHORT_MAX - 1);
	/* an unknown attribute may be long; the request may not */
	n = (size_t)snprintf(buf, sizeof(buf), "ccert_subject=");
	memset(buf + n, 's', 9000);
	strcpy(buf + n + 9000, "\n\n");
	ck_assert_int_eq(parse(buf, &r, err, sizeof(err)), 0);
	memset(buf + n, 's', POLICYREQ_MAX);
	strcpy(buf + n + POLICYREQ_MAX, "\n\n");
	ck_assert_int_eq(
	    policyreq_parse(buf, strlen(buf), &r, err, sizeof(err)), -1);
	/* the parser never reads past len: a request cut inside a value */
	ck_assert_int_eq(
	    policyreq_parse("sender=abcdef\n\n", 9, &r, err, sizeof(err)), 0);
	ck_assert_str_eq(r.sender, "ab");
}
END_TEST

START_TEST(test_stage_path_client)
{
	struct sockaddr_storage ss;
	struct policyreq r;
	char path[64];

	ck_assert_int_eq(policymap_stage("RCPT"), POLICYMAP_RCPT);
	ck_assert_int_eq(policymap_stage("MAIL"), POLICYMAP_MAIL);
	ck_assert_int_eq(policymap_stage("DATA"), POLICYMAP_DATA);
	ck_assert_int_eq(policymap_stage("END-OF-MESSAGE"), POLICYMAP_EOM);
	ck_assert_int_eq(policymap_stage("CONNECT"), POLICYMAP_OTHER);
	ck_assert_int_eq(policymap_stage("rcpt"), POLICYMAP_OTHER);
	ck_assert_int_eq(policymap_stage(""), POLICYMAP_OTHER);
	memset(&r, 0, sizeof(r));
	policymap_path(&r, path, sizeof(path));
	ck_assert_str_eq(path, "<>"); /* the null sender */
	strcpy(r.sender, "a@example.com");
	policymap_path(&r, path, sizeof(path));
	ck_assert_str_eq(path, "<a@example.com>");
	ck_assert(policymap_client("192.0.2.1", &ss));
	ck_assert_int_eq(ss.ss_family, AF_INET);
	ck_assert(policymap_client("2001:db8::1", &ss));
	ck_assert_int_eq(ss.ss_family, AF_INET6);
	ck_assert(!policymap_client("unknown", &ss));
	ck_assert(!policymap_client("", &ss));
}
END_TEST

/* txn - a transaction decided with action a. */
static void
txn(struct policymap_txn *t, const char *instance, enum policy_action a)
{
	struct policyreq r;

	memset(&r, 0, sizeof(r));
	strcpy(r.instance, instance);
	memset(t, 0, sizeof(*t));
	ck_assert(policymap_enter(t, &r, POLICYMAP_RCPT));
	t->decided = t->judged = true;
	t->d.action = a;
	t->d.would_be = a;
}

START_TEST(test_once_per_transaction)
{
	struct policymap_txn t;
	struct policyreq r;

	memset(&r, 0, sizeof(r));
	memset(&t, 0, sizeof(t));
	strcpy(r.instance, "abc.1");
	ck_assert(policymap_enter(&t, &r, POLICYMAP_RCPT));
	t.decided = true;
	/* the next recipient, and DATA: answered from the decision */
	ck_assert(!policymap_enter(&t, &r, POLICYMAP_RCPT));
	ck_assert(!policymap_enter(&t, &r, POLICYMAP_EOM));
	/* a stage that is not judged */
	strcpy(r.instance, "abc.2");
	ck_assert(!policymap_enter(&t, &r, POLICYMAP_OTHER));
	ck_assert(!t.decided);
	/* a new instance: a new transaction */
	ck_assert(policymap_enter(&t, &r, POLICYMAP_MAIL));
	t.decided = true;
	strcpy(r.instance, "abc.3");
	ck_assert(policymap_enter(&t, &r, POLICYMAP_RCPT));
	/* no instance: every request is its own */
	r.instance[0] = '\0';
	t.decided = true;
	ck_assert(policymap_enter(&t, &r, POLICYMAP_RCPT));
}
END_TEST

START_TEST(test_replies)
{
	struct policymap_txn t;
	char out[POLICYMAP_REPLY_MAX];

	txn(&t, "i.1", POLICY_REJECT);
	strcpy(t.d.smtp_code, "550");
	strcpy(t.d.xcode, "5.7.1");
	strcpy(t.d.text, "domain x is 100%% not ready");
	policymap_reply(&t, POLICYMAP_RCPT, "X-Authready", false, out,
	                sizeof(out));
	ck_assert_str_eq(out,
	                 "action=550 5.7.1 domain x is 100% not ready\n\n");
	/* every recipient is refused */
	policymap_reply(&t, POLICYMAP_RCPT, "X-Authready", false, out,
	                sizeof(out));
	ck_assert_str_eq(out,
	                 "action=550 5.7.1 domain x is 100% not ready\n\n");

	txn(&t, "i.2", POLICY_TEMPFAIL);
	strcpy(t.d.smtp_code, "451");
	strcpy(t.d.xcode, "4.4.3");
	strcpy(t.d.text, "DNS\r\ntrouble");
	policymap_reply(&t, POLICYMAP_RCPT, "X-Authready", false, out,
	                sizeof(out));
	ck_assert_str_eq(out, "action=451 4.4.3 DNS??trouble\n\n");

	txn(&t, "i.3", POLICY_QUARANTINE);
	strcpy(t.d.reason, "pending: DKIM missing");
	policymap_reply(&t, POLICYMAP_RCPT, "X-Authready", false, out,
	                sizeof(out));
	ck_assert_str_eq(out,
	                 "action=HOLD authready: pending: DKIM missing\n\n");
	ck_assert(t.marked);
	policymap_reply(&t, POLICYMAP_RCPT, "X-Authready", false, out,
	                sizeof(out));
	ck_assert_str_eq(out, "action=DUNNO\n\n");

	txn(&t, "i.4", POLICY_TAG);
	strcpy(t.d.tag_value, "degraded; fix SPF");
	policymap_reply(&t, POLICYMAP_RCPT, "X-Authready", true, out,
	                sizeof(out));
	ck_assert_str_eq(out,
	                 "action=PREPEND X-Authready: degraded; fix SPF\n\n");
	policymap_reply(&t, POLICYMAP_EOM, "X-Authready", true, out,
	                sizeof(out));
	ck_assert_str_eq(out, "action=OK\n\n");

	txn(&t, "i.5", POLICY_MONITOR);
	t.d.would_be = POLICY_REJECT;
	strcpy(t.d.smtp_code, "550");
	policymap_reply(&t, POLICYMAP_RCPT, "X-Authready", false, out,
	                sizeof(out));
	ck_assert_str_eq(out, "action=DUNNO\n\n");

	txn(&t, "i.6", POLICY_ACCEPT);
	policymap_reply(&t, POLICYMAP_RCPT, "X-Authready", true, out,
	                sizeof(out));
	ck_assert_str_eq(out, "action=OK\n\n");

	/* out of scope, or a stage not judged: pass */
	txn(&t, "i.7", POLICY_REJECT);
	strcpy(t.d.smtp_code, "550");
	t.judged = false;
	policymap_reply(&t, POLICYMAP_RCPT, "X-Authready", false, out,
	                sizeof(out));
	ck_assert_str_eq(out, "action=DUNNO\n\n");
	t.judged = true;
	policymap_reply(&t, POLICYMAP_OTHER, "X-Authready", false, out,
	                sizeof(out));
	ck_assert_str_eq(out, "action=DUNNO\n\n");
}
END_TEST

START_TEST(test_reply_bounded)
{
	struct policymap_txn t;
	char out[32];

	txn(&t, "i.8", POLICY_REJECT);
	strcpy(t.d.smtp_code, "550");
	strcpy(t.d.xcode, "5.7.1");
	memset(t.d.text, 'x', 300);
	t.d.text[300] = '\0';
	policymap_reply(&t, POLICYMAP_RCPT, "X", false, out, sizeof(out));
	ck_assert_uint_eq(strlen(out), sizeof(out) - 1);
	ck_assert_str_eq(out + strlen(out) - 2, "\n\n");
	ck_assert(strncmp(out, "action=550 5.7.1 xxx", 20) == 0);
}
END_TEST

static Suite *
policyreq_suite(void)
{
	Suite *s = suite_create("policyreq");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_full_request);
	tcase_add_test(tc, test_end);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_stage_path_client);
	tcase_add_test(tc, test_once_per_transaction);
	tcase_add_test(tc, test_replies);
	tcase_add_test(tc, test_reply_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(policyreq_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
