/*
 * test_release.c - releasing held mail: the postqueue -j line parser, the
 * judgement of an entry against the MTA's queue, and release_domain()
 * with stand-ins for postqueue (a script printing a listing) and
 * postsuper (a script recording the IDs it is given), over a real store.
 *
 * SYNOPSIS
 *	make check TESTS=tests/test_release
 *
 * DESCRIPTION
 *	The case the issue describes: a queue ID forged through the milter
 *	socket names a message another filter held, with another sender, or
 *	one that arrived after the entry was made; release_domain() must not
 *	hand it to postsuper, and must drop it from the index.
 */
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <lmdb.h>
#include <unistd.h>

#include "release.h"
#include "store.h"
#include "subprocess.h"

#define NOW 1700000000LL

static char dir[64];
static struct store *st;

/* write_file - dir/name with body; mode. */
static void
write_file(const char *name, const char *body, mode_t mode)
{
	char path[128];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs(body, fp);
	fclose(fp);
	chmod(path, mode);
}

/* read_file - dir/name, or "" when it does not exist. */
static const char *
read_file(const char *name)
{
	static char buf[16384];
	char path[128];
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	buf[0] = '\0';
	if ((fp = fopen(path, "r")) == NULL)
		return buf;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

/* cmd - "DIR/name" as a command line. */
static const char *
cmd(const char *name)
{
	static char buf[2][128];
	static int k;

	k ^= 1;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
	return buf[k];
}

/* listing - the queue stand-in prints these lines. */
static void
listing(const char *lines)
{
	char body[8192];

	snprintf(body, sizeof(body), "#!/bin/sh\ncat <<'EOF'\n%sEOF\n", lines);
	write_file("postqueue", body, 0700);
}

/* hold - index a held entry. */
static void
hold(const char *domain, const char *qid, const char *sender, int64_t held_at,
     uint8_t door)
{
	struct held_msg m;
	char err[256];

	memset(&m, 0, sizeof(m));
	snprintf(m.domain, sizeof(m.domain), "%s", domain);
	snprintf(m.queue_id, sizeof(m.queue_id), "%s", qid);
	snprintf(m.sender, sizeof(m.sender), "%s", sender);
	m.held_at = held_at;
	m.door = door;
	ck_assert_msg(store_held_put(st, &m, err, sizeof(err)) == STORE_OK,
	              "store_held_put: %s", err);
}

/* held_cb - queue IDs, comma separated. */
static int
held_cb(void *ctx, const struct held_msg *m)
{
	char *out = ctx;

	if (out[0] != '\0')
		strcat(out, ",");
	strcat(out, m->queue_id);
	return 0;
}

/* held_ids - what the index still holds for domain. */
static const char *
held_ids(const char *domain)
{
	static char ids[4096];
	char err[256];

	ids[0] = '\0';
	ck_assert_int_eq(
	    store_held_list(st, domain, held_cb, ids, err, sizeof(err)),
	    STORE_OK);
	return ids;
}

static void
setup(void)
{
	char path[256], err[256];

	snprintf(dir, sizeof(dir), "/tmp/authready-release-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_msg(store_open(path, STORE_CREATE, NULL, &st, err,
	                         sizeof(err)) == STORE_OK,
	              "store_open: %s", err);
	/* postsuper: the IDs on stdin go to a file, one run after another */
	snprintf(path, sizeof(path),
	         "#!/bin/sh\ncat >> %s/released\necho run >> %s/runs\nexit 0\n",
	         dir, dir);
	write_file("postsuper", path, 0700);
	write_file(
	    "postsuper-fails",
	    "#!/bin/sh\ncat >/dev/null\necho 'postsuper: fatal: no' >&2\n"
	    "exit 1\n",
	    0700);
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
	store_close(st);
	st = NULL;
	nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* The parser ------------------------------------------------------------ */

START_TEST(test_parse_postfix_line)
{
	/* What Postfix 3.7's postqueue -j prints, one message a line. */
	static const char line[] =
	    "{\"queue_name\": \"hold\", \"queue_id\": \"4QxT2d0bK3z9\", "
	    "\"arrival_time\": 1700000000, \"message_size\": 512, "
	    "\"forced_expire\": false, \"sender\": \"user@shop.example\", "
	    "\"recipients\": [{\"address\": \"\\ud83d\\ude00@b.example\", "
	    "\"delay_reason\": \"x \\\"y\\\" {z}\"}, "
	    "{\"address\": \"c@d.example\"}]}";
	struct release_queued q;

	ck_assert_int_eq(release_parse_queued(line, strlen(line), &q), 0);
	ck_assert_str_eq(q.queue_name, "hold");
	ck_assert_str_eq(q.queue_id, "4QxT2d0bK3z9");
	ck_assert_str_eq(q.sender, "user@shop.example");
	ck_assert_int_eq(q.arrival_time, 1700000000);
}
END_TEST

START_TEST(test_parse_escapes_and_refusals)
{
	static const char *const bad[] = {
	    "",
	    "[]",
	    "{\"queue_name\": \"hold\"}", /* fields missing */
	    "{\"queue_name\": \"hold\", \"queue_id\": \"A\", "
	    "\"sender\": \"a@b\", \"arrival_time\": 1} trailing",
	    "{\"queue_name\": \"hold\", \"queue_id\": \"A\", "
	    "\"sender\": \"a@b\", \"arrival_time\": 1",
	    "{\"queue_name\": \"hold\", \"queue_id\": \"A\", "
	    "\"sender\": \"a\\u0000@b\", \"arrival_time\": 1}",
	    "{\"queue_name\": \"hold\", \"queue_id\": \"A\", "
	    "\"sender\": \"a\\ud800@b\", \"arrival_time\": 1}",
	    "{\"queue_name\": \"hold\", \"queue_id\": \"A\", "
	    "\"sender\": \"a@b\", \"arrival_time\": \"1\"}",
	    "{\"queue_name\": \"a-queue-name-that-is-too-long\", "
	    "\"queue_id\": \"A\", \"sender\": \"a@b\", \"arrival_time\": 1}",
	    "{\"queue_name\": \"hold\", \"queue_id\": \"A\", "
	    "\"arrival_time\": 1699s\", \"sender\": \"a@b\"}",
	    "{\"queue_name\": \"hold\", \"queue_id\": \"A\", "
	    "\"sender\": \"a@b\", \"arrival_time\": 1, \"x\": "
	    "[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]}",
	};
	static const char ok[] =
	    "{ \"queue_name\":\"hold\",\"queue_id\":\"A\",\"x\":null,"
	    "\"sender\":\"\\\"q\\\\x\\\"\\u0041\\u00e9@b\",\"y\":-1.5e3,"
	    "\"arrival_time\":-2 }";
	struct release_queued q;
	size_t i;

	static const struct release_queued zero;

	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		ck_assert_msg(
		    release_parse_queued(bad[i], strlen(bad[i]), &q) == -1,
		    "accepted: %s", bad[i]);
		/* nothing half-read is left (fuzz_queued found this) */
		ck_assert(memcmp(&q, &zero, sizeof(q)) == 0);
	}
	ck_assert_int_eq(release_parse_queued(ok, strlen(ok), &q), 0);
	ck_assert_str_eq(q.sender, "\"q\\x\"A\xc3\xa9@b");
	ck_assert_int_eq(q.arrival_time, -2);
	/* never a read past len: the closing brace is outside */
	ck_assert_int_eq(release_parse_queued(ok, strlen(ok) - 2, &q), -1);
}
END_TEST

