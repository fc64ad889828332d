/*
 * test_store.c - the LMDB store: round trips, corrupt and foreign values,
 * permission refusal, readers that never block, concurrent writer
 * processes, stale reader slots, kill -9 during bulk refreshes, and a
 * damaged page: the verifier and the export in a child, the fault guard.
 *
 * SYNOPSIS
 *	make check TESTS=tests/test_store
 *
 * DESCRIPTION
 *	Multi-process tests fork; each child opens its own environment (LMDB
 *	handles never cross fork) and reports with its exit status or a pipe.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lmdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "storecheck.h"

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
	struct storecodec_state_summary sum;
	struct storecodec_reg_summary rsum;
	struct store_reader *rd;
	struct store *st = open_store(STORE_CREATE);
	char err[512], ids[512] = "";
	size_t nheld;
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

	{
		char(*none)[DOMAIN_BUF] = NULL;
		size_t nnone = 9;

		ck_assert_int_eq(
		    store_held_domains(st, &none, &nnone, err, sizeof(err)),
		    STORE_OK);
		ck_assert_uint_eq(nnone, 0); /* nothing held yet */
		free(none);
	}
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
	ck_assert_int_eq(store_held_count(st, &nheld, err, sizeof(err)),
	                 STORE_OK);
	ck_assert_uint_eq(nheld, 3);
	/* The domains with held mail: each once, in key order. */
	{
		char(*doms)[DOMAIN_BUF] = NULL;
		size_t ndoms = 9;

		ck_assert_int_eq(
		    store_held_domains(st, &doms, &ndoms, err, sizeof(err)),
		    STORE_OK);
		ck_assert_uint_eq(ndoms, 2);
		ck_assert_str_eq(doms[0], "example.co");
		ck_assert_str_eq(doms[1], "example.com");
		free(doms);
	}
	ck_assert_int_eq(
	    store_held_del(st, "example.com", "3AbC", err, sizeof(err)),
	    STORE_OK);
	ck_assert_int_eq(store_held_count(st, &nheld, err, sizeof(err)),
	                 STORE_OK);
	ck_assert_uint_eq(nheld, 2);
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

