/*
 * test_checker.c - the checker's listing and the upkeep of unregistered
 * domains' states (no DNS: the store only), the lock-free table of
 * used domains the milter fills (usage.c), also under concurrent notes,
 * and the flush hook of a fleet's write-back (checks against a closed
 * loopback port: every lookup fails at once).
 *
 * SYNOPSIS
 *	make check TESTS=tests/test_checker
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checker.h"
#include "dns.h"
#include "store.h"
#include "usage.h"

#define T0 INT64_C(1700000000)
#define DAY 86400
#define EXPIRY (30 * DAY)
#define NOTERS 4        /* threads noting at once */
#define NOTES_EACH 1000 /* distinct names per thread */

static char base[64];
static char dir[96];

static void
setup(void)
{
	snprintf(base, sizeof(base), "/tmp/test_checker.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(base));
	snprintf(dir, sizeof(dir), "%s/state", base);
}

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

/* open_store - a new store or fail the test. */
static struct store *
open_store(void)
{
	struct store *st;
	char err[512];

	ck_assert_msg(store_open(dir, STORE_CREATE, NULL, &st, err,
	                         sizeof(err)) == STORE_OK,
	              "store_open: %s", err);
	return st;
}

/* put_state - a pending state for domain, due at next, last used at
 * last_used. */
static void
put_state(struct store *st, const char *domain, int64_t next, int64_t last_used)
{
	static struct domain_state s;
	char err[512];

	memset(&s, 0, sizeof(s));
	snprintf(s.domain, sizeof(s.domain), "%s", domain);
	s.state = READINESS_PENDING;
	s.since = T0 - DAY;
	s.next_check = next;
	s.last_used = last_used;
	ck_assert_int_eq(store_state_put(st, &s, err, sizeof(err)), STORE_OK);
}

/* put_reg - register domain. */
static void
put_reg(struct store *st, const char *domain)
{
	static struct domain_reg r;
	char err[512];

	memset(&r, 0, sizeof(r));
	snprintf(r.domain, sizeof(r.domain), "%s", domain);
	r.dmarc_min_policy = -1;
	ck_assert_int_eq(store_reg_put(st, &r, err, sizeof(err)), STORE_OK);
}

/* joined - names[0..n) as "a,b,c". */
static const char *
joined(char **names, size_t n)
{
	static char buf[1024];
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%s",
		                         i ? "," : "", names[i]);
	return buf;
}

/* last_used_of - the stored last_used of domain, -1 when it has none. */
static int64_t
last_used_of(struct store *st, const char *domain)
{
	static struct domain_state s;
	char err[512];

	if (store_state_get(st, domain, &s, err, sizeof(err)) != STORE_OK)
		return -1;
	return s.last_used;
}

/*
 * The due round lists the states of unregistered domains after the
 * registered domains, on the same schedule: a due one is listed, one not
 * yet due is not; --all lists them all.  (Before, only the registry was
 * walked: an unregistered domain was never checked again.)
 */
START_TEST(test_list_includes_unregistered)
{
	struct store *st = open_store();
	char **names, err[512];
	size_t n;

	put_reg(st, "reg-due.example");
	put_state(st, "reg-due.example", T0 - 1, 0);
	put_reg(st, "reg-later.example");
	put_state(st, "reg-later.example", T0 + 60, 0);
	put_reg(st, "reg-never.example"); /* never checked: due */
	put_state(st, "a-unreg-due.example", T0, T0 - DAY);
	put_state(st, "b-unreg-later.example", T0 + 60, T0 - DAY);

	ck_assert_int_eq(
	    checker_list(st, true, T0, &names, &n, err, sizeof(err)), 0);
	ck_assert_str_eq(
	    joined(names, n),
	    "reg-due.example,reg-never.example,a-unreg-due.example");
	checker_list_free(names, n);

	ck_assert_int_eq(
	    checker_list(st, false, T0, &names, &n, err, sizeof(err)), 0);
	ck_assert_str_eq(joined(names, n),
	                 "reg-due.example,reg-later.example,reg-never.example,"
	                 "a-unreg-due.example,b-unreg-later.example");
	checker_list_free(names, n);
	store_close(st);
}
END_TEST

