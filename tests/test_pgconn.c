/*
 * test_pgconn.c - StoreDSN checks and failure classes, without a server.
 *
 * SYNOPSIS
 *	make check TESTS=tests/test_pgconn
 *
 * DESCRIPTION
 *	What pgconn_open() decides before and without a database: no
 *	StoreDSN, a malformed one, a password file that is missing or empty
 *	(all PGCONN_CONFIG, exit 78), and a loopback port nothing listens on
 *	(PGCONN_DOWN, exit 75).  Also the exit code table, HostName, and the
 *	one-step-per-version rule of pgschema.c.  tests/integration/fleet.sh
 *	covers what needs a real PostgreSQL.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "configfile.h"
#include "pgcheck.h"
#include "pgconn.h"
#include "pgoutbox.h"
#include "pgschema.h"

static char tmpdir[256];

/* setup - a private directory for password files. */
static void
setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/pgconn.XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

/* teardown - remove what setup and the tests made. */
static void
teardown(void)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/pw", tmpdir);
	unlink(path);
	rmdir(tmpdir);
}

/* open_fails - pgconn_open on dsn (and password file) gives want. */
static void
open_fails(const char *dsn, const char *pwfile, int want, const char *msg)
{
	struct config cfg;
	char err[PGCONN_ERR_MAX];
	PGconn *conn = (PGconn *)&cfg;

	config_defaults(&cfg);
	snprintf(cfg.store_dsn, sizeof(cfg.store_dsn), "%s", dsn);
	if (pwfile != NULL)
		snprintf(cfg.store_dsn_password_file,
		         sizeof(cfg.store_dsn_password_file), "%s", pwfile);
	err[0] = '\0';
	ck_assert_int_eq(pgconn_open(&cfg, &conn, err, sizeof(err)), want);
	ck_assert_ptr_null(conn);
	ck_assert_msg(strstr(err, msg) != NULL, "'%s' lacks '%s'", err, msg);
}

START_TEST(test_no_dsn)
{
	open_fails("", NULL, PGCONN_CONFIG, "no StoreDSN");
}
END_TEST

START_TEST(test_malformed_dsn)
{
	open_fails("postgresql://u:secret@127.0.0.1:%zz/db", NULL,
	           PGCONN_CONFIG, "StoreDSN is malformed");
	open_fails("host=127.0.0.1 nosuchkey=1", NULL, PGCONN_CONFIG,
	           "StoreDSN is malformed");
}
END_TEST

START_TEST(test_password_file)
{
	char path[PATH_MAX];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/pw", tmpdir);
	open_fails("postgresql://u@127.0.0.1:1/db", path, PGCONN_CONFIG,
	           "StoreDSNPasswordFile");
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("\nsecret\n", fp);
	fclose(fp);
	open_fails("postgresql://u@127.0.0.1:1/db", path, PGCONN_CONFIG,
	           "the first line is empty");
}
END_TEST

START_TEST(test_down)
{
	char path[PATH_MAX];
	FILE *fp;

	/* Port 1 on loopback: nothing listens; the password is not shown. */
	snprintf(path, sizeof(path), "%s/pw", tmpdir);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("s3cr3t-pw\n", fp);
	fclose(fp);
	open_fails("postgresql://u@127.0.0.1:1/db?connect_timeout=2", path,
	           PGCONN_DOWN, "not reachable");
}
END_TEST

START_TEST(test_exit_codes)
{
	ck_assert_int_eq(pgconn_exit(PGCONN_OK), 0);
	ck_assert_int_eq(pgconn_exit(PGCONN_CONFIG), 78);
	ck_assert_int_eq(pgconn_exit(PGCONN_REFUSED), 69);
	ck_assert_int_eq(pgconn_exit(PGCONN_DOWN), 75);
	ck_assert_int_eq(pgconn_exit(PGCONN_FAILED), 69);
}
END_TEST

START_TEST(test_host_name)
{
	struct config cfg;
	char name[CONFIG_HOST_NAME_MAX], sys[CONFIG_HOST_NAME_MAX], err[256];

	config_defaults(&cfg);
	ck_assert_int_eq(
	    pgconn_host_name(&cfg, name, sizeof(name), err, sizeof(err)), 0);
	ck_assert_int_eq(gethostname(sys, sizeof(sys)), 0);
	ck_assert_str_eq(name, sys);
	snprintf(cfg.host_name, sizeof(cfg.host_name), "mx1.example.net");
	ck_assert_int_eq(
	    pgconn_host_name(&cfg, name, sizeof(name), err, sizeof(err)), 0);
	ck_assert_str_eq(name, "mx1.example.net");
	ck_assert_int_eq(pgconn_host_name(&cfg, name, 4, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_schema_steps)
{
	ck_assert_uint_eq(pgschema_steps(), PGSCHEMA_VERSION);
	ck_assert_ptr_nonnull(strstr(pgschema_grants(), "authready_replica"));
	/* version 2: what the checkers need */
	ck_assert_ptr_nonnull(strstr(pgschema_grants(), "authready_checks"));
	ck_assert_ptr_nonnull(strstr(pgschema_grants(), "authready_notices"));
	ck_assert_ptr_nonnull(strstr(pgschema_grants(),
	                             "SEQUENCE authready_lease_token TO "
	                             "authready_checker"));
	/* version 3: the webhook outbox, written by the checkers and
	 * emptied by every host's webhookd (the replica's role) */
	ck_assert_ptr_nonnull(strstr(pgschema_grants(),
	                             "DELETE ON authready_webhook_outbox\n"
	                             "    TO authready_checker, "
	                             "authready_replica"));
	ck_assert_ptr_nonnull(
	    strstr(pgschema_grants(), "authready_webhook_outbox_seq_seq"));
}
END_TEST

START_TEST(test_lease_ms)
{
	/* longer than a check can take, whatever CheckTimeout is */
	ck_assert_uint_eq(pgcheck_lease_ms(2000), 2 * 2000 + 5000);
	ck_assert_uint_gt(pgcheck_lease_ms(30000), 30000);
	ck_assert_uint_eq(pgcheck_lease_ms(0), PGCHECK_LEASE_SLACK_MS);
	ck_assert_uint_eq(pgcheck_lease_ms(4000000000U), 86400000U);
}

START_TEST(test_outbox_lease_ms)
{
	/* a claimed event outlives two attempts of WebhookTimeout */
	ck_assert_uint_eq(pgoutbox_lease_ms(2000),
	                  2 * 2000 + PGOUTBOX_LEASE_SLACK_MS);
	ck_assert_uint_gt(pgoutbox_lease_ms(10000), 2 * 10000);
	ck_assert_uint_eq(pgoutbox_lease_ms(4000000000U), 86400000U);
}
END_TEST
END_TEST

/* pgconn_suite - the tests. */
static Suite *
pgconn_suite(void)
{
	Suite *s = suite_create("pgconn");
	TCase *tc = tcase_create("open");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_no_dsn);
	tcase_add_test(tc, test_malformed_dsn);
	tcase_add_test(tc, test_password_file);
	tcase_add_test(tc, test_down);
	tcase_add_test(tc, test_exit_codes);
	tcase_add_test(tc, test_host_name);
	tcase_add_test(tc, test_schema_steps);
	tcase_add_test(tc, test_lease_ms);
	tcase_add_test(tc, test_outbox_lease_ms);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(pgconn_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