START_TEST(test_last_commit)
{
	static struct domain_reg reg, got;
	struct store *st = open_store(STORE_CREATE);
	uint64_t a, b, c, d;
	char err[512];

	ck_assert_int_eq(store_last_commit(st, &a), STORE_OK);
	make_reg(&reg, "commit.example");
	ck_assert_int_eq(store_reg_get(st, "x.example", &got, err, sizeof(err)),
	                 STORE_NOTFOUND);
	ck_assert_int_eq(store_last_commit(st, &b), STORE_OK);
	ck_assert(b == a); /* reads commit nothing */
	ck_assert_int_eq(store_reg_put(st, &reg, err, sizeof(err)), STORE_OK);
	ck_assert_int_eq(store_last_commit(st, &c), STORE_OK);
	ck_assert(c > b);
	/* Another process's write: api.sh (held-add between two reads). */
	ck_assert_int_eq(store_held_add(st, "commit.example", "4Q1", 1,
	                                "pending", err, sizeof(err)),
	                 STORE_OK);
	ck_assert_int_eq(store_last_commit(st, &d), STORE_OK);
	ck_assert(d > c);
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
	struct storecodec_state_summary sum;
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
	unsigned char buf[STORECODEC_MAX];
	struct store_check_report rep;
	struct storecodec_state_summary sum;
	struct storecodec_reg_summary rsum;
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
	ck_assert_int_eq(storecodec_state_encode(&s, buf, sizeof(buf), &len,
	                                         err, sizeof(err)),
	                 0);
	raw_put("state", "d00002.example", 14, buf, len);
	buf[2] = STORECODEC_STATE_VERSION + 1; /* from a newer program */
	raw_put("state", "d00003.example", 14, buf, len);
	make_reg(&r, "d00004.example"); /* a registry record as a state */
	ck_assert_int_eq(
	    storecodec_reg_encode(&r, buf, sizeof(buf), &len, err, sizeof(err)),
	    0);
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
	struct storecodec_state_summary sum;
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

/* An unregistered domain's state and the mail held for it are normal
 * (the milter's UnregisteredDomains check), not damage: counted, no
 * finding, and the verifier calls the store sound. */
START_TEST(test_unregistered_sound)
{
	static struct domain_state s;
	static struct storecheck_result res;
	struct store_check_report rep;
	struct store *st = open_store(STORE_CREATE);
	char err[512];
	int problems = 0;

	seed(st, 3, 1);
	make_state(&s, "unregistered.example", 1);
	s.last_used = 1700000000;
	ck_assert_int_eq(store_state_put(st, &s, err, sizeof(err)), STORE_OK);
	ck_assert_int_eq(store_held_add(st, "unregistered.example", "Q1", 1,
	                                "r", err, sizeof(err)),
	                 STORE_OK);
	ck_assert_int_eq(
	    store_held_add(st, "gone.example", "Q2", 1, "r", err, sizeof(err)),
	    STORE_OK);
	ck_assert_int_eq(
	    store_check(st, &rep, problems_cb, &problems, err, sizeof(err)),
	    STORE_OK);
	ck_assert_uint_eq(rep.unreg_states, 1);
	ck_assert_uint_eq(rep.unreg_held, 2);
	ck_assert_uint_eq(rep.corrupt, 0);
	ck_assert_uint_eq(rep.damaged, 0);
	ck_assert_int_eq(problems, 0);
	store_close(st);
	ck_assert_msg(storecheck_verify(dir, NULL, NULL, &res) ==
	                  STORECHECK_SOUND,
	              "%s", res.error);
	ck_assert_uint_eq(res.nproblems, 0);
	ck_assert_uint_eq(res.rep.unreg_states, 1);
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
	struct storecodec_state_summary sum;
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
	struct storecodec_state_summary sum;
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
	struct storecodec_state_summary sum;
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
	ck_assert_uint_eq(rep.unreg_states, 0);
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
	/* and the store a kill -9 leaves is sound, page by page */
	{
		static struct storecheck_result res;

		ck_assert_msg(storecheck_verify(dir, NULL, NULL, &res) ==
		                  STORECHECK_SOUND,
		              "%s", res.error);
	}
}
END_TEST

/* seed_regs - n registry entries, no states, in one batch (so the file
 * holds no stale copies of registry pages). */
static void
seed_regs(int n)
{
	static struct domain_reg r;
	struct store *st = open_store(STORE_CREATE);
	struct store_batch *b;
	char err[512], name[32];

	ck_assert_int_eq(store_batch_begin(st, &b, err, sizeof(err)), STORE_OK);
	for (int i = 0; i < n; i++) {
		make_reg(&r, dname(name, sizeof(name), i));
		ck_assert_int_eq(store_batch_put_reg(b, &r, err, sizeof(err)),
		                 STORE_OK);
	}
	ck_assert_int_eq(store_batch_commit(b, err, sizeof(err)), STORE_OK);
	store_close(st);
}

/* Page layout of LMDB 0.9 (mdb.c): pgno(8) pad(2) flags(2) lower(2)
 * upper(2), then the node offsets; a branch node is pgno in lo(2) hi(2)
 * flags(2), ksize(2), key. */
#define PG_SIZE 4096
#define PG_FLAGS 10
#define PG_LOWER 12
#define PG_PTRS 16
#define PG_LEAF 0x02
#define PG_BRANCH 0x01

/* read_data - the whole data.mdb into a malloc'd buffer. */
static unsigned char *
read_data(size_t *len)
{
	char path[160];
	unsigned char *buf;
	FILE *fp;
	struct stat sb;

	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_ptr_nonnull(buf = malloc((size_t)sb.st_size));
	ck_assert_ptr_nonnull(fp = fopen(path, "rb"));
	ck_assert_uint_eq(fread(buf, 1, (size_t)sb.st_size, fp),
	                  (size_t)sb.st_size);
	fclose(fp);
	*len = (size_t)sb.st_size;
	return buf;
}

/* write_byte - one byte of data.mdb changed. */
static void
write_byte(size_t off, unsigned char v)
{
	char path[160];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	ck_assert_ptr_nonnull(fp = fopen(path, "r+b"));
	ck_assert_int_eq(fseek(fp, (long)off, SEEK_SET), 0);
	ck_assert_int_eq(fputc(v, fp), v);
	fclose(fp);
}

/* find_page - the page of the given type holding key; its number. */
static size_t
find_page(const unsigned char *buf, size_t len, unsigned flags, const char *key)
{
	for (size_t pg = 2; (pg + 1) * PG_SIZE <= len; pg++) {
		const unsigned char *p = buf + pg * PG_SIZE;

		if (p[PG_FLAGS] == flags && p[PG_FLAGS + 1] == 0 &&
		    memmem(p, PG_SIZE, key, strlen(key)) != NULL)
			return pg;
	}
	ck_abort_msg("no page of type %u holds %s", flags, key);
	return 0;
}

/* damage_leaf - the leaf holding key gets mp_lower 0: its node count
 * wraps around and a read of it faults inside liblmdb (as one changed
 * byte did in the issue). */
static void
damage_leaf(const char *key)
{
	size_t len, pg;
	unsigned char *buf = read_data(&len);

	pg = find_page(buf, len, PG_LEAF, key);
	free(buf);
	write_byte(pg * PG_SIZE + PG_LOWER, 0);
}

/* cut_leaf - the registry's branch node for the middle leaf points past
 * the file: that leaf cannot be reached (MDB_PAGE_NOTFOUND). */
static void
cut_leaf(void)
{
	size_t len, pg, n, node;
	unsigned char *buf = read_data(&len);
	const unsigned char *p;

	pg = find_page(buf, len, PG_BRANCH, "d00"); /* the registry's root */
	p = buf + pg * PG_SIZE;
	n = (size_t)((p[PG_LOWER] | p[PG_LOWER + 1] << 8) - PG_PTRS) / 2;
	ck_assert_uint_ge(n, 3);
	node = p[PG_PTRS + n] | p[PG_PTRS + n + 1] << 8; /* node n / 2 */
	free(buf);
	write_byte(pg * PG_SIZE + node + 1, 0xff); /* pgno += 0xff00 */
}

/* truncate_data - data.mdb loses its second half: the pages written
 * last lie past the end of the file, and a read of them is a SIGBUS. */
static void
truncate_data(void)
{
	char path[160];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(truncate(path, sb.st_size / 2 / PG_SIZE * PG_SIZE), 0);
}

/* export_count - store_reg_cb counting entries and checking the order
 * is the key order on each side of a gap. */
static int
export_count(void *ctx, const struct domain_reg *reg)
{
	(void)reg;
	++*(int *)ctx;
	return 0;
}

/* big_state - a state of every record with the longest details: its
 * value lives on overflow pages. */
static void
big_state(struct domain_state *s, const char *domain, uint32_t n)
{
	make_state(s, domain, n);
	s->nrecords = DOMAIN_RECORDS_MAX;
	for (int i = 0; i < DOMAIN_RECORDS_MAX; i++) {
		s->records[i].type = CHECK_MX;
		s->records[i].status = CHECK_MISSING;
		snprintf(s->records[i].name, sizeof(s->records[i].name),
		         "r%d.%s", i, domain);
		memset(s->records[i].detail, 'a' + i % 26,
		       sizeof(s->records[i].detail) - 1);
		s->records[i].detail[sizeof(s->records[i].detail) - 1] = '\0';
	}
}

START_TEST(test_verify_churned)
{
	static struct storecheck_result res;
	static struct domain_state s;
	struct store *st = open_store(STORE_CREATE);
	char err[512], name[32], q[16];

	/* Sound stores of every shape are sound: values inline and on
	 * overflow pages, held entries, after deletes that merge pages. */
	seed(st, 2000, 1);
	for (int i = 0; i < 2000; i += 3) {
		big_state(&s, dname(name, sizeof(name), i), 2);
		ck_assert_int_eq(store_state_put(st, &s, err, sizeof(err)),
		                 STORE_OK);
	}
	for (int i = 0; i < 300; i++) {
		snprintf(q, sizeof(q), "Q%04d", i);
		ck_assert_int_eq(
		    store_held_add(st, dname(name, sizeof(name), i % 7), q, i,
		                   "held", err, sizeof(err)),
		    STORE_OK);
	}
	for (int i = 0; i < 2000; i += 2) {
		dname(name, sizeof(name), i);
		ck_assert_int_eq(store_reg_del(st, name, err, sizeof(err)),
		                 STORE_OK);
		ck_assert_int_eq(store_state_del(st, name, err, sizeof(err)),
		                 STORE_OK);
	}
	for (int i = 0; i < 300; i += 2) {
		snprintf(q, sizeof(q), "Q%04d", i);
		ck_assert_int_eq(
		    store_held_del(st, dname(name, sizeof(name), i % 7), q, err,
		                   sizeof(err)),
		    STORE_OK);
	}
	store_close(st);
	ck_assert_msg(storecheck_verify(dir, NULL, NULL, &res) ==
	                  STORECHECK_SOUND,
	              "%s", res.error);
	ck_assert_uint_eq(res.rep.regs, 1000);
	ck_assert_uint_gt(res.pages, 100);
}
END_TEST

START_TEST(test_verify_in_child)
{
	static struct storecheck_result res;
	char msg[2048];

	ck_assert_int_eq(storecheck_verify(dir, NULL, NULL, &res),
	                 STORECHECK_SOUND);
	ck_assert_int_eq(res.absent, 1);
	seed_regs(300);
	ck_assert_int_eq(storecheck_verify(dir, NULL, NULL, &res),
	                 STORECHECK_SOUND);
	ck_assert_int_eq(res.absent, 0);
	ck_assert_uint_eq(res.rep.regs, 300);
	ck_assert_uint_eq(res.rep.damaged + res.rep.corrupt, 0);

	/* A leaf whose node count wraps: found in the page structure,
	 * before liblmdb maps it. */
	damage_leaf("d00150.example");
	ck_assert_int_eq(storecheck_verify(dir, NULL, NULL, &res),
	                 STORECHECK_DAMAGED);
	ck_assert_int_eq(res.signal, 0);
	storecheck_message(&res, dir, msg, sizeof(msg));
	ck_assert_msg(strstr(msg, "is damaged: its page structure: ") != NULL &&
	                  strstr(msg, "bounds 0..") != NULL &&
	                  strstr(msg, "recover with: ") != NULL,
	              "%s", msg);

	/* A writer refuses it before liblmdb maps it; a reader opens. */
	{
		struct store *st;
		char err[1024];

		ck_assert_int_eq(
		    store_open(dir, 0, NULL, &st, err, sizeof(err)),
		    STORE_ERROR);
		ck_assert_msg(strstr(err, "the store is damaged: its page "
		                          "structure: ") != NULL,
		              "%s", err);
		st = open_store(STORE_RDONLY);
		store_close(st);
	}

	/* Pages past the end of the file (liblmdb: SIGBUS). */
	truncate_data();
	ck_assert_int_eq(storecheck_verify(dir, NULL, NULL, &res),
	                 STORECHECK_DAMAGED);
	ck_assert_ptr_nonnull(strstr(res.error, "the file holds"));
}
END_TEST

/* write_data - data.mdb replaced by buf. */
static void
write_data(const unsigned char *buf, size_t len)
{
	char path[160];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	ck_assert_ptr_nonnull(fp = fopen(path, "wb"));
	ck_assert_uint_eq(fwrite(buf, 1, len, fp), len);
	fclose(fp);
}

/* use_all_exit - in a child without the guard: every read the programs
 * do, then writes that split, fill and free pages; its wait status (a
 * signal when liblmdb faulted or its heap broke). */
static int
use_all_exit(void)
{
	static struct domain_state s;
	struct store_check_report rep;
	struct store *st;
	char err[512], name[32];
	size_t nc;
	int ws, n = 0;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		alarm(20);
		if (store_open(dir, 0, NULL, &st, err, sizeof(err)) != STORE_OK)
			_exit(0);
		store_check(st, &rep, NULL, NULL, err, sizeof(err));
		store_reg_iter(st, (store_reg_cb)(void *)count_cb, &n, &nc, err,
		               sizeof(err));
		store_state_iter(st, count_cb, &n, &nc, err, sizeof(err));
		for (int i = 0; i < 300; i += 7) {
			big_state(&s, dname(name, sizeof(name), i), 3);
			store_state_put(st, &s, err, sizeof(err));
			store_reg_del(st, name, err, sizeof(err));
		}
		store_close(st);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &ws, 0), pid);
	return ws;
}