/*
 * The census of a due round counts every state it reads, due or not:
 * registered ones by state (never checked on their own), unregistered
 * ones by state; the list is checker_list's.
 */
START_TEST(test_list_census)
{
	struct store *st = open_store();
	struct checker_census c;
	char **names, err[512];
	size_t n;

	put_reg(st, "reg-due.example");
	put_state(st, "reg-due.example", T0 - 1, 0);
	put_reg(st, "reg-later.example");
	put_state(st, "reg-later.example", T0 + 60, 0);
	put_reg(st, "reg-never.example");
	put_state(st, "a-unreg-due.example", T0, T0 - DAY);
	put_state(st, "b-unreg-later.example", T0 + 60, T0 - DAY);

	memset(&c, 0xff, sizeof(c)); /* the census starts from zero */
	ck_assert_int_eq(
	    checker_list_census(st, T0, &names, &n, &c, err, sizeof(err)), 0);
	ck_assert_str_eq(
	    joined(names, n),
	    "reg-due.example,reg-never.example,a-unreg-due.example");
	checker_list_free(names, n);
	ck_assert_uint_eq(c.registered[READINESS_PENDING], 2);
	ck_assert_uint_eq(c.registered[CHECKER_NEVER_CHECKED], 1);
	ck_assert_uint_eq(c.registered[READINESS_VERIFIED], 0);
	ck_assert_uint_eq(c.registered[READINESS_UNKNOWN], 0);
	ck_assert_uint_eq(c.unregistered[READINESS_PENDING], 2);
	ck_assert_uint_eq(c.unregistered[READINESS_VERIFIED], 0);
	store_close(st);
}
END_TEST

/* pruned_cb - "domain," per removed state. */
static void
pruned_cb(void *arg, const char *domain, int64_t last_used)
{
	size_t n = strlen(arg);

	(void)last_used;
	snprintf((char *)arg + n, 512 - n, "%s,", domain);
}

/*
 * The upkeep removes the state of an unregistered domain no mail used for
 * the expiry, and keeps: one used since (its use recorded now), one used
 * recently, one with held mail, one whose last use is unknown (written
 * before uses were recorded), and a registered domain's state however old.
 */
START_TEST(test_upkeep_prunes_unused_keeps_used)
{
	struct store *st = open_store();
	struct checker_upkeep up;
	uint64_t used[1];
	char err[512], pruned[512] = "";
	const int64_t now = T0 + EXPIRY + 10;

	put_state(st, "old-unused.example", T0 + DAY, T0);
	put_state(st, "old-used.example", T0 + DAY, T0);
	put_state(st, "recent.example", T0 + DAY, now - 3600);
	put_state(st, "held.example", T0 + DAY, T0);
	put_state(st, "unknown.example", T0 + DAY, 0);
	put_reg(st, "registered.example");
	put_state(st, "registered.example", T0 + DAY, T0);
	ck_assert_int_eq(
	    store_held_add(st, "held.example", "Q1", T0, "r", err, sizeof(err)),
	    STORE_OK);

	used[0] = usage_hash("old-used.example");
	memset(&up, 0, sizeof(up));
	up.now = now;
	up.expiry = EXPIRY;
	up.used = used;
	up.nused = 1;
	up.on_prune = pruned_cb;
	up.arg = pruned;
	ck_assert_int_eq(checker_upkeep(st, &up, err, sizeof(err)), 0);
	ck_assert_str_eq(pruned, "old-unused.example,");
	ck_assert_uint_eq(up.pruned, 1);
	ck_assert_uint_eq(up.recorded, 1);
	ck_assert_uint_eq(up.unregistered, 5);

	ck_assert(last_used_of(st, "old-unused.example") == -1);
	ck_assert(last_used_of(st, "old-used.example") == now);
	ck_assert(last_used_of(st, "recent.example") == now - 3600);
	ck_assert(last_used_of(st, "held.example") == T0);
	ck_assert(last_used_of(st, "unknown.example") == 0);
	ck_assert(last_used_of(st, "registered.example") == T0);

	/* A use within a step of the last one writes nothing. */
	used[0] = usage_hash("recent.example");
	pruned[0] = '\0';
	ck_assert_int_eq(checker_upkeep(st, &up, err, sizeof(err)), 0);
	ck_assert_uint_eq(up.recorded, 0);
	ck_assert_uint_eq(up.pruned, 0);
	ck_assert(last_used_of(st, "recent.example") == now - 3600);

	/* Expiry 0 prunes nothing. */
	up.expiry = 0;
	up.now = now + 100 * EXPIRY;
	up.nused = 0;
	ck_assert_int_eq(checker_upkeep(st, &up, err, sizeof(err)), 0);
	ck_assert_uint_eq(up.pruned, 0);
	store_close(st);
}
END_TEST