/* A key longer than the key buffer is skipped from its start. */
START_TEST(test_parse_long_key)
{
	static const char line[] =
	    "{\"a_member_name_longer_than_thirty_two_octets\": 1, "
	    "\"queue_name\": \"hold\", \"queue_id\": \"A\", "
	    "\"sender\": \"a@b\", \"arrival_time\": 1}";
	struct release_queued q;

	ck_assert_int_eq(release_parse_queued(line, strlen(line), &q), 0);
	ck_assert_str_eq(q.queue_id, "A");
}
END_TEST

/* The judgement --------------------------------------------------------- */

START_TEST(test_judge)
{
	struct held_msg m;
	struct release_queued q;
	char why[RELEASE_WHY_MAX];

	memset(&m, 0, sizeof(m));
	snprintf(m.domain, sizeof(m.domain), "shop.example");
	snprintf(m.queue_id, sizeof(m.queue_id), "Q1");
	snprintf(m.sender, sizeof(m.sender), "user@shop.example");
	m.held_at = NOW;
	m.door = HELD_DOOR_UNIX;
	memset(&q, 0, sizeof(q));
	snprintf(q.queue_name, sizeof(q.queue_name), "hold");
	snprintf(q.queue_id, sizeof(q.queue_id), "Q1");
	snprintf(q.sender, sizeof(q.sender), "user@SHOP.example");
	q.arrival_time = NOW - 5;
	ck_assert(release_judge(&m, "shop.example", &q, why, sizeof(why)));

	/* another filter's message: another sender */
	snprintf(q.sender, sizeof(q.sender), "boss@corp.example");
	ck_assert(!release_judge(&m, "shop.example", &q, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "not the indexed sender"));
	snprintf(q.sender, sizeof(q.sender), "user@shop.example");

	/* released meanwhile, or deferred */
	snprintf(q.queue_name, sizeof(q.queue_name), "deferred");
	ck_assert(!release_judge(&m, "shop.example", &q, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "deferred queue"));
	snprintf(q.queue_name, sizeof(q.queue_name), "hold");

	/* a reused short queue ID: arrived after the entry was made */
	q.arrival_time = NOW + RELEASE_ARRIVAL_AFTER + 1;
	ck_assert(!release_judge(&m, "shop.example", &q, why, sizeof(why)));
	/* an old message indexed much later */
	q.arrival_time = NOW - RELEASE_ARRIVAL_BEFORE - 1;
	ck_assert(!release_judge(&m, "shop.example", &q, why, sizeof(why)));
	q.arrival_time = NOW - RELEASE_ARRIVAL_BEFORE;
	ck_assert(release_judge(&m, "shop.example", &q, why, sizeof(why)));

	/* an entry of version 1 has no sender: the domain must own it */
	m.sender[0] = '\0';
	m.door = HELD_DOOR_UNKNOWN;
	snprintf(q.sender, sizeof(q.sender), "bounces@mail.shop.example");
	ck_assert(release_judge(&m, "shop.example", &q, why, sizeof(why)));
	snprintf(q.sender, sizeof(q.sender), "x@evilshop.example");
	ck_assert(!release_judge(&m, "shop.example", &q, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "not in shop.example"));
	q.sender[0] = '\0'; /* the null sender */
	ck_assert(!release_judge(&m, "shop.example", &q, why, sizeof(why)));
}
END_TEST