/* Every byte of every page header and of the first node of every page,
 * set to 0, to 0xff and flipped in its low bit: when the verifier calls
 * the store sound, reading all of it and writing to it through liblmdb
 * does not fault. */
START_TEST(test_verify_sweep)
{
	static struct storecheck_result res;
	unsigned char *orig, *buf;
	size_t len, sound = 0, damaged = 0;

	seed_regs(300);
	orig = read_data(&len);
	ck_assert_ptr_nonnull(buf = malloc(len));
	for (size_t pg = 2; (pg + 1) * PG_SIZE <= len; pg++) {
		size_t first = orig[pg * PG_SIZE + PG_PTRS] |
		               orig[pg * PG_SIZE + PG_PTRS + 1] << 8;

		for (size_t o = 0; o < PG_PTRS + 8; o++) {
			size_t off = pg * PG_SIZE +
			             (o < PG_PTRS ? o : first + o - PG_PTRS);
			const unsigned char vals[] = {
			    0, 0xff, (unsigned char)(orig[off] ^ 1)};

			if (off >= (pg + 1) * PG_SIZE)
				continue;
			for (size_t v = 0; v < sizeof(vals); v++) {
				int ws;

				if (vals[v] == orig[off])
					continue;
				memcpy(buf, orig, len);
				buf[off] = vals[v];
				write_data(buf, len);
				if (storecheck_verify(dir, NULL, NULL, &res) !=
				    STORECHECK_SOUND) {
					damaged++;
					continue;
				}
				sound++;
				ws = use_all_exit();
				ck_assert_msg(!WIFSIGNALED(ws),
				              "byte %zu = %#x: verified sound, "
				              "then signal %d",
				              off, vals[v], WTERMSIG(ws));
			}
		}
	}
	free(buf);
	free(orig);
	ck_assert_uint_gt(damaged, 0);
}
END_TEST

