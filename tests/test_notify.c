/*
 * test_notify.c - confirmation mail and the subprocess runner, with a
 * sendmail stand-in (a shell script in a private directory) that records
 * its argv and its input.
 *
 * SYNOPSIS
 *	make check TESTS=tests/test_notify
 */
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "notify.h"
#include "subprocess.h"

static char dir[64];

static void
write_script(const char *name, const char *body)
{
	char path[128];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fprintf(fp, "#!/bin/sh\n%s\n", body);
	fclose(fp);
	chmod(path, 0700);
}

static char *
read_file(const char *name)
{
	static char buf[16384];
	char path[128];
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "r");
	ck_assert_ptr_nonnull(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static void
setup(void)
{
	char cmd[256];

	snprintf(dir, sizeof(dir), "/tmp/authready-notify-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd),
	         "printf '%%s\\n' \"$@\" > %s/argv; cat > %s/input; "
	         "env > %s/env; exit 0",
	         dir, dir, dir);
	write_script("sendmail", cmd);
}

static int
remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
teardown(void)
{
	nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void
seed_state(struct domain_state *st)
{
	memset(st, 0, sizeof(*st));
	snprintf(st->domain, sizeof(st->domain), "example.com");
	st->nrecords = 2;
	st->records[0].type = CHECK_MX;
	snprintf(st->records[0].name, sizeof(st->records[0].name),
	         "mail.example.com");
	st->records[1].type = CHECK_DKIM;
	snprintf(st->records[1].name, sizeof(st->records[1].name),
	         "1234rpr._domainkey.example.com");
}

START_TEST(test_compose)
{
	struct domain_state st;
	char buf[NOTIFY_MESSAGE_MAX];
	int n;

	seed_state(&st);
	n = notify_compose(&st, "owner@example.com", "postmaster@op.example",
	                   1700000000, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_ptr_nonnull(strstr(buf, "To: owner@example.com\n"));
	ck_assert_ptr_nonnull(strstr(buf, "From: postmaster@op.example\n"));
	ck_assert_ptr_nonnull(strstr(buf, "Subject: example.com is ready"));
	ck_assert_ptr_nonnull(strstr(buf, "Date: Tue, 14 Nov 2023 22:13:20"));
	ck_assert_ptr_nonnull(
	    strstr(buf, "dkim  1234rpr._domainkey.example.com"));
	ck_assert_int_eq(notify_compose(&st, "owner@example.com", "p@x",
	                                1700000000, buf, 100),
	                 -1);
}
END_TEST

START_TEST(test_message_id)
{
	char id[128];

	ck_assert_int_eq(notify_message_id("example.com", 42,
	                                   "noreply@operator.test", id,
	                                   sizeof(id)),
	                 0);
	ck_assert_str_eq(id, "<authready.42.example.com@operator.test>");
	/* the same notice, the same id: a resend is recognized */
	ck_assert_int_eq(notify_message_id("example.com", 43,
	                                   "noreply@operator.test", id,
	                                   sizeof(id)),
	                 0);
	ck_assert_str_eq(id, "<authready.43.example.com@operator.test>");
	ck_assert_int_eq(
	    notify_message_id("example.com", 1, "no-domain", id, sizeof(id)),
	    -1);
	ck_assert_int_eq(
	    notify_message_id("example.com", 1, "a@", id, sizeof(id)), -1);
	ck_assert_int_eq(
	    notify_message_id("example.com", 1, "a@b.example", id, 10), -1);
}
END_TEST

START_TEST(test_compose_id)
{
	struct domain_state st;
	char buf[NOTIFY_MESSAGE_MAX];
	int n;

	seed_state(&st);
	n = notify_compose_id(
	    &st, "owner@example.com", "p@op.example", 1700000000,
	    "<authready.7.example.com@op.example>", buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_ptr_nonnull(strstr(
	    buf, "\nMessage-ID: <authready.7.example.com@op.example>\n"));
	ck_assert_ptr_nonnull(strstr(buf, "To: owner@example.com\n"));
	/* the single-host message is unchanged: no Message-ID */
	n = notify_compose(&st, "owner@example.com", "p@op.example", 1700000000,
	                   buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_ptr_null(strstr(buf, "Message-ID"));
	/* no header injection through the id */
	ck_assert_int_eq(
	    notify_compose_id(&st, "owner@example.com", "p@op.example", 0,
	                      "<a@b>\r\nBcc: x@evil.example", buf, sizeof(buf)),
	    -1);
}
END_TEST

START_TEST(test_address_injection)
{
	struct domain_state st;
	char buf[NOTIFY_MESSAGE_MAX];

	seed_state(&st);
	ck_assert(address_plain_ok("a.b+c@example.com"));
	ck_assert(!address_plain_ok("a@example.com\nBcc: x@evil.example"));
	ck_assert(!address_plain_ok("a@b@c"));
	ck_assert(!address_plain_ok("@example.com"));
	ck_assert(!address_plain_ok("a@"));
	ck_assert(!address_plain_ok("A <a@example.com>"));
	ck_assert(!address_plain_ok(""));
	ck_assert_int_eq(
	    notify_compose(&st, "a@x\r\nBcc: y@z", "p@x", 0, buf, sizeof(buf)),
	    -1);
}
END_TEST

START_TEST(test_send_records_argv_and_input)
{
	char cmd[128], err[256];
	const char *msg = "To: a@example.com\n\n.\nbody\n";

	snprintf(cmd, sizeof(cmd), "%s/sendmail -t -oi", dir);
	ck_assert_int_eq(notify_send(cmd, msg, strlen(msg), err, sizeof(err)),
	                 0);
	ck_assert_str_eq(read_file("argv"), "-t\n-oi\n");
	ck_assert_str_eq(read_file("input"), msg);
	/* a minimal environment: PATH only */
	ck_assert_ptr_nonnull(strstr(read_file("env"), "PATH=/usr/sbin"));
	ck_assert_ptr_null(strstr(read_file("env"), "HOME="));
}
END_TEST

START_TEST(test_send_failure_reported)
{
	char cmd[128], err[256];

	write_script(
	    "fail",
	    "cat >/dev/null; printf 'queue \\033full\\r\\n' >&2; exit 75");
	snprintf(cmd, sizeof(cmd), "%s/fail", dir);
	ck_assert_int_eq(notify_send(cmd, "x", 1, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "status 75: queue \\x1bfull"));
	ck_assert_int_eq(notify_send("sendmail -t", "x", 1, err, sizeof(err)),
	                 -1);
	ck_assert_int_eq(notify_send("", "x", 1, err, sizeof(err)), -1);
	ck_assert_int_eq(
	    notify_send("/nonexistent/sendmail", "x", 1, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/sendmail"));
}
END_TEST

START_TEST(test_run_timeout_and_early_exit)
{
	char path[128], err[256];
	const char *argv[2] = {path, NULL};
	static char big[1 << 20];
	time_t t0;

	write_script("slow", "exec sleep 10");
	snprintf(path, sizeof(path), "%s/slow", dir);
	t0 = time(NULL);
	ck_assert_int_eq(subprocess_run(argv, "", 0, 300, err, sizeof(err)),
	                 -1);
	ck_assert_ptr_nonnull(strstr(err, "killed"));
	ck_assert_int_le(time(NULL) - t0, 3);

	/* exits without reading 1 MiB of input: EPIPE, no SIGPIPE death */
	write_script("early", "exit 3");
	snprintf(path, sizeof(path), "%s/early", dir);
	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(
	    subprocess_run(argv, big, sizeof(big), 5000, err, sizeof(err)), 3);
	write_script("signal", "kill -9 $$");
	snprintf(path, sizeof(path), "%s/signal", dir);
	ck_assert_int_eq(subprocess_run(argv, "", 0, 5000, err, sizeof(err)),
	                 -1);
	ck_assert_ptr_nonnull(strstr(err, "signal 9"));
}
END_TEST

/* lines_cb - collect "[line]" for each line. */
static void
lines_cb(void *ctx, const char *line, size_t len)
{
	char *out = ctx;

	strcat(out, "[");
	strncat(out, line, len);
	strcat(out, "]");
}

START_TEST(test_lines)
{
	char path[128], err[256];
	const char *argv[2] = {path, NULL};
	static char got[4096];
	size_t skipped;
	time_t t0;

	/* lines as they come, an overlong one skipped, a last one without
	 * a newline, stderr kept apart */
	write_script("lister",
	             "echo one; echo 0123456789abcdef; echo >&2 noise; echo; "
	             "printf 'two'");
	snprintf(path, sizeof(path), "%s/lister", dir);
	got[0] = '\0';
	ck_assert_int_eq(subprocess_lines(argv, lines_cb, got, 8, &skipped,
	                                  5000, err, sizeof(err)),
	                 0);
	ck_assert_str_eq(got, "[one][][two]");
	ck_assert_uint_eq(skipped, 1);

	/* much more output than the pipe holds, in bounded memory */
	write_script("many", "i=0; while [ $i -lt 20000 ]; do "
	                     "echo line$i; i=$((i + 1)); done");
	snprintf(path, sizeof(path), "%s/many", dir);
	got[0] = '\0';
	ck_assert_int_eq(subprocess_lines(argv, lines_cb, got, 1, &skipped,
	                                  20000, err, sizeof(err)),
	                 0);
	ck_assert_uint_eq(skipped, 20000);

	write_script("fails", "echo partial; echo 'no queue' >&2; exit 69");
	snprintf(path, sizeof(path), "%s/fails", dir);
	got[0] = '\0';
	ck_assert_int_eq(subprocess_lines(argv, lines_cb, got, 64, &skipped,
	                                  5000, err, sizeof(err)),
	                 69);
	ck_assert_ptr_nonnull(strstr(err, "status 69: no queue"));

	write_script("slow", "echo first; exec sleep 10");
	snprintf(path, sizeof(path), "%s/slow", dir);
	t0 = time(NULL);
	ck_assert_int_eq(subprocess_lines(argv, lines_cb, got, 64, &skipped,
	                                  300, err, sizeof(err)),
	                 -1);
	ck_assert_ptr_nonnull(strstr(err, "killed"));
	ck_assert_int_le(time(NULL) - t0, 3);
}
END_TEST

START_TEST(test_split)
{
	char words[] = "/usr/sbin/sendmail  -t\t-oi";
	char rel[] = "sendmail -t";
	char many[] = "/a 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16";
	const char *argv[SUBPROCESS_ARGS_MAX];

	ck_assert_int_eq(subprocess_split(words, argv, SUBPROCESS_ARGS_MAX), 3);
	ck_assert_str_eq(argv[0], "/usr/sbin/sendmail");
	ck_assert_str_eq(argv[2], "-oi");
	ck_assert_ptr_null(argv[3]);
	ck_assert_int_eq(subprocess_split(rel, argv, SUBPROCESS_ARGS_MAX), -1);
	ck_assert_int_eq(subprocess_split(many, argv, SUBPROCESS_ARGS_MAX), -1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("notify");
	TCase *tc = tcase_create("notify");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_compose);
	tcase_add_test(tc, test_address_injection);
	tcase_add_test(tc, test_message_id);
	tcase_add_test(tc, test_compose_id);
	tcase_add_test(tc, test_send_records_argv_and_input);
	tcase_add_test(tc, test_send_failure_reported);
	tcase_add_test(tc, test_run_timeout_and_early_exit);
	tcase_add_test(tc, test_split);
	tcase_add_test(tc, test_lines);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
