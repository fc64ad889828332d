/*
 * test_store.c - the LMDB store: round trips, corrupt and foreign values,
 * permission refusal, readers that never block, concurrent writer
 * processes, stale reader slots, and kill -9 during bulk refreshes.
 *
 * Multi-process tests fork; each child opens its own environment (LMDB
 * handles never cross fork) and reports with its exit status or a pipe.
 */
#include <check.h>
#include <errno.h>
#include <lmdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

#define NDOMAINS_KILL 2000
#define KILL_ROUNDS_MAX 25    /* kill -9 rounds, when time allows */
#define KILL_ROUNDS_MIN 5     /* rounds run however slow the machine */
#define KILL_BUDGET_MS 10000  /* no new round after this much time */
#define PROGRESS_WAIT_MS 5000 /* a child must commit a batch in this */
#define READER_LOOKUPS_MIN 100

/* The store's generation key (store.c), written here to fake races. */
static const char gen_key[] = "\0authready-generation";

static char base[64]; /* mkdtemp directory, one per test */
static char dir[96];  /* the store directory inside it */

/* setup - a fresh temporary directory per test. */
static void
setup(void)
{
	snprintf(base, sizeof(base), "/tmp/test_store.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(base));
	snprintf(dir, sizeof(dir), "%s/state", base);
}

/* teardown - remove the store files and the directories. */
static void
teardown(void)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lock.mdb", dir);
	unlink(path);
	rmdir(dir);
	rmdir(base);
}

/* now_ms - monotonic milliseconds. */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* open_store - open or fail the test. */
static struct store *
open_store(unsigned flags)
{
	struct store *st;
	char err[512];

	ck_assert_msg(store_open(dir, flags, NULL, &st, err, sizeof(err)) ==
	                  STORE_OK,
	              "store_open: %s", err);
	return st;
}

/* make_state - a small state for domain with a marker value n. */
static void
make_state(struct domain_state *s, const char *domain, uint32_t n)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->domain, sizeof(s->domain), "%s", domain);
	s->state = READINESS_PENDING;
	s->since = n;
	s->next_check = 1700000000 + n;
	s->dns_errors = n;
	s->nrecords = 1;
	s->records[0].type = CHECK_MX;
	s->records[0].status = CHECK_MISSING;
	snprintf(s->records[0].name, sizeof(s->records[0].name), "mail.%s",
	         domain);
	snprintf(s->records[0].detail, sizeof(s->records[0].detail),
	         "no MX record");
}

/* make_reg - a registry entry for domain. */
static void
make_reg(struct domain_reg *r, const char *domain)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->domain, sizeof(r->domain), "%s", domain);
	snprintf(r->mail_from, sizeof(r->mail_from), "mail");
	r->nselectors = 1;
	snprintf(r->selectors[0].name, sizeof(r->selectors[0].name), "s1");
	r->dmarc_min_policy = DMARC_POLICY_UNSET;
	r->added = 1700000000;
}

/* dname - the i-th test domain. */
static const char *
dname(char *buf, size_t size, int i)
{
	snprintf(buf, size, "d%05d.example", i);
	return buf;
}

/* seed - n registered domains with state marker value. */
static void
seed(struct store *st, int n, uint32_t value)
{
	static struct domain_state s;
	static struct domain_reg r;
	struct store_batch *b;
	char err[512], name[32];

	ck_assert_int_eq(store_batch_begin(st, &b, err, sizeof(err)), STORE_OK);
	for (int i = 0; i < n; i++) {
		make_reg(&r, dname(name, sizeof(name), i));
		make_state(&s, name, value);
		ck_assert_int_eq(store_batch_put_reg(b, &r, err, sizeof(err)),
		                 STORE_OK);
		ck_assert_int_eq(store_batch_put_state(b, &s, err, sizeof(err)),
		                 STORE_OK);
	}
	ck_assert_msg(store_batch_commit(b, err, sizeof(err)) == STORE_OK, "%s",
	              err);
}

/* count_cb - iteration callback counting entries. */
static int
count_cb(void *ctx, const struct domain_state *s)
{
	(void)s;
	++*(int *)ctx;
	return 0;
}

/* held_cb - collect queue ids, comma separated. */
static int
held_cb(void *ctx, const struct held_msg *m)
{
	char *out = ctx;

	strcat(out, m->queue_id);
	strcat(out, ",");
	return 0;
}