/* setup_faults - a storecheck_setup that faults, as liblmdb would. */
static int
setup_faults(void *ctx, char *err, size_t errlen)
{
	(void)ctx;
	(void)err;
	(void)errlen;
	raise(SIGSEGV);
	return 0;
}

START_TEST(test_verify_child_faults)
{
	static struct storecheck_result res;
	char msg[2048];

	seed_regs(10);
	ck_assert_int_eq(storecheck_verify(dir, setup_faults, NULL, &res),
	                 STORECHECK_DAMAGED);
	ck_assert_int_eq(res.signal, SIGSEGV);
	storecheck_message(&res, dir, msg, sizeof(msg));
	ck_assert_msg(strstr(msg, "reading it faulted (SIGSEGV)") != NULL, "%s",
	              msg);
}
END_TEST

START_TEST(test_verify_cut_tree)
{
	static struct storecheck_result res;
	struct store_check_report rep;
	struct store *st;
	char err[512];

	seed_regs(300);
	cut_leaf();
	ck_assert_int_eq(storecheck_verify(dir, NULL, NULL, &res),
	                 STORECHECK_DAMAGED);
	ck_assert_msg(strstr(res.error, "is outside the file") != NULL, "%s",
	              res.error);
	/* No fault here: store_check itself says it, in this process. */
	st = open_store(STORE_RDONLY);
	ck_assert_int_ne(store_check(st, &rep, NULL, NULL, err, sizeof(err)),
	                 STORE_OK);
	ck_assert_str_eq(rep.db, "registry");
	ck_assert_uint_gt(rep.regs, 0);
	ck_assert_uint_lt(rep.regs, 300);
	store_close(st);
}
END_TEST