/* release_domain -------------------------------------------------------- */

/* The forged entry of the issue: its ID names a message held by another
 * filter, from another sender.  Only the genuine entry reaches
 * postsuper; the forged one leaves the index. */
START_TEST(test_forged_entry_not_released)
{
	struct release_result res;
	char err[512];

	hold("shop.example", "GENUINE1", "user@shop.example", NOW, 1);
	hold("shop.example", "OTHERFILTER1", "user@shop.example", NOW, 1);
	listing("{\"queue_name\": \"hold\", \"queue_id\": \"GENUINE1\", "
	        "\"arrival_time\": 1699999990, \"sender\": "
	        "\"user@shop.example\", \"recipients\": []}\n"
	        "{\"queue_name\": \"hold\", \"queue_id\": \"OTHERFILTER1\", "
	        "\"arrival_time\": 1699999000, \"sender\": "
	        "\"ceo@corp.example\", \"recipients\": []}\n");
	ck_assert_msg(release_domain(st, "shop.example", cmd("postsuper"),
	                             cmd("postqueue"), CONFIG_MTA_POSTFIX, &res,
	                             err, sizeof(err)) == 0,
	              "release_domain: %s", err);
	ck_assert_str_eq(read_file("released"), "GENUINE1\n");
	ck_assert_uint_eq(res.released, 1);
	ck_assert_uint_eq(res.refused, 1);
	ck_assert_ptr_nonnull(strstr(res.first_refused, "OTHERFILTER1"));
	ck_assert_str_eq(held_ids("shop.example"), "");
}
END_TEST