START_TEST(test_round_trip)
{
	static struct domain_reg reg, reg2;
	static struct domain_state s, s2;
	struct record_state_summary sum;
	struct record_reg_summary rsum;
	struct store_reader *rd;
	struct store *st = open_store(STORE_CREATE);
	char err[512], ids[512] = "";
	int n = 0;
	struct stat sb;

	ck_assert_int_eq(stat(dir, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 0777, 0750 & ~0022u);
	make_reg(&reg, "example.com");
	reg.nselectors = DOMAIN_SELECTORS_MAX;
	for (int i = 0; i < DOMAIN_SELECTORS_MAX; i++) {
		snprintf(reg.selectors[i].name, DOMAIN_SELECTOR_MAX, "sel%d",
		         i);
		memset(reg.selectors[i].key_path, 'k', DOMAIN_KEY_PATH_MAX - 1);
	}
	reg.added = INT64_MIN;
	reg.negress = 1;
	snprintf(reg.egress[0], DOMAIN_IP_TEXT_MAX, "2001:db8::1/128");
	ck_assert_int_eq(store_reg_put(st, &reg, err, sizeof(err)), STORE_OK);
	ck_assert_int_eq(
	    store_reg_get(st, "example.com", &reg2, err, sizeof(err)),
	    STORE_OK);
	ck_assert_int_eq(memcmp(&reg, &reg2, sizeof(reg)), 0);

	make_state(&s, "example.com", 7);
	s.state = READINESS_VERIFIED;
	s.last_success = INT64_MAX;
	s.notified = 1;
	ck_assert_int_eq(store_state_put(st, &s, err, sizeof(err)), STORE_OK);
	ck_assert_int_eq(
	    store_state_get(st, "example.com", &s2, err, sizeof(err)),
	    STORE_OK);
	ck_assert_int_eq(memcmp(&s, &s2, sizeof(s)), 0);

	ck_assert_int_eq(store_reader_open(st, &rd, err, sizeof(err)),
	                 STORE_OK);
	ck_assert_int_eq(
	    store_state_peek(rd, "example.com", &sum, err, sizeof(err)),
	    STORE_OK);
	ck_assert_int_eq(sum.state, READINESS_VERIFIED);
	ck_assert(sum.last_success == INT64_MAX);
	ck_assert_uint_eq(sum.dns_errors, 7);
	ck_assert_ptr_null(sum.domain);
	ck_assert_int_eq(
	    store_state_peek(rd, "example.org", &sum, err, sizeof(err)),
	    STORE_NOTFOUND);
	/* A reader sees commits made after it was opened. */
	s.dns_errors = 8;
	ck_assert_int_eq(store_state_put(st, &s, err, sizeof(err)), STORE_OK);
	ck_assert_int_eq(
	    store_state_peek(rd, "example.com", &sum, err, sizeof(err)),
	    STORE_OK);
	ck_assert_uint_eq(sum.dns_errors, 8);

	/* A read session: state and registry on one snapshot. */
	ck_assert_int_eq(store_read_begin(rd, err, sizeof(err)), STORE_OK);
	ck_assert_int_eq(
	    store_read_state(rd, "example.com", &sum, err, sizeof(err)),
	    STORE_OK);
	ck_assert_uint_eq(sum.dns_errors, 8);
	ck_assert_ptr_null(sum.domain);
	ck_assert_int_eq(
	    store_read_reg(rd, "example.com", &rsum, err, sizeof(err)),
	    STORE_OK);
	ck_assert_str_eq(rsum.mail_from, "mail");
	ck_assert_ptr_null(rsum.domain);
	ck_assert_int_eq(
	    store_read_reg(rd, "mail.example.com", &rsum, err, sizeof(err)),
	    STORE_NOTFOUND);
	ck_assert_str_eq(rsum.mail_from, "");
	ck_assert_int_eq(store_read_reg(rd, "", &rsum, err, sizeof(err)),
	                 STORE_ERROR);
	/* ... which does not see a commit made during it. */
	s.dns_errors = 9;
	ck_assert_int_eq(store_state_put(st, &s, err, sizeof(err)), STORE_OK);
	ck_assert_int_eq(
	    store_read_state(rd, "example.com", &sum, err, sizeof(err)),
	    STORE_OK);
	ck_assert_uint_eq(sum.dns_errors, 8);
	store_read_end(rd);
	ck_assert_int_eq(
	    store_state_peek(rd, "example.com", &sum, err, sizeof(err)),
	    STORE_OK);
	ck_assert_uint_eq(sum.dns_errors, 9);
	store_reader_close(rd);

	ck_assert_int_eq(store_held_add(st, "example.com", "4XyZ1", 5,
	                                "pending", err, sizeof(err)),
	                 STORE_OK);
	ck_assert_int_eq(store_held_add(st, "example.com", "3AbC", 6, NULL, err,
	                                sizeof(err)),
	                 STORE_OK);
	ck_assert_int_eq(
	    store_held_add(st, "example.co", "9", 6, "x", err, sizeof(err)),
	    STORE_OK); /* a prefix of the other domain: kept apart */
	ck_assert_int_eq(
	    store_held_list(st, "example.com", held_cb, ids, err, sizeof(err)),
	    STORE_OK);
	ck_assert_str_eq(ids, "3AbC,4XyZ1,");
	ck_assert_int_eq(
	    store_held_del(st, "example.com", "3AbC", err, sizeof(err)),
	    STORE_OK);
	ck_assert_int_eq(
	    store_held_del(st, "example.com", "3AbC", err, sizeof(err)),
	    STORE_NOTFOUND);
	ids[0] = '\0';
	ck_assert_int_eq(
	    store_held_list(st, "example.com", held_cb, ids, err, sizeof(err)),
	    STORE_OK);
	ck_assert_str_eq(ids, "4XyZ1,");
	store_close(st);

	/* Everything survives a reopen, read-only too. */
	st = open_store(STORE_RDONLY);
	ck_assert_int_eq(
	    store_state_get(st, "example.com", &s2, err, sizeof(err)),
	    STORE_OK);
	ck_assert_uint_eq(s2.dns_errors, 9);
	ck_assert_int_eq(store_state_put(st, &s, err, sizeof(err)),
	                 STORE_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "read-only"));
	ck_assert_int_eq(
	    store_state_iter(st, count_cb, &n, NULL, err, sizeof(err)),
	    STORE_OK);
	ck_assert_int_eq(n, 1);
	store_close(st);

	st = open_store(0);
	ck_assert_int_eq(store_state_del(st, "example.com", err, sizeof(err)),
	                 STORE_OK);
	ck_assert_int_eq(
	    store_state_get(st, "example.com", &s2, err, sizeof(err)),
	    STORE_NOTFOUND);
	ck_assert_int_eq(store_reg_del(st, "example.com", err, sizeof(err)),
	                 STORE_OK);
	ck_assert_int_eq(store_reg_del(st, "example.com", err, sizeof(err)),
	                 STORE_NOTFOUND);
	store_close(st);
}
END_TEST