START_TEST(test_export_salvage)
{
	static struct storecheck_export_result res;
	int n = 0;

	seed_regs(300);
	ck_assert_int_eq(storecheck_export(dir, export_count, NULL, &n, &res),
	                 0);
	ck_assert_int_eq(n, 300);
	ck_assert_int_eq(res.faulted, 0);

	/* A walk that faults part way: the backward walk reads the rest. */
	damage_leaf("d00150.example");
	n = 0;
	ck_assert_int_ge(storecheck_export(dir, export_count, NULL, &n, &res),
	                 0);
	ck_assert_int_eq(res.faulted, 1);
	ck_assert_int_eq((size_t)n == res.entries, !res.gap);
	ck_assert_int_gt(n, 0);
}
END_TEST

START_TEST(test_export_gap)
{
	static struct storecheck_export_result res;
	int n = 0;

	seed_regs(300);
	cut_leaf();
	ck_assert_int_eq(storecheck_export(dir, export_count, NULL, &n, &res),
	                 1);
	ck_assert_int_eq(res.gap, 1);
	ck_assert_uint_eq(res.entries, 300);
	ck_assert_int_gt(n, 100);
	ck_assert_int_lt(n, 300);
	ck_assert_uint_eq(res.exported, (size_t)n);
	ck_assert_msg(strcmp(res.gap_after, res.gap_before) < 0, "%s / %s",
	              res.gap_after, res.gap_before);
	ck_assert_ptr_nonnull(strstr(res.why, "MDB_PAGE_NOTFOUND"));
}
END_TEST

/* guarded_child - in a child with the guard and stderr on fd: read the
 * whole registry; returns only if nothing faulted. */
static void
guarded_child(int fd, int raise_segv)
{
	struct store *st;
	char err[512];
	size_t nc;
	int n = 0;

	dup2(fd, STDERR_FILENO);
	if (store_guard_install("tguard", err, sizeof(err)) != STORE_OK)
		_exit(2);
	if (raise_segv)
		raise(SIGSEGV); /* not the store's: must kill */
	if (store_open(dir, STORE_RDONLY, NULL, &st, err, sizeof(err)) !=
	    STORE_OK)
		_exit(3);
	store_reg_iter(st, (store_reg_cb)(void *)count_cb, &n, &nc, err,
	               sizeof(err));
	_exit(0);
}

/* run_guarded - fork guarded_child; its wait status and stderr. */
static int
run_guarded(int raise_segv, char *out, size_t outlen)
{
	int fds[2], ws;
	ssize_t got;
	pid_t pid;

	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0) {
		close(fds[0]);
		guarded_child(fds[1], raise_segv);
	}
	close(fds[1]);
	for (size_t used = 0;; used += (size_t)got) {
		out[used] = '\0';
		if (used + 1 >= outlen ||
		    (got = read(fds[0], out + used, outlen - 1 - used)) <= 0)
			break;
	}
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, &ws, 0), pid);
	return ws;
}