/* The table: notes are drained once, sorted and unique; a full table
 * counts what it could not hold. */
START_TEST(test_usage_note_drain)
{
	struct usage *u = usage_new();
	static uint64_t out[USAGE_SLOTS];
	char name[64];
	uint64_t dropped = 7;
	size_t n;

	ck_assert_ptr_nonnull(u);
	ck_assert_uint_eq(usage_drain(u, out, USAGE_SLOTS, &dropped), 0);
	ck_assert_uint_eq(dropped, 0);
	usage_note(u, "b.example");
	usage_note(u, "a.example");
	usage_note(u, "b.example");
	n = usage_drain(u, out, USAGE_SLOTS, &dropped);
	ck_assert_uint_eq(n, 2);
	ck_assert(out[0] < out[1]);
	ck_assert(usage_seen(out, n, "a.example"));
	ck_assert(usage_seen(out, n, "b.example"));
	ck_assert(!usage_seen(out, n, "c.example"));
	ck_assert_uint_eq(usage_drain(u, out, USAGE_SLOTS, &dropped), 0);

	for (int i = 0; i < USAGE_SLOTS + 500; i++) {
		snprintf(name, sizeof(name), "d%d.example", i);
		usage_note(u, name);
	}
	n = usage_drain(u, out, USAGE_SLOTS, &dropped);
	ck_assert_uint_eq(n + dropped, USAGE_SLOTS + 500);
	ck_assert_uint_ge(dropped, 500);
	usage_free(u);
}
END_TEST

struct noter {
	struct usage *u;
	int id;
};

static void *
noter_main(void *arg)
{
	struct noter *nt = arg;
	char name[64];

	for (int i = 0; i < NOTES_EACH; i++) {
		snprintf(name, sizeof(name), "t%d-%d.example", nt->id, i);
		usage_note(nt->u, name);
	}
	return NULL;
}

/* usage_cmp - qsort order. */
static int
usage_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Notes from several threads while another drains: every noted name is
 * in some drain (none is lost in a race with the exchange), as long as
 * the table never fills.
 */
START_TEST(test_usage_concurrent)
{
	struct usage *u = usage_new();
	static uint64_t out[USAGE_SLOTS], all[NOTERS * NOTES_EACH * 2];
	struct noter nt[NOTERS];
	pthread_t th[NOTERS];
	uint64_t dropped, lost = 0;
	size_t nall = 0, n;
	char name[64];

	for (int i = 0; i < NOTERS; i++) {
		nt[i].u = u;
		nt[i].id = i;
		ck_assert_int_eq(
		    pthread_create(&th[i], NULL, noter_main, &nt[i]), 0);
	}
	for (int round = 0; round < 200; round++) {
		n = usage_drain(u, out, USAGE_SLOTS, &dropped);
		lost += dropped;
		for (size_t i = 0; i < n && nall < sizeof(all) / sizeof(*all);
		     i++)
			all[nall++] = out[i];
	}
	for (int i = 0; i < NOTERS; i++)
		pthread_join(th[i], NULL);
	n = usage_drain(u, out, USAGE_SLOTS, &dropped);
	lost += dropped;
	for (size_t i = 0; i < n && nall < sizeof(all) / sizeof(*all); i++)
		all[nall++] = out[i];
	ck_assert_uint_eq(lost, 0);
	qsort(all, nall, sizeof(*all), usage_cmp);
	for (int t = 0; t < NOTERS; t++)
		for (int i = 0; i < NOTES_EACH; i++) {
			snprintf(name, sizeof(name), "t%d-%d.example", t, i);
			ck_assert_msg(usage_seen(all, nall, name),
			              "%s noted but never drained", name);
		}
	usage_free(u);
}
END_TEST