START_TEST(test_bad_arguments)
{
	static struct domain_state s;
	struct store *st = open_store(STORE_CREATE);
	char err[512], longname[300];

	memset(longname, 'a', DOMAIN_MAX + 1);
	longname[DOMAIN_MAX + 1] = '\0';
	ck_assert_int_eq(store_state_get(st, "", &s, err, sizeof(err)),
	                 STORE_ERROR);
	ck_assert_int_eq(store_state_get(st, longname, &s, err, sizeof(err)),
	                 STORE_ERROR);
	longname[DOMAIN_MAX] = '\0'; /* exactly the limit is fine */
	ck_assert_int_eq(store_state_get(st, longname, &s, err, sizeof(err)),
	                 STORE_NOTFOUND);
	make_state(&s, "x.example", 1);
	s.nrecords = DOMAIN_RECORDS_MAX + 1;
	ck_assert_int_eq(store_state_put(st, &s, err, sizeof(err)),
	                 STORE_ERROR);
	ck_assert_int_eq(
	    store_held_add(st, "x.example", "a b", 0, "", err, sizeof(err)),
	    STORE_ERROR);
	ck_assert_int_eq(
	    store_held_add(st, "x.example", "", 0, "", err, sizeof(err)),
	    STORE_ERROR);
	ck_assert_int_eq(
	    store_held_add(st, "x.example", "a\nb", 0, "", err, sizeof(err)),
	    STORE_ERROR);
	store_close(st);
}
END_TEST

/* raw_put - write bytes under a key with LMDB directly (store closed). */
static void
raw_put(const char *db, const void *key, size_t klen, const void *val,
        size_t vlen)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};

	ck_assert_int_eq(mdb_env_create(&env), 0);
	ck_assert_int_eq(mdb_env_set_maxdbs(env, 4), 0);
	ck_assert_int_eq(mdb_env_set_mapsize(env, (size_t)1 << 30), 0);
	ck_assert_int_eq(mdb_env_open(env, dir, 0, 0640), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, db, 0, &dbi), 0);
	ck_assert_int_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* problems_cb - count store_check findings. */
static void
problems_cb(void *ctx, const char *db, const char *key, const char *why)
{
	(void)db;
	(void)key;
	(void)why;
	++*(int *)ctx;
}

/* expect_corrupt - get and peek both say STORE_CORRUPT with want. */
static void
expect_corrupt(struct store *st, struct store_reader *rd, const char *d,
               const char *want)
{
	static struct domain_state s;
	struct record_state_summary sum;
	char err[512];

	ck_assert_int_eq(store_state_get(st, d, &s, err, sizeof(err)),
	                 STORE_CORRUPT);
	ck_assert_msg(strstr(err, want) != NULL, "%s: \"%s\"", d, err);
	ck_assert_ptr_nonnull(strstr(err, d));
	ck_assert_int_eq(store_state_peek(rd, d, &sum, err, sizeof(err)),
	                 STORE_CORRUPT);
	ck_assert_msg(strstr(err, want) != NULL, "%s: \"%s\"", d, err);
}

START_TEST(test_corrupt_values)
{
	static struct domain_state s;
	static struct domain_reg r;
	unsigned char buf[RECORD_MAX];
	struct store_check_report rep;
	struct record_state_summary sum;
	struct record_reg_summary rsum;
	struct store_reader *rd;
	struct store *st = open_store(STORE_CREATE);
	char err[512], name[32] = "";
	size_t len, ncorrupt;
	int n = 0, problems = 0;

	seed(st, 4, 1);
	store_close(st);

	raw_put("state", "d00001.example", 14, "\x41\xd7\x01\x02\x01\x00\x00",
	        7);
	make_state(&s, "d00000.example", 1); /* foreign: names another key */
	ck_assert_int_eq(
	    record_state_encode(&s, buf, sizeof(buf), &len, err, sizeof(err)),
	    0);
	raw_put("state", "d00002.example", 14, buf, len);
	buf[2] = RECORD_STATE_VERSION + 1; /* from a newer program */
	raw_put("state", "d00003.example", 14, buf, len);
	make_reg(&r, "d00004.example"); /* a registry record as a state */
	ck_assert_int_eq(
	    record_reg_encode(&r, buf, sizeof(buf), &len, err, sizeof(err)), 0);
	raw_put("state", "d00004.example", 14, buf, len);
	raw_put("registry", "d00001.example", 14, "", 0);
	raw_put("held", "d00000.example\0Q1", 17, "\x41\xd7\x00\x03", 4);

	st = open_store(0);
	ck_assert_int_eq(store_reader_open(st, &rd, err, sizeof(err)),
	                 STORE_OK);
	expect_corrupt(st, rd, "d00001.example", "truncated");
	expect_corrupt(st, rd, "d00002.example", "names another domain");
	expect_corrupt(st, rd, "d00003.example", "newer than this program");
	expect_corrupt(st, rd, "d00004.example", "registry record");
	ck_assert_int_eq(
	    store_reg_get(st, "d00001.example", &r, err, sizeof(err)),
	    STORE_CORRUPT);
	ck_assert_int_eq(store_read_begin(rd, err, sizeof(err)), STORE_OK);
	ck_assert_int_eq(
	    store_read_reg(rd, "d00001.example", &rsum, err, sizeof(err)),
	    STORE_CORRUPT);
	ck_assert_ptr_nonnull(strstr(err, "truncated"));
	ck_assert_int_eq(
	    store_read_reg(rd, "d00000.example", &rsum, err, sizeof(err)),
	    STORE_OK);
	store_read_end(rd);
	/* The others are unaffected. */
	ck_assert_int_eq(
	    store_state_get(st, "d00000.example", &s, err, sizeof(err)),
	    STORE_OK);
	ck_assert_int_eq(
	    store_state_peek(rd, "d00000.example", &sum, err, sizeof(err)),
	    STORE_OK);
	ck_assert_int_eq(
	    store_state_iter(st, count_cb, &n, &ncorrupt, err, sizeof(err)),
	    STORE_OK);
	ck_assert_int_eq(n, 1);
	ck_assert_uint_eq(ncorrupt, 4);
	ck_assert_int_eq(store_held_list(st, "d00000.example", held_cb, name,
	                                 err, sizeof(err)),
	                 STORE_CORRUPT);
	ck_assert_ptr_nonnull(strstr(err, "version 0"));

	ck_assert_int_eq(
	    store_check(st, &rep, problems_cb, &problems, err, sizeof(err)),
	    STORE_CORRUPT);
	ck_assert_uint_eq(rep.regs, 4);
	ck_assert_uint_eq(rep.states, 5);
	ck_assert_uint_eq(rep.held, 1);
	ck_assert_uint_eq(rep.corrupt, 6);
	/* d00004.example's registry entry was never seeded. */
	ck_assert_int_eq(problems, 6);

	/* A re-check overwrites a corrupt value and heals it. */
	make_state(&s, "d00001.example", 2);
	ck_assert_int_eq(store_state_put(st, &s, err, sizeof(err)), STORE_OK);
	ck_assert_int_eq(
	    store_state_peek(rd, "d00001.example", &sum, err, sizeof(err)),
	    STORE_OK);
	ck_assert_uint_eq(sum.dns_errors, 2);
	store_reader_close(rd);
	store_close(st);
}
END_TEST