START_TEST(test_guard)
{
	char out[2048], want[256];
	int ws;

	seed_regs(300);
	truncate_data();
	ws = run_guarded(0, out, sizeof(out));
	ck_assert_msg(WIFEXITED(ws) && WEXITSTATUS(ws) == STORE_EXIT_DAMAGED,
	              "wait status %#x; stderr: %s", ws, out);
	snprintf(want, sizeof(want),
	         "tguard: state store %s is damaged: ", dir);
	ck_assert_msg(strncmp(out, want, strlen(want)) == 0, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "recover with: " STORE_RECOVERY));
	/* A fault that is not the store's goes to the handler before: the
	 * default action, or a sanitizer's report and exit status. */
	ws = run_guarded(1, out, sizeof(out));
	ck_assert_msg((WIFSIGNALED(ws) && WTERMSIG(ws) == SIGSEGV) ||
	                  (WIFEXITED(ws) && WEXITSTATUS(ws) != 0 &&
	                   WEXITSTATUS(ws) != STORE_EXIT_DAMAGED &&
	                   strstr(out, "Sanitizer") != NULL),
	              "wait status %#x; stderr: %s", ws, out);
	ck_assert_ptr_null(strstr(out, "is damaged"));
}
END_TEST

/* Where foreign_fault_child faults: outside every store call, with a
 * write batch open, with a read snapshot open, and in the callback of
 * an iteration (store_unreg_iter). */
enum fault_at { FAULT_BATCH, FAULT_READ, FAULT_UNREG_CB, FAULT_IN_MAP };

/* fault - raise sig; SIGSEGV by a store through a low address (a NULL
 * dereference: LMDB reports its map at NULL without MDB_FIXEDMAP). */
static void
fault(int sig)
{
	volatile uintptr_t bad = 16;

	if (sig == SIGSEGV)
		*(volatile int *)bad = 1;
	raise(sig);
}

/* map_end - an address past the end of data.mdb inside its map (read
 * from /proc/self/maps), or 0. */
static uintptr_t
map_end(void)
{
	char path[PATH_MAX], line[PATH_MAX + 128], perms[8];
	unsigned long a, b, off, ino;
	unsigned maj, min;
	struct stat sb;
	uintptr_t at = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	if (stat(path, &sb) != 0 ||
	    (fp = fopen("/proc/self/maps", "r")) == NULL)
		return 0;
	while (at == 0 && fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu", &a, &b, perms,
		           &off, &maj, &min, &ino) == 7 &&
		    ino == (unsigned long)sb.st_ino &&
		    a + (unsigned long)sb.st_size + 65536 < b)
			at = a + (uintptr_t)sb.st_size + 65536;
	fclose(fp);
	return at;
}

/* fault_cb - an iteration callback that faults like a bug of the caller. */
static int
fault_cb(void *ctx, const struct domain_state *state, bool held)
{
	(void)state;
	(void)held;
	fault(*(int *)ctx);
	return 0;
}

/* foreign_fault_child - in a child with the guard and stderr on fd: raise
 * sig in the caller's code while the store holds a transaction open. */
static void
foreign_fault_child(int fd, enum fault_at at, int sig)
{
	static struct domain_state s;
	struct store_reader *rd;
	struct store_batch *b;
	struct store *st;
	char err[512];
	uintptr_t bad;
	size_t nc;

	dup2(fd, STDERR_FILENO);
	if (store_guard_install("tguard", err, sizeof(err)) != STORE_OK)
		_exit(2);
	if (store_open(dir, STORE_CREATE, NULL, &st, err, sizeof(err)) !=
	    STORE_OK)
		_exit(3);
	make_state(&s, "unreg.example", 1);
	if (store_state_put(st, &s, err, sizeof(err)) != STORE_OK)
		_exit(4);
	switch (at) {
	case FAULT_BATCH: /* the checker's batch across DNS callbacks */
		if (store_batch_begin(st, &b, err, sizeof(err)) != STORE_OK ||
		    store_batch_put_state(b, &s, err, sizeof(err)) != STORE_OK)
			_exit(5);
		fault(sig);
		break;
	case FAULT_READ: /* the milter's snapshot across its decision */
		if (store_reader_open(st, &rd, err, sizeof(err)) != STORE_OK ||
		    store_read_begin(rd, err, sizeof(err)) != STORE_OK)
			_exit(5);
		fault(sig);
		break;
	case FAULT_UNREG_CB:
		store_unreg_iter(st, fault_cb, &sig, &nc, err, sizeof(err));
		break;
	case FAULT_IN_MAP: /* past the file's end: SIGBUS in the map */
		if ((bad = map_end()) == 0)
			_exit(6);
		(void)*(volatile const char *)bad;
		break;
	}
	_exit(0);
}