START_TEST(test_not_in_queue_and_reused_id)
{
	struct release_result res;
	char err[512];

	hold("shop.example", "GONE1", "user@shop.example", NOW, 1);
	hold("shop.example", "REUSED1", "user@shop.example", NOW - 86400, 1);
	hold("shop.example", "ACTIVE1", "user@shop.example", NOW, 1);
	listing("{\"queue_name\": \"hold\", \"queue_id\": \"REUSED1\", "
	        "\"arrival_time\": 1700000000, \"sender\": "
	        "\"user@shop.example\"}\n"
	        "{\"queue_name\": \"active\", \"queue_id\": \"ACTIVE1\", "
	        "\"arrival_time\": 1700000000, \"sender\": "
	        "\"user@shop.example\"}\n");
	ck_assert_int_eq(release_domain(st, "shop.example", cmd("postsuper"),
	                                cmd("postqueue"), CONFIG_MTA_POSTFIX,
	                                &res, err, sizeof(err)),
	                 0);
	ck_assert_uint_eq(res.released, 0);
	ck_assert_uint_eq(res.refused, 3);
	/* nothing confirmed: postsuper is not even run */
	ck_assert_str_eq(read_file("runs"), "");
	ck_assert_str_eq(held_ids("shop.example"), "");
}
END_TEST

/* The queue cannot be listed: nothing is released, nothing forgotten. */
START_TEST(test_queue_command_fails)
{
	struct release_result res;
	char err[512];

	hold("shop.example", "Q1", "user@shop.example", NOW, 1);
	write_file("postqueue",
	           "#!/bin/sh\necho 'postqueue: fatal: x' >&2\n"
	           "exit 69\n",
	           0700);
	ck_assert_int_eq(release_domain(st, "shop.example", cmd("postsuper"),
	                                cmd("postqueue"), CONFIG_MTA_POSTFIX,
	                                &res, err, sizeof(err)),
	                 -1);
	ck_assert_ptr_nonnull(strstr(err, "status 69"));
	ck_assert_str_eq(read_file("runs"), "");
	ck_assert_str_eq(held_ids("shop.example"), "Q1");
}
END_TEST

/* postsuper fails: the confirmed entries stay indexed. */
START_TEST(test_release_command_fails)
{
	struct release_result res;
	char err[512];

	hold("shop.example", "Q1", "user@shop.example", NOW, 1);
	listing("{\"queue_name\": \"hold\", \"queue_id\": \"Q1\", "
	        "\"arrival_time\": 1700000000, \"sender\": "
	        "\"user@shop.example\"}\n");
	ck_assert_int_eq(release_domain(st, "shop.example",
	                                cmd("postsuper-fails"),
	                                cmd("postqueue"), CONFIG_MTA_POSTFIX,
	                                &res, err, sizeof(err)),
	                 -1);
	ck_assert_str_eq(held_ids("shop.example"), "Q1");
}
END_TEST

/* HoldQueueCommand none: entries that came over TCP are never released
 * (they stay indexed); the others go as before. */
START_TEST(test_no_queue_command)
{
	struct release_result res;
	char err[512];

	hold("shop.example", "INET1", "user@shop.example", NOW, 2);
	hold("shop.example", "UNIX1", "user@shop.example", NOW, 1);
	hold("shop.example", "V1ENTRY", "", NOW, 0);
	ck_assert_int_eq(release_domain(st, "shop.example", cmd("postsuper"),
	                                "", CONFIG_MTA_POSTFIX, &res, err,
	                                sizeof(err)),
	                 0);
	ck_assert_str_eq(read_file("released"), "UNIX1\nV1ENTRY\n");
	ck_assert_uint_eq(res.released, 2);
	ck_assert_uint_eq(res.unverified, 1);
	ck_assert_str_eq(held_ids("shop.example"), "INET1");
	/* and again: still kept, never released, no endless loop */
	ck_assert_int_eq(release_domain(st, "shop.example", cmd("postsuper"),
	                                "", CONFIG_MTA_POSTFIX, &res, err,
	                                sizeof(err)),
	                 0);
	ck_assert_uint_eq(res.unverified, 1);
	ck_assert_uint_eq(res.released, 0);
	ck_assert_str_eq(read_file("released"), "UNIX1\nV1ENTRY\n");
}
END_TEST

/* Queue IDs: Postfix's letters and digits (never ALL); Sendmail's own
 * format, eight base 60 characters of a time and counter, then the
 * process ID in six to ten digits. */