/* A snapshot newer than the transaction id a reader registered (the
 * LMDB meta page race) shows as a generation above that id: the reader
 * retakes its snapshot and, when that never helps, gives up loudly. */
START_TEST(test_generation_check)
{
	static const unsigned char future[8] = {0xff, 0xff, 0xff, 0xff,
	                                        0xff, 0xff, 0xff, 0x7f};
	static struct domain_state s;
	struct record_state_summary sum;
	struct store_reader *rd;
	struct store *st = open_store(STORE_CREATE);
	char err[512];
	int n = 0;

	seed(st, 2, 1);
	store_close(st);
	raw_put(NULL, gen_key, sizeof(gen_key) - 1, future, sizeof(future));

	st = open_store(0);
	ck_assert_int_eq(store_reader_open(st, &rd, err, sizeof(err)),
	                 STORE_OK);
	ck_assert_int_eq(
	    store_state_get(st, "d00000.example", &s, err, sizeof(err)),
	    STORE_ERROR);
	ck_assert_msg(strstr(err, "consistent read snapshot") != NULL, "%s",
	              err);
	ck_assert_int_eq(
	    store_state_peek(rd, "d00000.example", &sum, err, sizeof(err)),
	    STORE_ERROR);
	ck_assert_msg(strstr(err, "consistent read snapshot") != NULL, "%s",
	              err);
	ck_assert_int_eq(
	    store_state_iter(st, count_cb, &n, NULL, err, sizeof(err)),
	    STORE_ERROR);
	/* The next batch records its own id and readers recover; the
	 * reader is still usable after the failed lookup. */
	make_state(&s, "d00001.example", 5);
	ck_assert_int_eq(store_state_put(st, &s, err, sizeof(err)), STORE_OK);
	ck_assert_int_eq(
	    store_state_peek(rd, "d00001.example", &sum, err, sizeof(err)),
	    STORE_OK);
	ck_assert_uint_eq(sum.dns_errors, 5);
	ck_assert_int_eq(
	    store_state_iter(st, count_cb, &n, NULL, err, sizeof(err)),
	    STORE_OK);
	ck_assert_int_eq(n, 2);
	/* An empty batch changes nothing and commits fine. */
	{
		struct store_batch *b;

		ck_assert_int_eq(store_batch_begin(st, &b, err, sizeof(err)),
		                 STORE_OK);
		ck_assert_int_eq(store_batch_commit(b, err, sizeof(err)),
		                 STORE_OK);
	}
	store_reader_close(rd);
	store_close(st);

	/* A generation of the wrong size is an error, not a retry loop. */
	raw_put(NULL, gen_key, sizeof(gen_key) - 1, "abc", 3);
	st = open_store(STORE_RDONLY);
	ck_assert_int_eq(
	    store_state_get(st, "d00000.example", &s, err, sizeof(err)),
	    STORE_ERROR);
	ck_assert_msg(strstr(err, "generation record") != NULL, "%s", err);
	store_close(st);
}
END_TEST

START_TEST(test_orphans)
{
	static struct domain_state s;
	struct store_check_report rep;
	struct store *st = open_store(STORE_CREATE);
	char err[512];
	int problems = 0;

	seed(st, 3, 1);
	make_state(&s, "unregistered.example", 1);
	ck_assert_int_eq(store_state_put(st, &s, err, sizeof(err)), STORE_OK);
	ck_assert_int_eq(
	    store_held_add(st, "gone.example", "Q1", 1, "r", err, sizeof(err)),
	    STORE_OK);
	ck_assert_int_eq(
	    store_check(st, &rep, problems_cb, &problems, err, sizeof(err)),
	    STORE_OK);
	ck_assert_uint_eq(rep.orphan_states, 1);
	ck_assert_uint_eq(rep.orphan_held, 1);
	ck_assert_uint_eq(rep.corrupt, 0);
	ck_assert_int_eq(problems, 2);
	store_close(st);
}
END_TEST

/* unreg_cb - "domain:held," for each unregistered state. */
static int
unreg_cb(void *ctx, const struct domain_state *state, bool held)
{
	size_t n = strlen(ctx);

	snprintf((char *)ctx + n, 512 - n, "%s:%d,", state->domain, held);
	return 0;
}