/* run_foreign_fault - fork foreign_fault_child; wait status and stderr. */
static int
run_foreign_fault(enum fault_at at, int sig, char *out, size_t outlen)
{
	int fds[2], ws;
	ssize_t got;
	pid_t pid;

	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0) {
		close(fds[0]);
		foreign_fault_child(fds[1], at, sig);
	}
	close(fds[1]);
	for (size_t used = 0;; used += (size_t)got) {
		out[used] = '\0';
		if (used + 1 >= outlen ||
		    (got = read(fds[0], out + used, outlen - 1 - used)) <= 0)
			break;
	}
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, &ws, 0), pid);
	return ws;
}

/* A fault or abort in the caller's code while a batch or a snapshot is
 * open (the checker runs DNS callbacks inside its batch) is a bug of the
 * caller: it dies by the signal (or a sanitizer's report), it is not
 * reported as store damage. */
START_TEST(test_replica_position)
{
	struct store *st = open_store(STORE_CREATE);
	struct store_replica rp = {0}, got;
	struct store_check_report rep;
	struct domain_state s;
	struct domain_reg r;
	struct store_batch *b;
	char err[512];

	/* none yet */
	ck_assert_int_eq(store_replica_get(st, &got, err, sizeof(err)),
	                 STORE_NOTFOUND);
	/* rows and the position commit together */
	make_reg(&r, "a.example");
	make_state(&s, "a.example", 3);
	rp.position = 0x0102030405060708LL;
	rp.heard_ms = 1700000000123LL;
	ck_assert_int_eq(store_batch_begin(st, &b, err, sizeof(err)), STORE_OK);
	ck_assert_int_eq(store_batch_put_reg(b, &r, err, sizeof(err)),
	                 STORE_OK);
	ck_assert_int_eq(store_batch_put_state(b, &s, err, sizeof(err)),
	                 STORE_OK);
	ck_assert_int_eq(store_batch_put_replica(b, &rp, err, sizeof(err)),
	                 STORE_OK);
	ck_assert_int_eq(store_batch_commit(b, err, sizeof(err)), STORE_OK);
	ck_assert_int_eq(store_replica_get(st, &got, err, sizeof(err)),
	                 STORE_OK);
	ck_assert(got.position == rp.position);
	ck_assert(got.heard_ms == rp.heard_ms);
	/* an aborted batch leaves the position as it was */
	ck_assert_int_eq(store_batch_begin(st, &b, err, sizeof(err)), STORE_OK);
	rp.position = 99;
	ck_assert_int_eq(store_batch_put_replica(b, &rp, err, sizeof(err)),
	                 STORE_OK);
	store_batch_abort(b);
	ck_assert_int_eq(store_replica_get(st, &got, err, sizeof(err)),
	                 STORE_OK);
	ck_assert(got.position == 0x0102030405060708LL);
	/* the key in the main database is no finding of store_check */
	ck_assert_int_eq(store_check(st, &rep, NULL, NULL, err, sizeof(err)),
	                 STORE_OK);
	/* a registry entry deleted in a batch; the position forgotten */
	ck_assert_int_eq(store_batch_begin(st, &b, err, sizeof(err)), STORE_OK);
	ck_assert_int_eq(store_batch_del_reg(b, "a.example", err, sizeof(err)),
	                 STORE_OK);
	ck_assert_int_eq(store_batch_del_reg(b, "a.example", err, sizeof(err)),
	                 STORE_NOTFOUND);
	ck_assert_int_eq(store_batch_del_replica(b, err, sizeof(err)),
	                 STORE_OK);
	ck_assert_int_eq(store_batch_commit(b, err, sizeof(err)), STORE_OK);
	ck_assert_int_eq(store_reg_get(st, "a.example", &r, err, sizeof(err)),
	                 STORE_NOTFOUND);
	ck_assert_int_eq(store_state_get(st, "a.example", &s, err, sizeof(err)),
	                 STORE_OK);
	ck_assert_int_eq(store_replica_get(st, &got, err, sizeof(err)),
	                 STORE_NOTFOUND);
	store_close(st);
}
END_TEST