/* flush_fixture - cfg with DNS at a closed loopback port (every check
 * ends at once), its resolver, and names[0..n) registered in st. */
static struct dns *
flush_fixture(struct config *cfg, struct store *st, char **names, size_t n)
{
	struct dns *dns;
	char err[512];

	config_defaults(cfg);
	snprintf(cfg->dns.servers[0], sizeof(cfg->dns.servers[0]),
	         "127.0.0.1:9");
	cfg->dns.nservers = 1;
	cfg->dns.timeout_ms = 500;
	cfg->check_timeout_ms = 500;
	ck_assert_msg(dns_open(&dns, &cfg->dns, err, sizeof(err)) == 0,
	              "dns_open: %s", err);
	for (size_t i = 0; i < n; i++)
		put_reg(st, names[i]);
	return dns;
}

/* What the flush hook saw. */
struct flush_seen {
	size_t calls, results;
};

/* fake_flush - a fleet's write-back: d1 written (verified, next check
 * at 42), d2 a lost lease, d3 not upstream's, d4 failed. */
static void
fake_flush(void *arg, struct checker_result *res, size_t n)
{
	struct flush_seen *fs = arg;

	fs->calls++;
	fs->results += n;
	for (size_t i = 0; i < n; i++) {
		struct checker_result *r = &res[i];

		ck_assert_ptr_nonnull(r->rep);
		if (strcmp(r->domain, "d1.example") == 0) {
			memset(&r->next, 0, sizeof(r->next));
			snprintf(r->next.domain, sizeof(r->next.domain), "%s",
			         r->domain);
			r->next.state = READINESS_VERIFIED;
			r->next.next_check = 42;
			memset(&r->fx, 0, sizeof(r->fx));
			r->fx.to = READINESS_VERIFIED;
			r->rc = 0;
		} else if (strcmp(r->domain, "d2.example") == 0) {
			r->rc = CHECKER_DROPPED;
			snprintf(r->err, sizeof(r->err), "lease lost");
		} else if (strcmp(r->domain, "d3.example") == 0)
			r->rc = CHECKER_LOCAL;
		else {
			r->rc = -1;
			snprintf(r->err, sizeof(r->err), "down");
		}
	}
}

/*
 * With a flush hook, the finished checks of a run are held and handed
 * over together (one call for four domains, not one per domain); what
 * the hook wrote goes to the local store, a lost lease and a failure
 * write nothing and are counted, a name not upstream's gets the local
 * transition.
 */
START_TEST(test_flush_holds_results_and_stores_what_it_wrote)
{
	struct store *st = open_store();
	static struct config cfg;
	static struct domain_state s;
	struct checker_options opt;
	struct checker_stats stats;
	struct flush_seen fs = {0, 0};
	char *names[] = {"d1.example", "d2.example", "d3.example",
	                 "d4.example"};
	struct dns *dns;
	char err[512];

	dns = flush_fixture(&cfg, st, names, 4);
	checker_options_init(&opt, &cfg, T0);
	opt.notify = false;
	opt.flush = fake_flush;
	opt.arg = &fs;
	ck_assert_msg(
	    checker_run(st, dns, &opt, names, 4, &stats, err, sizeof(err)) == 0,
	    "checker_run: %s", err);
	ck_assert_uint_eq(fs.calls, 1);
	ck_assert_uint_eq(fs.results, 4);
	ck_assert_uint_eq(stats.done, 4);
	ck_assert_uint_eq(stats.dropped, 1);
	ck_assert_uint_eq(stats.errors, 1);
	ck_assert_uint_eq(stats.unstored, 1);
	ck_assert_int_eq(
	    store_state_get(st, "d1.example", &s, err, sizeof(err)), STORE_OK);
	ck_assert_int_eq(s.state, READINESS_VERIFIED);
	ck_assert_int_eq(s.next_check, 42);
	ck_assert_int_eq(
	    store_state_get(st, "d2.example", &s, err, sizeof(err)),
	    STORE_NOTFOUND);
	ck_assert_int_eq(
	    store_state_get(st, "d3.example", &s, err, sizeof(err)), STORE_OK);
	ck_assert_int_eq(
	    store_state_get(st, "d4.example", &s, err, sizeof(err)),
	    STORE_NOTFOUND);
	dns_close(dns);
	store_close(st);
}
END_TEST