/*
 * The states without a registry entry (unregistered domains the milter
 * checked) are listed with whether mail is held for them; in a write
 * batch one is read only while it stays unregistered, and removed.
 */
START_TEST(test_unregistered_states)
{
	static struct domain_state s;
	static struct domain_reg r;
	struct store_batch *b;
	struct store *st = open_store(STORE_CREATE);
	char err[512], seen[512] = "";
	size_t ncorrupt = 9;
	bool held = true;

	seed(st, 2, 1); /* d00000.example, d00001.example: registered */
	make_state(&s, "a.example", 1);
	s.last_used = 1700000000;
	ck_assert_int_eq(store_state_put(st, &s, err, sizeof(err)), STORE_OK);
	make_state(&s, "e.example", 2);
	ck_assert_int_eq(store_state_put(st, &s, err, sizeof(err)), STORE_OK);
	/* Held mail under a.example, and under a name that sorts after
	 * "a.example" but is another domain. */
	ck_assert_int_eq(
	    store_held_add(st, "a.example", "Q1", 1, "r", err, sizeof(err)),
	    STORE_OK);
	ck_assert_int_eq(
	    store_held_add(st, "e.examplex", "Q2", 1, "r", err, sizeof(err)),
	    STORE_OK);
	ck_assert_int_eq(
	    store_unreg_iter(st, unreg_cb, seen, &ncorrupt, err, sizeof(err)),
	    STORE_OK);
	ck_assert_str_eq(seen, "a.example:1,e.example:0,");
	ck_assert_uint_eq(ncorrupt, 0);

	ck_assert_int_eq(store_batch_begin(st, &b, err, sizeof(err)), STORE_OK);
	ck_assert_int_eq(
	    store_batch_get_unreg(b, "a.example", &s, &held, err, sizeof(err)),
	    STORE_OK);
	ck_assert(held);
	ck_assert(s.last_used == 1700000000);
	ck_assert_int_eq(
	    store_batch_get_unreg(b, "e.example", &s, &held, err, sizeof(err)),
	    STORE_OK);
	ck_assert(!held);
	ck_assert_int_eq(store_batch_get_unreg(b, "d00000.example", &s, &held,
	                                       err, sizeof(err)),
	                 STORE_NOTFOUND);
	ck_assert_ptr_nonnull(strstr(err, "registered"));
	ck_assert_int_eq(store_batch_get_unreg(b, "none.example", &s, &held,
	                                       err, sizeof(err)),
	                 STORE_NOTFOUND);
	ck_assert_int_eq(
	    store_batch_del_state(b, "e.example", err, sizeof(err)), STORE_OK);
	ck_assert_int_eq(
	    store_batch_del_state(b, "e.example", err, sizeof(err)),
	    STORE_NOTFOUND);
	/* Registered in the same batch: no longer unregistered. */
	make_reg(&r, "a.example");
	ck_assert_int_eq(store_batch_put_reg(b, &r, err, sizeof(err)),
	                 STORE_OK);
	ck_assert_int_eq(
	    store_batch_get_unreg(b, "a.example", &s, &held, err, sizeof(err)),
	    STORE_NOTFOUND);
	ck_assert_int_eq(store_batch_commit(b, err, sizeof(err)), STORE_OK);

	seen[0] = '\0';
	ck_assert_int_eq(
	    store_unreg_iter(st, unreg_cb, seen, &ncorrupt, err, sizeof(err)),
	    STORE_OK);
	ck_assert_str_eq(seen, "");
	ck_assert_int_eq(store_state_get(st, "e.example", &s, err, sizeof(err)),
	                 STORE_NOTFOUND);
	store_close(st);
}
END_TEST

/* warn_cb - remember the last warning. */
static void
warn_cb(void *ctx, const char *msg)
{
	snprintf(ctx, 256, "%s", msg);
}

/* try_open - store_open result; closes on success. */
static int
try_open(unsigned flags, char *err, size_t errlen, char *warned)
{
	struct store_opts opts = {.warn = warn_cb, .warn_ctx = warned};
	struct store *st;
	int rc = store_open(dir, flags, &opts, &st, err, errlen);

	if (rc == STORE_OK)
		store_close(st);
	return rc;
}

START_TEST(test_permissions)
{
	char err[512], warned[256] = "", path[160], sub[160];

	/* No directory, no create: refused; read-only never creates. */
	ck_assert_int_eq(try_open(0, err, sizeof(err), warned), STORE_ERROR);
	ck_assert_int_eq(
	    try_open(STORE_RDONLY | STORE_CREATE, err, sizeof(err), warned),
	    STORE_ERROR);
	/* An empty directory opened read-only has no databases. */
	ck_assert_int_eq(mkdir(dir, 0750), 0);
	ck_assert_int_eq(try_open(STORE_RDONLY, err, sizeof(err), warned),
	                 STORE_ERROR);
	ck_assert_int_eq(try_open(STORE_CREATE, err, sizeof(err), warned),
	                 STORE_OK);
	snprintf(path, sizeof(path), "%s/data.mdb", dir);

	ck_assert_int_eq(chmod(dir, 0757), 0);
	ck_assert_int_eq(try_open(0, err, sizeof(err), warned), STORE_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "writable by everyone"));
	ck_assert_int_eq(try_open(STORE_RDONLY, err, sizeof(err), warned),
	                 STORE_ERROR);
	ck_assert_int_eq(chmod(dir, 01777), 0); /* sticky does not help */
	ck_assert_int_eq(try_open(0, err, sizeof(err), warned), STORE_ERROR);
	ck_assert_int_eq(chmod(dir, 0770), 0);
	ck_assert_int_eq(try_open(0, err, sizeof(err), warned), STORE_OK);
	ck_assert_ptr_nonnull(strstr(warned, "writable by its group"));
	ck_assert_int_eq(chmod(dir, 0750), 0);

	ck_assert_int_eq(chmod(path, 0646), 0);
	ck_assert_int_eq(try_open(0, err, sizeof(err), warned), STORE_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "data.mdb"));
	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_int_eq(try_open(0, err, sizeof(err), warned), STORE_OK);

	/* An ancestor writable by all, without the sticky bit. */
	ck_assert_int_eq(chmod(base, 0777), 0);
	ck_assert_int_eq(try_open(0, err, sizeof(err), warned), STORE_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "sticky"));
	ck_assert_int_eq(chmod(base, 01777), 0);
	ck_assert_int_eq(try_open(0, err, sizeof(err), warned), STORE_OK);
	ck_assert_int_eq(chmod(base, 0700), 0);

	/* The data file as a symlink is refused. */
	snprintf(sub, sizeof(sub), "%s/real.mdb", dir);
	ck_assert_int_eq(rename(path, sub), 0);
	ck_assert_int_eq(symlink(sub, path), 0);
	ck_assert_int_eq(try_open(0, err, sizeof(err), warned), STORE_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rename(sub, path), 0);

	/* A file where the directory should be. */
	snprintf(sub, sizeof(sub), "%s/lock.mdb", dir);
	ck_assert_int_eq(try_open(0, err, sizeof(err), warned), STORE_OK);
	ck_assert_int_eq(
	    store_open(sub, 0, NULL, &(struct store *){NULL}, err, sizeof(err)),
	    STORE_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "not a directory"));
}
END_TEST