START_TEST(test_reopen_deleted)
{
	struct store *st = open_store(STORE_CREATE);
	struct storecodec_state_summary sum;
	struct store_reader *rd;
	struct domain_state s;
	char err[512], path[160];

	make_state(&s, "old.example", 1);
	ck_assert_int_eq(store_state_put(st, &s, err, sizeof(err)), STORE_OK);
	ck_assert_int_eq(store_reader_open(st, &rd, err, sizeof(err)),
	                 STORE_OK);
	ck_assert_int_eq(
	    store_state_peek(rd, "old.example", &sum, err, sizeof(err)),
	    STORE_OK);
	ck_assert(!store_replaced(st, dir));
	/* a store put in place of the open one is not taken over */
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert(store_replaced(st, dir));
	ck_assert_int_eq(close(open(path, O_CREAT | O_WRONLY, 0640)), 0);
	ck_assert(store_replaced(st, dir));
	ck_assert_int_eq(store_reopen(st, dir, err, sizeof(err)), STORE_ERROR);
	ck_assert(strstr(err, "replaced") != NULL);
	/* deleted: a new store, the reader follows it at its next read */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(store_reopen(st, dir, err, sizeof(err)), STORE_OK);
	ck_assert(!store_replaced(st, dir));
	ck_assert_int_eq(
	    store_state_peek(rd, "old.example", &sum, err, sizeof(err)),
	    STORE_NOTFOUND);
	make_state(&s, "new.example", 2);
	ck_assert_int_eq(store_state_put(st, &s, err, sizeof(err)), STORE_OK);
	ck_assert_int_eq(
	    store_state_peek(rd, "new.example", &sum, err, sizeof(err)),
	    STORE_OK);
	store_reader_close(rd);
	store_close(st);
	/* what the daemon wrote after the rebuild is in the new files */
	st = open_store(0);
	ck_assert_int_eq(
	    store_state_get(st, "new.example", &s, err, sizeof(err)), STORE_OK);
	store_close(st);
}
END_TEST

START_TEST(test_guard_foreign_fault)
{
	static const enum fault_at ats[] = {FAULT_BATCH, FAULT_READ,
	                                    FAULT_UNREG_CB};
	static const int sigs[] = {SIGSEGV, SIGABRT, SIGBUS};
	char out[2048];
	int ws;

	for (size_t i = 0; i < sizeof(ats) / sizeof(ats[0]); i++)
		for (size_t j = 0; j < sizeof(sigs) / sizeof(sigs[0]); j++) {
			ws = run_foreign_fault(ats[i], sigs[j], out,
			                       sizeof(out));
			ck_assert_msg(
			    (WIFSIGNALED(ws) && WTERMSIG(ws) == sigs[j]) ||
			        (WIFEXITED(ws) && WEXITSTATUS(ws) != 0 &&
			         WEXITSTATUS(ws) != STORE_EXIT_DAMAGED &&
			         strstr(out, "Sanitizer") != NULL),
			    "at %d signal %d: wait status %#x; stderr: %s",
			    (int)ats[i], sigs[j], ws, out);
			ck_assert_msg(strstr(out, "is damaged") == NULL,
			              "at %d signal %d: %s", (int)ats[i],
			              sigs[j], out);
		}
	/* A fault in the map is the store's, inside a store call or not. */
	ws = run_foreign_fault(FAULT_IN_MAP, SIGBUS, out, sizeof(out));
	ck_assert_msg(WIFEXITED(ws) && WEXITSTATUS(ws) == STORE_EXIT_DAMAGED,
	              "wait status %#x; stderr: %s", ws, out);
	ck_assert_ptr_nonnull(strstr(out, "is damaged: a read inside its LMDB "
	                                  "map faulted (SIGBUS)"));
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
	tcase_add_test(tc, test_last_commit);
	tcase_add_test(tc, test_replica_position);
	tcase_add_test(tc, test_reopen_deleted);
	tcase_add_test(tc, test_bad_arguments);
	tcase_add_test(tc, test_corrupt_values);
	tcase_add_test(tc, test_generation_check);
	tcase_add_test(tc, test_unregistered_sound);
	tcase_add_test(tc, test_unregistered_states);
	tcase_add_test(tc, test_permissions);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(mp, setup, teardown);
	tcase_set_timeout(mp, 60);
	tcase_add_test(mp, test_readers_never_block);
	tcase_add_test(mp, test_concurrent_writers);
	tcase_add_test(mp, test_stale_reader_cleared);
	tcase_add_test(mp, test_kill9_bulk_refresh);
	tcase_add_test(mp, test_verify_churned);
	tcase_add_test(mp, test_verify_in_child);
	tcase_add_test(mp, test_verify_child_faults);
	tcase_add_test(mp, test_verify_sweep);
	tcase_add_test(mp, test_verify_cut_tree);
	tcase_add_test(mp, test_export_salvage);
	tcase_add_test(mp, test_export_gap);
	tcase_add_test(mp, test_guard);
	tcase_add_test(mp, test_guard_foreign_fault);
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