START_TEST(test_queue_id_formats)
{
	ck_assert(release_queue_id_ok("4Fz9Xk1RrNz1", CONFIG_MTA_POSTFIX));
	ck_assert(release_queue_id_ok("6B5Gfr0x014687", CONFIG_MTA_POSTFIX));
	ck_assert(!release_queue_id_ok("ALL", CONFIG_MTA_POSTFIX));
	ck_assert(!release_queue_id_ok("", CONFIG_MTA_POSTFIX));
	ck_assert(!release_queue_id_ok("A-B", CONFIG_MTA_POSTFIX));

	ck_assert(release_queue_id_ok("6B5Gfr0x014687", CONFIG_MTA_SENDMAIL));
	ck_assert(release_queue_id_ok("6B5Gfr0x0146871", CONFIG_MTA_SENDMAIL));
	ck_assert(
	    release_queue_id_ok("x0VNxxxx4194304000", CONFIG_MTA_SENDMAIL));
	/* Postfix's IDs, short or long, are not Sendmail's */
	ck_assert(!release_queue_id_ok("4Fz9Xk1RrNz1", CONFIG_MTA_SENDMAIL));
	ck_assert(!release_queue_id_ok("3F2B84A0C1", CONFIG_MTA_SENDMAIL));
	ck_assert(!release_queue_id_ok("ALL", CONFIG_MTA_SENDMAIL));
	ck_assert(!release_queue_id_ok("", CONFIG_MTA_SENDMAIL));
	/* too few or too many digits of the process ID */
	ck_assert(!release_queue_id_ok("6B5Gfr0x01468", CONFIG_MTA_SENDMAIL));
	ck_assert(
	    !release_queue_id_ok("6B5Gfr0x01468712345", CONFIG_MTA_SENDMAIL));
	/* month 12 (C), day 0, hour 24 (O), y (past base 60), a letter in
	 * the process ID */
	ck_assert(!release_queue_id_ok("6C5Gfr0x014687", CONFIG_MTA_SENDMAIL));
	ck_assert(!release_queue_id_ok("6B0Gfr0x014687", CONFIG_MTA_SENDMAIL));
	ck_assert(!release_queue_id_ok("6B5Ofr0x014687", CONFIG_MTA_SENDMAIL));
	ck_assert(!release_queue_id_ok("6B5Gfy0x014687", CONFIG_MTA_SENDMAIL));
	ck_assert(!release_queue_id_ok("6B5Gfr0x01468a", CONFIG_MTA_SENDMAIL));
	ck_assert(!release_queue_id_ok("6B5Gfr0x-14687", CONFIG_MTA_SENDMAIL));
}
END_TEST

/* MTA sendmail: Sendmail's IDs reach the release command on stdin; an
 * entry whose ID is not one (a Postfix ID, a forged -qI option) is
 * dropped from the index and never passed on. */
START_TEST(test_sendmail_ids)
{
	struct release_result res;
	char err[512];

	hold("shop.example", "6B5Gfr0x014687", "user@shop.example", NOW, 1);
	hold("shop.example", "4Fz9Xk1RrNz1", "user@shop.example", NOW, 1);
	hold("shop.example", "6B5Gfr0x0146871", "user@shop.example", NOW, 1);
	ck_assert_msg(release_domain(st, "shop.example", cmd("postsuper"), "",
	                             CONFIG_MTA_SENDMAIL, &res, err,
	                             sizeof(err)) == 0,
	              "release_domain: %s", err);
	ck_assert_str_eq(read_file("released"),
	                 "6B5Gfr0x014687\n6B5Gfr0x0146871\n");
	ck_assert_uint_eq(res.released, 2);
	ck_assert_uint_eq(res.invalid, 1);
	ck_assert_str_eq(held_ids("shop.example"), "");
}
END_TEST

/* More entries than a batch: every one is checked and released, a batch
 * per run of each command. */