/* child_fail - a child reports why it gives up, then exits with code. */
static void __attribute__((noreturn))
child_fail(int code, const char *what, const char *err)
{
	fprintf(stderr, "child %d: exit %d: %s: %s\n", (int)getpid(), code,
	        what, err);
	_exit(code);
}

/* child_peeker - peek every domain for ms; exit 0 when all equal want. */
static void
child_peeker(int ndomains, uint32_t want, long long ms, int out)
{
	struct record_state_summary sum;
	struct store_reader *rd;
	struct store *st;
	char err[512], name[32];
	long long end = now_ms() + ms;
	unsigned long lookups = 0;

	if (store_open(dir, STORE_RDONLY, NULL, &st, err, sizeof(err)) != 0)
		child_fail(2, "store_open", err);
	if (store_reader_open(st, &rd, err, sizeof(err)) != 0)
		child_fail(2, "store_reader_open", err);
	while (now_ms() < end) {
		for (int i = 0; i < ndomains; i++) {
			if (store_state_peek(rd, dname(name, sizeof(name), i),
			                     &sum, err,
			                     sizeof(err)) != STORE_OK)
				child_fail(3, "store_state_peek", err);
			if (sum.dns_errors != want) {
				snprintf(err, sizeof(err), "%s: %u, want %u",
				         name, sum.dns_errors, want);
				child_fail(3, "wrong value", err);
			}
			lookups++;
		}
	}
	if (write(out, &lookups, sizeof(lookups)) != sizeof(lookups))
		child_fail(4, "write", strerror(errno));
	store_reader_close(rd);
	store_close(st);
	_exit(0);
}

/* child_slow_writer - rewrite every state, hold the txn until go is
 * readable, commit. */
static void
child_slow_writer(int ndomains, uint32_t value, int ready, int go)
{
	static struct domain_state s;
	struct store_batch *b;
	struct store *st;
	char err[512], name[32], c;

	if (store_open(dir, 0, NULL, &st, err, sizeof(err)) != 0)
		child_fail(2, "store_open", err);
	if (store_batch_begin(st, &b, err, sizeof(err)) != 0)
		child_fail(2, "store_batch_begin", err);
	for (int i = 0; i < ndomains; i++) {
		make_state(&s, dname(name, sizeof(name), i), value);
		if (store_batch_put_state(b, &s, err, sizeof(err)) != 0)
			child_fail(3, "store_batch_put_state", err);
	}
	if (write(ready, "H", 1) != 1)
		child_fail(4, "write", strerror(errno));
	if (read(go, &c, 1) != 1)
		child_fail(4, "read", "no go from the parent");
	if (store_batch_commit(b, err, sizeof(err)) != 0)
		child_fail(5, "store_batch_commit", err);
	store_close(st);
	_exit(0);
}

/* reap - wait for pid and require exit status 0. */
static void
reap(pid_t pid)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	              "child %d: status %d", (int)pid, status);
}

START_TEST(test_readers_never_block)
{
	struct store *st = open_store(STORE_CREATE);
	int ready[2], counts[2], go[2], i, status;
	pid_t writer, readers[3];
	unsigned long lookups;
	char c;

	seed(st, 200, 1);
	store_close(st);
	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(counts), 0);
	ck_assert_int_eq(pipe(go), 0);
	if ((writer = fork()) == 0)
		child_slow_writer(200, 2, ready[1], go[0]);
	ck_assert_int_eq(read(ready[0], &c, 1), 1); /* the writer holds */
	for (i = 0; i < 3; i++)
		if ((readers[i] = fork()) == 0)
			child_peeker(200, 1, 300, counts[1]);
	/* The writer commits only when told: a reader that waited for it
	 * would never finish and the test would time out. */
	for (i = 0; i < 3; i++) {
		reap(readers[i]);
		ck_assert_int_eq(read(counts[0], &lookups, sizeof(lookups)),
		                 sizeof(lookups));
		ck_assert_uint_ge(lookups, READER_LOOKUPS_MIN);
	}
	ck_assert_int_eq(waitpid(writer, &status, WNOHANG), 0);
	ck_assert_int_eq(write(go[1], "c", 1), 1);
	reap(writer);
	/* After the commit every reader sees the new value. */
	if ((readers[0] = fork()) == 0)
		child_peeker(200, 2, 50, counts[1]);
	reap(readers[0]);
	close(ready[0]);
	close(ready[1]);
	close(counts[0]);
	close(counts[1]);
	close(go[0]);
	close(go[1]);
}
END_TEST

