/*
 * test_safefile.c - whole-file reads that never block and stay bounded.
 *
 * SYNOPSIS
 *	make check TESTS=tests/test_safefile
 *
 * DESCRIPTION
 *	Check runs every test in a child with a timeout (4 s by default), so
 *	an open or a read that blocks fails its test instead of hanging.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "safefile.h"

static char tmpdir[256];

/* path_of - tmpdir/name in a static buffer. */
static const char *
path_of(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

/* write_file - tmpdir/name with len octets of text; returns the path. */
static const char *
write_file(const char *name, const char *text, size_t len)
{
	const char *path = path_of(name);
	FILE *fp = fopen(path, "wb");

	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(text, 1, len, fp), len);
	ck_assert_int_eq(fclose(fp), 0);
	return path;
}

/* refused - safefile_read and safefile_check of path fail with want. */
static void
refused(const char *path, size_t max, const char *want)
{
	char err[SAFEFILE_ERR_MAX], *buf = NULL;
	size_t len = 0;

	err[0] = '\0';
	ck_assert_int_eq(
	    safefile_read(path, max, 0, &buf, &len, NULL, err, sizeof(err)),
	    -1);
	ck_assert_ptr_null(buf);
	ck_assert_msg(strstr(err, want) != NULL, "'%s' lacks '%s'", err, want);
	ck_assert_msg(strncmp(err, path, strlen(path)) == 0,
	              "'%s' does not start with the path", err);
	err[0] = '\0';
	ck_assert_int_eq(safefile_check(path, max, NULL, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, want) != NULL, "'%s' lacks '%s'", err, want);
}

static void
setup(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/test_safefile.XXXXXX",
	         base != NULL && *base != '\0' ? base : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	chmod(tmpdir, 0755);
}

static void
teardown(void)
{
	static const char *const names[] = {"f",    "empty", "fifo",  "dir",
	                                    "sock", "big",   "secret"};
	size_t i;

	/* only files this test made, in a directory it made */
	for (i = 0; i < sizeof(names) / sizeof(*names); i++) {
		unlink(path_of(names[i]));
		rmdir(path_of(names[i]));
	}
	rmdir(tmpdir);
}

START_TEST(test_regular)
{
	char err[SAFEFILE_ERR_MAX], *buf = NULL;
	const char *path = write_file("f", "abc\0def", 7);
	struct stat st;
	size_t len = 0;

	ck_assert_int_eq(
	    safefile_read(path, 100, 0, &buf, &len, &st, err, sizeof(err)), 0);
	ck_assert_uint_eq(len, 7);
	ck_assert_int_eq(memcmp(buf, "abc\0def", 8), 0); /* NUL-terminated */
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_size, 7);
	free(buf);
	ck_assert_int_eq(safefile_check(path, 7, &st, err, sizeof(err)), 0);
	ck_assert_int_eq(st.st_size, 7);
}
END_TEST

START_TEST(test_empty)
{
	char err[SAFEFILE_ERR_MAX], *buf = NULL;
	const char *path = write_file("empty", "", 0);
	size_t len = 99;

	ck_assert_int_eq(
	    safefile_read(path, 10, 0, &buf, &len, NULL, err, sizeof(err)), 0);
	ck_assert_uint_eq(len, 0);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(buf[0], '\0');
	free(buf);
}
END_TEST

START_TEST(test_fifo)
{
	const char *path = path_of("fifo");

	ck_assert_int_eq(mkfifo(path, 0600), 0);
	/* nobody writes: a blocking open would wait for ever */
	refused(path, 100, ": is a FIFO, not a regular file");
}
END_TEST

START_TEST(test_directory)
{
	const char *path = path_of("dir");

	ck_assert_int_eq(mkdir(path, 0700), 0);
	refused(path, 100, ": is a directory, not a regular file");
}
END_TEST

START_TEST(test_devices)
{
	refused("/dev/zero", 100,
	        "/dev/zero: is a character device, not a "
	        "regular file");
	refused("/dev/null", 100, "is a character device");
}
END_TEST