/* A background write-back: fake_flush's outcomes, handed back by reap
 * only after two polls (or at once when the run waits). */
struct async_seen {
	struct flush_seen fs; /* first: fake_flush's arg */
	struct checker_result *out;
	size_t submits, reaps;
	int polls;
};

/* fake_submit - checker_submit_cb: one flush out at a time. */
static bool
fake_submit(void *arg, struct checker_result *res, size_t n)
{
	struct async_seen *as = arg;

	ck_assert_ptr_null(as->out);
	fake_flush(&as->fs, res, n);
	as->out = res;
	as->polls = 0;
	as->submits++;
	return true;
}

/* fake_reap - checker_reap_cb: the flush out, after two polls. */
static struct checker_result *
fake_reap(void *arg, bool wait)
{
	struct async_seen *as = arg;
	struct checker_result *res = as->out;

	if (res == NULL || (!wait && as->polls++ < 2))
		return NULL;
	as->out = NULL;
	as->reaps++;
	return res;
}

/*
 * With submit and reap, the flushes go out in the background, one at a
 * time, and each comes back once: the same outcome in the store as a
 * flush in turn, nothing left out when the run returns.
 */
START_TEST(test_submitted_flush_comes_back_once)
{
	struct store *st = open_store();
	static struct config cfg;
	static struct domain_state s;
	struct checker_options opt;
	struct checker_stats stats;
	struct async_seen as;
	char *names[] = {"d1.example", "d2.example", "d3.example",
	                 "d4.example"};
	struct dns *dns;
	char err[512];
	int wake[2];

	memset(&as, 0, sizeof(as));
	ck_assert_int_eq(pipe(wake), 0);
	dns = flush_fixture(&cfg, st, names, 4);
	checker_options_init(&opt, &cfg, T0);
	opt.notify = false;
	opt.flush = fake_flush;
	opt.submit = fake_submit;
	opt.reap = fake_reap;
	opt.wake_fd = wake[0];
	opt.flush_max = 1;
	opt.arg = &as;
	ck_assert_msg(
	    checker_run(st, dns, &opt, names, 4, &stats, err, sizeof(err)) == 0,
	    "checker_run: %s", err);
	ck_assert_ptr_null(as.out);
	ck_assert_uint_ge(as.submits, 1);
	ck_assert_uint_eq(as.reaps, as.submits);
	ck_assert_uint_eq(as.fs.calls, as.submits);
	ck_assert_uint_eq(as.fs.results, 4);
	ck_assert_uint_eq(stats.done, 4);
	ck_assert_uint_eq(stats.dropped, 1);
	ck_assert_uint_eq(stats.errors, 1);
	ck_assert_int_eq(
	    store_state_get(st, "d1.example", &s, err, sizeof(err)), STORE_OK);
	ck_assert_int_eq(s.next_check, 42);
	ck_assert_int_eq(
	    store_state_get(st, "d2.example", &s, err, sizeof(err)),
	    STORE_NOTFOUND);
	ck_assert_int_eq(
	    store_state_get(st, "d3.example", &s, err, sizeof(err)), STORE_OK);
	dns_close(dns);
	store_close(st);
	close(wake[0]);
	close(wake[1]);
}
END_TEST

static Suite *
checker_suite(void)
{
	Suite *s = suite_create("checker");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_list_includes_unregistered);
	tcase_add_test(tc, test_list_census);
	tcase_add_test(tc, test_upkeep_prunes_unused_keeps_used);
	tcase_add_test(tc, test_usage_note_drain);
	tcase_add_test(tc, test_usage_concurrent);
	tcase_add_test(tc, test_flush_holds_results_and_stores_what_it_wrote);
	tcase_add_test(tc, test_submitted_flush_comes_back_once);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(checker_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