/* child_incrementer - n read-modify-write transactions on one counter. */
static void
child_incrementer(int n)
{
	static struct domain_state s;
	struct store_batch *b;
	struct store *st;
	char err[512];

	if (store_open(dir, 0, NULL, &st, err, sizeof(err)) != 0)
		child_fail(2, "store_open", err);
	for (int i = 0; i < n; i++) {
		if (store_batch_begin(st, &b, err, sizeof(err)) != 0)
			child_fail(3, "store_batch_begin", err);
		if (store_batch_get_state(b, "d00000.example", &s, err,
		                          sizeof(err)) != 0)
			child_fail(3, "store_batch_get_state", err);
		s.dns_errors++;
		s.since = s.dns_errors;
		if (store_batch_put_state(b, &s, err, sizeof(err)) != 0)
			child_fail(4, "store_batch_put_state", err);
		if (store_batch_commit(b, err, sizeof(err)) != 0)
			child_fail(4, "store_batch_commit", err);
	}
	store_close(st);
	_exit(0);
}

/* child_monotonic - the counter never goes back, never corrupt. */
static void
child_monotonic(long long ms)
{
	struct record_state_summary sum;
	struct store_reader *rd;
	struct store *st;
	char err[512];
	long long end = now_ms() + ms;
	uint32_t last = 0;

	if (store_open(dir, STORE_RDONLY, NULL, &st, err, sizeof(err)) != 0)
		child_fail(2, "store_open", err);
	if (store_reader_open(st, &rd, err, sizeof(err)) != 0)
		child_fail(2, "store_reader_open", err);
	while (now_ms() < end) {
		if (store_state_peek(rd, "d00000.example", &sum, err,
		                     sizeof(err)) != STORE_OK)
			child_fail(3, "store_state_peek", err);
		if (sum.dns_errors < last || sum.since != sum.dns_errors) {
			snprintf(err, sizeof(err),
			         "counter %u (since %lld) after %u",
			         sum.dns_errors, (long long)sum.since, last);
			child_fail(3, "inconsistent counter", err);
		}
		last = sum.dns_errors;
	}
	store_reader_close(rd);
	store_close(st);
	_exit(0);
}

START_TEST(test_concurrent_writers)
{
	static struct domain_state s;
	struct store *st = open_store(STORE_CREATE);
	pid_t pids[6];
	char err[512];
	int i;

	seed(st, 1, 0);
	store_close(st);
	for (i = 0; i < 4; i++)
		if ((pids[i] = fork()) == 0)
			child_incrementer(100);
	for (; i < 6; i++)
		if ((pids[i] = fork()) == 0)
			child_monotonic(500);
	for (i = 0; i < 6; i++)
		reap(pids[i]);
	st = open_store(0);
	ck_assert_int_eq(
	    store_state_get(st, "d00000.example", &s, err, sizeof(err)),
	    STORE_OK);
	ck_assert_uint_eq(s.dns_errors, 400); /* no lost update */
	store_close(st);
}
END_TEST

/* child_hold - keep the environment open until go is readable. */
static void
child_hold(int ready, int go)
{
	struct store *st;
	char err[512], c;

	if (store_open(dir, STORE_RDONLY, NULL, &st, err, sizeof(err)) != 0)
		child_fail(2, "store_open", err);
	if (write(ready, "O", 1) != 1)
		child_fail(2, "write", strerror(errno));
	(void)read(go, &c, 1);
	store_close(st);
	_exit(0);
}

/* child_stuck_reader - take a reader slot, report, wait to be killed. */
static void
child_stuck_reader(int ready)
{
	struct record_state_summary sum;
	struct store_reader *rd;
	struct store *st;
	char err[512];

	if (store_open(dir, STORE_RDONLY, NULL, &st, err, sizeof(err)) != 0)
		child_fail(2, "store_open", err);
	if (store_reader_open(st, &rd, err, sizeof(err)) != 0)
		child_fail(2, "store_reader_open", err);
	if (store_state_peek(rd, "d00000.example", &sum, err, sizeof(err)) != 0)
		child_fail(2, "store_state_peek", err);
	if (write(ready, "R", 1) != 1)
		child_fail(2, "write", strerror(errno));
	for (;;)
		pause();
}

START_TEST(test_stale_reader_cleared)
{
	struct store *st = open_store(STORE_CREATE);
	char err[512], warned[256] = "", c;
	int ready[2], go[2], status;
	pid_t holder, reader;

	seed(st, 1, 1);
	store_close(st);
	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(go), 0);
	/* A live holder keeps LMDB from re-initializing the lock file, as
	 * a running milter would when a CLI dies. */
	if ((holder = fork()) == 0)
		child_hold(ready[1], go[0]);
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	if ((reader = fork()) == 0)
		child_stuck_reader(ready[1]);
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	kill(reader, SIGKILL);
	ck_assert_int_eq(waitpid(reader, &status, 0), reader);
	ck_assert_int_eq(try_open(0, err, sizeof(err), warned), STORE_OK);
	ck_assert_msg(strstr(warned, "cleared 1 stale reader") != NULL,
	              "warned: %s", warned);
	ck_assert_int_eq(write(go[1], "x", 1), 1);
	reap(holder);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
}
END_TEST

/* child_bulk - refresh every state to batch numbers start, start+1, ...
 * and report each number on out once its commit returned. */