START_TEST(test_batches)
{
	struct release_result res;
	char err[512], id[32];
	char *lines;
	size_t i, n = RELEASE_BATCH_MAX + 5, used = 0, size = n * 128 + 64;
	FILE *fp;
	char path[128];

	lines = malloc(size);
	ck_assert_ptr_nonnull(lines);
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "B%05zu", i);
		hold("shop.example", id, "user@shop.example", NOW, 1);
		used += (size_t)snprintf(
		    lines + used, size - used,
		    "{\"queue_name\": \"hold\", \"queue_id\": \"%s\", "
		    "\"arrival_time\": 1700000000, \"sender\": "
		    "\"user@shop.example\"}\n",
		    id);
	}
	snprintf(path, sizeof(path), "%s/listing", dir);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs(lines, fp);
	fclose(fp);
	free(lines);
	snprintf(path, sizeof(path), "#!/bin/sh\nexec cat %s/listing\n", dir);
	write_file("postqueue", path, 0700);
	ck_assert_int_eq(release_domain(st, "shop.example", cmd("postsuper"),
	                                cmd("postqueue"), CONFIG_MTA_POSTFIX,
	                                &res, err, sizeof(err)),
	                 0);
	ck_assert_uint_eq(res.released, n);
	ck_assert_uint_eq(res.refused, 0);
	ck_assert_str_eq(read_file("runs"), "run\nrun\n");
	ck_assert_str_eq(held_ids("shop.example"), "");
}
END_TEST

/* A line that does not parse may name an entry: the entries the
 * listing does not show are kept, not refused and forgotten. */
START_TEST(test_unreadable_line_keeps)
{
	struct release_result res;
	char err[512];

	hold("shop.example", "GONE1", "user@shop.example", NOW, 1);
	hold("shop.example", "Q1", "user@shop.example", NOW, 1);
	listing("{\"queue_name\": \"hold\", \"queue_id\": \"Q1\", "
	        "\"arrival_time\": 1700000000, \"sender\": "
	        "\"user@shop.example\"}\n"
	        "not json at all\n");
	ck_assert_msg(release_domain(st, "shop.example", cmd("postsuper"),
	                             cmd("postqueue"), CONFIG_MTA_POSTFIX, &res,
	                             err, sizeof(err)) == 0,
	              "release_domain: %s", err);
	ck_assert_str_eq(read_file("released"), "Q1\n");
	ck_assert_uint_eq(res.released, 1);
	ck_assert_uint_eq(res.refused, 0);
	ck_assert_uint_eq(res.kept, 1);
	ck_assert_str_eq(held_ids("shop.example"), "GONE1");
}
END_TEST

/* A queued sender longer than the index keeps (the milter accepts paths
 * up to REVPATH_INPUT_MAX and indexes the mailbox cut): still released. */
START_TEST(test_long_sender_released)
{
	struct release_result res;
	char err[512], local[401], domain[256], full[700], indexed[700];
	char lines[2048];

	memset(local, 'a', 400);
	local[400] = '\0';
	snprintf(domain, sizeof(domain), "%.60s.%.60s.%.60s.shop.example",
	         local, local, local);
	/* the milter: local part kept cut to 255 octets, the mailbox cut to
	 * HELD_SENDER_MAX */
	snprintf(full, sizeof(full), "%s@%s", local, domain);
	snprintf(indexed, sizeof(indexed), "%.255s@%s", local, domain);
	indexed[HELD_SENDER_MAX - 1] = '\0';
	ck_assert_uint_gt(strlen(full), HELD_SENDER_MAX);
	hold("shop.example", "LONG1", indexed, NOW, 1);
	snprintf(lines, sizeof(lines),
	         "{\"queue_name\": \"hold\", \"queue_id\": \"LONG1\", "
	         "\"arrival_time\": 1700000000, \"sender\": \"%s\"}\n",
	         full);
	listing(lines);
	ck_assert_msg(release_domain(st, "shop.example", cmd("postsuper"),
	                             cmd("postqueue"), CONFIG_MTA_POSTFIX, &res,
	                             err, sizeof(err)) == 0,
	              "release_domain: %s", err);
	ck_assert_msg(res.released == 1, "released %zu, first refused: %s",
	              res.released, res.first_refused);
	ck_assert_str_eq(read_file("released"), "LONG1\n");
	ck_assert_str_eq(held_ids("shop.example"), "");
}
END_TEST

/* One held entry that fails to decode does not stop the release of the
 * others. */