START_TEST(test_socket)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	const char *path = path_of("sock");
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_uint_lt(strlen(path), sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path) + 1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	refused(path, 100, ": is a socket, not a regular file");
	close(fd);
}
END_TEST

START_TEST(test_too_big)
{
	char err[SAFEFILE_ERR_MAX], *buf = NULL, text[101];
	const char *path;
	size_t len = 0;

	memset(text, 'x', sizeof(text));
	path = write_file("big", text, 100);
	ck_assert_int_eq(
	    safefile_read(path, 100, 0, &buf, &len, NULL, err, sizeof(err)), 0);
	ck_assert_uint_eq(len, 100);
	free(buf);
	path = write_file("big", text, 101);
	refused(path, 100, ": is larger than 100 octets");
}
END_TEST

/* A file longer than its fstat size (it grew, or it is in /proc) is read
 * only up to the limit, and refused when it is longer. */
START_TEST(test_grows_past_limit)
{
	char err[SAFEFILE_ERR_MAX], *buf = NULL;
	struct stat st;
	size_t len = 0;

	if (stat("/proc/self/status", &st) != 0 || st.st_size != 0)
		return; /* no procfs: nothing to show */
	ck_assert_int_eq(safefile_read("/proc/self/status", 16, 0, &buf, &len,
	                               NULL, err, sizeof(err)),
	                 -1);
	ck_assert_ptr_nonnull(strstr(err, "is larger than 16 octets"));
	ck_assert_int_eq(safefile_read("/proc/self/status", 1 << 20, 0, &buf,
	                               &len, NULL, err, sizeof(err)),
	                 0);
	ck_assert_uint_gt(len, 16);
	ck_assert_uint_eq(strlen(buf), len);
	free(buf);
}
END_TEST

START_TEST(test_missing)
{
	char err[SAFEFILE_ERR_MAX], want[600], *buf = NULL;
	const char *path = path_of("absent");
	size_t len = 0;

	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	refused(path, 100, want);
	ck_assert_int_eq(safefile_read(path, 100, SAFEFILE_MAY_BE_MISSING, &buf,
	                               &len, NULL, err, sizeof(err)),
	                 1);
	ck_assert_ptr_null(buf);
}
END_TEST

START_TEST(test_unreadable)
{
	const char *path = write_file("secret", "k", 1);
	struct passwd *pw = getpwnam("nobody");

	ck_assert_int_eq(chmod(path, 0), 0);
	/* root reads anything: look as nobody (the real uid stays root) */
	if (geteuid() == 0) {
		ck_assert_ptr_nonnull(pw);
		ck_assert_int_eq(seteuid(pw->pw_uid), 0);
	}
	refused(path, 100, ": Permission denied");
	if (pw != NULL && geteuid() == pw->pw_uid)
		ck_assert_int_eq(seteuid(0), 0);
}
END_TEST

START_TEST(test_small_error_buffer)
{
	char err[8], *buf = NULL;
	size_t len = 0;

	ck_assert_int_eq(safefile_read("/dev/zero", 100, 0, &buf, &len, NULL,
	                               err, sizeof(err)),
	                 -1);
	ck_assert_str_eq(err, "/dev/ze");
	ck_assert_int_eq(
	    safefile_read("/dev/zero", 100, 0, &buf, &len, NULL, NULL, 0), -1);
}
END_TEST

static Suite *
safefile_suite(void)
{
	Suite *s = suite_create("safefile");
	TCase *tc = tcase_create("read");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_regular);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_fifo);
	tcase_add_test(tc, test_directory);
	tcase_add_test(tc, test_devices);
	tcase_add_test(tc, test_socket);
	tcase_add_test(tc, test_too_big);
	tcase_add_test(tc, test_grows_past_limit);
	tcase_add_test(tc, test_missing);
	tcase_add_test(tc, test_unreadable);
	tcase_add_test(tc, test_small_error_buffer);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(safefile_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