static void
child_bulk(int out)
{
	static struct domain_state s;
	struct store_batch *b;
	struct store *st;
	char err[512], name[32];
	uint32_t n;

	if (store_open(dir, 0, NULL, &st, err, sizeof(err)) != 0)
		child_fail(2, "store_open", err);
	if (store_state_get(st, "d00000.example", &s, err, sizeof(err)) != 0)
		child_fail(2, "store_state_get", err);
	for (n = s.dns_errors + 1;; n++) {
		if (store_batch_begin(st, &b, err, sizeof(err)) != 0)
			child_fail(3, "store_batch_begin", err);
		for (int i = 0; i < NDOMAINS_KILL; i++) {
			make_state(&s, dname(name, sizeof(name), i), n);
			if (store_batch_put_state(b, &s, err, sizeof(err)) != 0)
				child_fail(4, "store_batch_put_state", err);
		}
		if (store_batch_commit(b, err, sizeof(err)) != 0)
			child_fail(5, "store_batch_commit", err);
		if (write(out, &n, sizeof(n)) != sizeof(n))
			child_fail(6, "write", strerror(errno));
	}
}

/* same_cb - every state must carry the same batch number. */
static int
same_cb(void *ctx, const struct domain_state *s)
{
	int64_t *v = ctx;

	if (*v < 0)
		*v = s->dns_errors;
	else if (*v != (int64_t)s->dns_errors || s->since != *v)
		*v = -2 - (int64_t)s->dns_errors; /* mixed batches */
	return 0;
}

/* drain - last number reported on fd, or last if none. */
static uint32_t
drain(int fd, uint32_t last)
{
	uint32_t n;

	while (read(fd, &n, sizeof(n)) == sizeof(n))
		last = n;
	return last;
}

/* await_batch - the first batch number a child reports on fd. */
static uint32_t
await_batch(int fd, pid_t pid)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	uint32_t n = 0;
	int rc;

	while ((rc = poll(&pfd, 1, PROGRESS_WAIT_MS)) < 0 && errno == EINTR)
		;
	if (rc != 1 || read(fd, &n, sizeof(n)) != sizeof(n)) {
		kill(pid, SIGKILL);
		ck_abort_msg("child %d committed no batch in %d ms", (int)pid,
		             PROGRESS_WAIT_MS);
	}
	return n;
}

/* kill_round - start a bulk refresher, let it commit one batch, kill it
 * at a random point of a later one; the last number it reported. */
static uint32_t
kill_round(uint32_t committed, unsigned *seedp)
{
	long long t0 = now_ms(), batch_ms;
	int fds[2], status;
	uint32_t first;
	pid_t pid;

	ck_assert_int_eq(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		close(fds[0]);
		child_bulk(fds[1]);
	}
	close(fds[1]);
	first = await_batch(fds[0], pid);
	ck_assert_uint_eq(first, committed + 1);
	/* Kill within about one batch time: mostly mid-batch. */
	batch_ms = now_ms() - t0 + 1;
	usleep((useconds_t)(rand_r(seedp) % (unsigned)batch_ms) * 1000);
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status), "child exited %d",
	              WEXITSTATUS(status));
	first = drain(fds[0], first);
	close(fds[0]);
	return first;
}

/* verify_whole - every state from one batch; that batch number. */
static int64_t
verify_whole(int round)
{
	struct store_check_report rep;
	struct store *st = open_store(0);
	char err[512];
	size_t ncorrupt;
	int64_t v = -1;

	ck_assert_msg(store_check(st, &rep, NULL, NULL, err, sizeof(err)) ==
	                  STORE_OK,
	              "%s", err);
	ck_assert_uint_eq(rep.states, NDOMAINS_KILL);
	ck_assert_uint_eq(rep.regs, NDOMAINS_KILL);
	ck_assert_uint_eq(rep.orphan_states, 0);
	ck_assert_int_eq(
	    store_state_iter(st, same_cb, &v, &ncorrupt, err, sizeof(err)),
	    STORE_OK);
	store_close(st);
	ck_assert_uint_eq(ncorrupt, 0);
	ck_assert_msg(v >= 0, "round %d: mixed batches (%lld)", round,
	              (long long)v);
	return v;
}

START_TEST(test_kill9_bulk_refresh)
{
	struct store *st = open_store(STORE_CREATE);
	uint32_t committed = 0, reported;
	unsigned seed_ = (unsigned)getpid();
	long long t0 = now_ms();
	int round;
	int64_t v;

	seed(st, NDOMAINS_KILL, 0);
	store_close(st);
	for (round = 0; round < KILL_ROUNDS_MAX; round++) {
		if (round >= KILL_ROUNDS_MIN && now_ms() - t0 > KILL_BUDGET_MS)
			break;
		reported = kill_round(committed, &seed_);
		v = verify_whole(round);
		/* Nothing reported is lost; at most the one in flight,
		 * committed but not yet reported, is ahead. */
		ck_assert_msg(v == reported || v == (int64_t)reported + 1,
		              "round %d: store at %lld, child reported %u",
		              round, (long long)v, reported);
		committed = (uint32_t)v;
	}
	/* Every round committed work before it was killed. */
	ck_assert_uint_ge(committed, (uint32_t)round);
}
END_TEST

static Suite *
store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("single");
	TCase *mp = tcase_create("processes");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_bad_arguments);
	tcase_add_test(tc, test_corrupt_values);
	tcase_add_test(tc, test_generation_check);
	tcase_add_test(tc, test_orphans);
	tcase_add_test(tc, test_unregistered_states);
	tcase_add_test(tc, test_permissions);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(mp, setup, teardown);
	tcase_set_timeout(mp, 60);
	tcase_add_test(mp, test_readers_never_block);
	tcase_add_test(mp, test_concurrent_writers);
	tcase_add_test(mp, test_stale_reader_cleared);
	tcase_add_test(mp, test_kill9_bulk_refresh);
	suite_add_tcase(s, mp);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(store_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