START_TEST(test_corrupt_entry_others_released)
{
	struct release_result res;
	char path[256], err[512];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = {sizeof("shop.example\0BAD1") - 1,
	             (void *)"shop.example\0BAD1"},
	        v = {4, (void *)"\x41\xd7\x00\x03"};

	hold("shop.example", "Q1", "user@shop.example", NOW, 1);
	hold("shop.example", "Q2", "user@shop.example", NOW, 1);
	store_close(st);
	snprintf(path, sizeof(path), "%s/state", dir);
	ck_assert_int_eq(mdb_env_create(&env), 0);
	ck_assert_int_eq(mdb_env_set_maxdbs(env, 4), 0);
	ck_assert_int_eq(mdb_env_set_mapsize(env, (size_t)1 << 30), 0);
	ck_assert_int_eq(mdb_env_open(env, path, 0, 0640), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "held", 0, &dbi), 0);
	ck_assert_int_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	ck_assert_msg(store_open(path, 0, NULL, &st, err, sizeof(err)) ==
	                  STORE_OK,
	              "store_open: %s", err);
	listing("{\"queue_name\": \"hold\", \"queue_id\": \"Q1\", "
	        "\"arrival_time\": 1700000000, \"sender\": "
	        "\"user@shop.example\"}\n"
	        "{\"queue_name\": \"hold\", \"queue_id\": \"Q2\", "
	        "\"arrival_time\": 1700000000, \"sender\": "
	        "\"user@shop.example\"}\n");
	ck_assert_msg(release_domain(st, "shop.example", cmd("postsuper"),
	                             cmd("postqueue"), CONFIG_MTA_POSTFIX, &res,
	                             err, sizeof(err)) == 0,
	              "release_domain: %s", err);
	ck_assert_str_eq(read_file("released"), "Q1\nQ2\n");
	ck_assert_uint_eq(res.released, 2);
	ck_assert_ptr_nonnull(strstr(res.corrupt, "1 held entries skipped"));
}
END_TEST

/* A child that closes its stderr early still gets all of its input. */
START_TEST(test_run_stderr_closed_early)
{
	static char input[1 << 20];
	char script[256], err[512];
	const char *argv[] = {"/bin/sh", "-c", script, NULL};
	struct stat sb;

	memset(input, 'x', sizeof(input));
	snprintf(script, sizeof(script), "exec 2>&-; cat > %s/got", dir);
	ck_assert_msg(subprocess_run(argv, input, sizeof(input), 60000, err,
	                             sizeof(err)) == 0,
	              "subprocess_run: %s", err);
	snprintf(script, sizeof(script), "%s/got", dir);
	ck_assert_int_eq(stat(script, &sb), 0);
	ck_assert_int_eq(sb.st_size, sizeof(input));
}
END_TEST

/* A child that stops reading its input and exits 0 did not succeed. */
START_TEST(test_run_input_not_read)
{
	static char input[1 << 20];
	char err[512];
	const char *argv[] = {"/bin/sh", "-c", "exec 2>&- 0<&-; exit 0", NULL};

	memset(input, 'x', sizeof(input));
	ck_assert_int_eq(
	    subprocess_run(argv, input, sizeof(input), 60000, err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "before reading all"));
}
END_TEST

static Suite *
release_suite(void)
{
	Suite *s = suite_create("release");
	TCase *tc = tcase_create("parse");
	TCase *rel = tcase_create("release");

	tcase_add_test(tc, test_parse_postfix_line);
	tcase_add_test(tc, test_parse_escapes_and_refusals);
	tcase_add_test(tc, test_judge);
	tcase_add_test(tc, test_parse_long_key);
	tcase_add_test(tc, test_queue_id_formats);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(rel, setup, teardown);
	tcase_set_timeout(rel, 60);
	tcase_add_test(rel, test_forged_entry_not_released);
	tcase_add_test(rel, test_not_in_queue_and_reused_id);
	tcase_add_test(rel, test_queue_command_fails);
	tcase_add_test(rel, test_release_command_fails);
	tcase_add_test(rel, test_no_queue_command);
	tcase_add_test(rel, test_sendmail_ids);
	tcase_add_test(rel, test_batches);
	tcase_add_test(rel, test_unreadable_line_keeps);
	tcase_add_test(rel, test_long_sender_released);
	tcase_add_test(rel, test_corrupt_entry_others_released);
	tcase_add_test(rel, test_run_stderr_closed_early);
	tcase_add_test(rel, test_run_input_not_read);
	suite_add_tcase(s, rel);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(release_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
