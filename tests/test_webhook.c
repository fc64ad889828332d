/*
 * test_webhook.c - webhook events: which changes are events, the JSON, the
 * signature, the outcome of an attempt and the back-off; and the outbox
 * in the store: written with the change or not at all, in order, never a
 * sequence number twice.
 *
 * SYNOPSIS
 *	make check TESTS=tests/test_webhook
 *
 * DESCRIPTION
 *	The JSON is read back with jansson, field by field.  The signature
 *	is checked against a vector computed elsewhere (Python's hmac module:
 *	HMAC-SHA256, key "whsec-test", message "1700000000.{"a":1}").  The
 *	outbox tests use a store in a temporary directory; a value damaged
 *	through LMDB itself must be reported by store_check and handed to
 *	store_outbox_list's callback as undecodable.
 */
#include <check.h>
#include <ftw.h>
#include <jansson.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "outbox.h"
#include "store.h"
#include "webhook.h"

#define NOW 1700000000LL
#define NOW_TEXT "2023-11-14T22:13:20Z"
#define ID "0123456789abcdef0123456789abcdef"
#define SECRET "whsec-test"
#define SIG_VECTOR                                                             \
	"t=1700000000,v1="                                                     \
	"fed7a1a6c799a6367d73724d76bc70c16678908a32a879cd1ded6565ac05cece"
#define MANY_EVENTS 300 /* past one octet of the sequence */

static char dir[64];

/* Pure -------------------------------------------------------------------- */

START_TEST(test_types)
{
	static const struct {
		int from, to;
		enum webhook_type want;
	} cases[] = {
	    {READINESS_UNKNOWN, READINESS_VERIFIED, WEBHOOK_VERIFIED},
	    {READINESS_PENDING, READINESS_VERIFIED, WEBHOOK_VERIFIED},
	    {READINESS_DEGRADED, READINESS_VERIFIED, WEBHOOK_RECOVERED},
	    {READINESS_FAILED, READINESS_VERIFIED, WEBHOOK_RECOVERED},
	    {READINESS_VERIFIED, READINESS_DEGRADED, WEBHOOK_DEGRADED},
	    {READINESS_PENDING, READINESS_FAILED, WEBHOOK_FAILED},
	    {READINESS_DEGRADED, READINESS_FAILED, WEBHOOK_FAILED},
	    {READINESS_UNKNOWN, READINESS_PENDING, WEBHOOK_NONE},
	    {READINESS_VERIFIED, READINESS_VERIFIED, WEBHOOK_NONE},
	    {READINESS_DEGRADED, READINESS_DEGRADED, WEBHOOK_NONE},
	    {-1, READINESS_VERIFIED, WEBHOOK_NONE},
	    {READINESS_PENDING, 5, WEBHOOK_NONE},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(webhook_type_of(cases[i].from, cases[i].to) ==
		                  cases[i].want,
		              "case %zu", i);
	ck_assert_str_eq(webhook_type_name(WEBHOOK_RECOVERED), "recovered");
	ck_assert_str_eq(webhook_type_name(WEBHOOK_RELEASED), "released");
	ck_assert_ptr_null(webhook_type_name(WEBHOOK_NONE));
	ck_assert_ptr_null(webhook_type_name((enum webhook_type)99));
}
END_TEST

/* state2 - a degraded state: DKIM failing, SPF passing. */
static void
state2(struct domain_state *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->domain, sizeof(s->domain), "shop.example");
	s->state = READINESS_DEGRADED;
	s->nrecords = 2;
	s->records[0].type = CHECK_SPF;
	s->records[0].status = CHECK_PASS;
	snprintf(s->records[0].name, sizeof(s->records[0].name),
	         "mail.shop.example");
	s->records[1].type = CHECK_DKIM;
	s->records[1].status = CHECK_FAIL;
	snprintf(s->records[1].name, sizeof(s->records[1].name),
	         "s1._domainkey.shop.example");
	snprintf(s->records[1].detail, sizeof(s->records[1].detail),
	         "the key \"p=\" differs");
}

/* parse - the body as a JSON object, or fail. */
static json_t *
parse(const char *body, size_t len)
{
	json_error_t je;
	json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);

	ck_assert_msg(o != NULL && json_is_object(o), "not JSON: %s: %s",
	              je.text, body);
	return o;
}

/* str - a string member, or "" . */
static const char *
str(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v ? v : "(missing)";
}

START_TEST(test_event_json)
{
	struct domain_state s;
	struct webhook_event ev = {
	    .id = ID,
	    .type = WEBHOOK_DEGRADED,
	    .domain = "shop.example",
	    .previous = READINESS_VERIFIED,
	    .state = READINESS_DEGRADED,
	    .time = NOW,
	    .st = &s,
	    .summary = "DKIM is wrong",
	};
	char err[256], *body;
	json_t *o, *p, *rec;
	size_t len;

	state2(&s);
	body = webhook_event_json(&ev, &len, err, sizeof(err));
	ck_assert_msg(body != NULL, "%s", err);
	ck_assert_uint_eq(len, strlen(body));
	o = parse(body, len);
	ck_assert_str_eq(str(o, "id"), ID);
	ck_assert_str_eq(str(o, "type"), "degraded");
	ck_assert_str_eq(str(o, "domain"), "shop.example");
	ck_assert_str_eq(str(o, "previous_state"), "verified");
	ck_assert_str_eq(str(o, "state"), "degraded");
	ck_assert_str_eq(str(o, "time"), NOW_TEXT);
	ck_assert_str_eq(str(o, "summary"), "DKIM is wrong");
	p = json_object_get(o, "problems");
	ck_assert(json_is_array(p));
	ck_assert_uint_eq(json_array_size(p), 1); /* SPF passes */
	rec = json_array_get(p, 0);
	ck_assert_str_eq(str(rec, "type"), "dkim");
	ck_assert_str_eq(str(rec, "status"), "fail");
	ck_assert_str_eq(str(rec, "name"), "s1._domainkey.shop.example");
	ck_assert_str_eq(str(rec, "detail"), "the key \"p=\" differs");
	ck_assert_ptr_null(json_object_get(o, "queue_id"));
	json_decref(o);
	free(body);
}
END_TEST

START_TEST(test_event_kinds)
{
	struct webhook_event ev = {
	    .id = ID,
	    .type = WEBHOOK_REMOVED,
	    .domain = "gone.example",
	    .previous = READINESS_PENDING,
	    .state = READINESS_PENDING,
	    .time = NOW,
	};
	char err[256], *body;
	json_t *o;
	size_t len;

	body = webhook_event_json(&ev, &len, err, sizeof(err));
	ck_assert_ptr_nonnull(body);
	o = parse(body, len);
	ck_assert_str_eq(str(o, "previous_state"), "pending");
	ck_assert_str_eq(str(o, "state"), "removed");
	ck_assert_uint_eq(json_array_size(json_object_get(o, "problems")), 0);
	json_decref(o);
	free(body);

	ev.type = WEBHOOK_HELD;
	ev.queue_id = "4Xyz1abcD";
	ev.reason = "pending: DKIM missing";
	body = webhook_event_json(&ev, &len, err, sizeof(err));
	o = parse(body, len);
	ck_assert_str_eq(str(o, "type"), "held");
	ck_assert_str_eq(str(o, "state"), "pending");
	ck_assert_str_eq(str(o, "queue_id"), "4Xyz1abcD");
	ck_assert_str_eq(str(o, "reason"), "pending: DKIM missing");
	json_decref(o);
	free(body);

	ev.type = WEBHOOK_RELEASED;
	ev.released = 12;
	body = webhook_event_json(&ev, &len, err, sizeof(err));
	o = parse(body, len);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "released")),
	                 12);
	json_decref(o);
	free(body);

	/* a control byte or quote in a field stays inside its string */
	ev.reason = "a\"b\n\001";
	ev.type = WEBHOOK_HELD;
	body = webhook_event_json(&ev, &len, err, sizeof(err));
	o = parse(body, len);
	ck_assert_str_eq(str(o, "reason"), "a\"b\n\001");
	json_decref(o);
	free(body);

	ev.type = WEBHOOK_NONE;
	ck_assert_ptr_null(webhook_event_json(&ev, &len, err, sizeof(err)));
	ev.type = WEBHOOK_HELD;
	ev.id = "short";
	ck_assert_ptr_null(webhook_event_json(&ev, &len, err, sizeof(err)));
	ck_assert_uint_eq(len, 0);
}
END_TEST

START_TEST(test_signature)
{
	const char body[] = "{\"a\":1}";
	char sig[WEBHOOK_SIGNATURE_MAX], other[WEBHOOK_SIGNATURE_MAX];
	const unsigned char *key = (const unsigned char *)SECRET;

	ck_assert_int_eq(webhook_sign(key, strlen(SECRET), NOW, body,
	                              strlen(body), sig, sizeof(sig)),
	                 0);
	ck_assert_str_eq(sig, SIG_VECTOR);
	/* the time is signed: another one, another MAC */
	ck_assert_int_eq(webhook_sign(key, strlen(SECRET), NOW + 1, body,
	                              strlen(body), other, sizeof(other)),
	                 0);
	ck_assert_str_ne(strchr(sig, 'v'), strchr(other, 'v'));
	/* and so is every octet of the body */
	ck_assert_int_eq(webhook_sign(key, strlen(SECRET), NOW, body,
	                              strlen(body) - 1, other, sizeof(other)),
	                 0);
	ck_assert_str_ne(sig, other);
	ck_assert_int_eq(webhook_sign(key, strlen(SECRET), NOW, body,
	                              strlen(body), sig, strlen(SIG_VECTOR)),
	                 -1);
}
END_TEST

START_TEST(test_outcome)
{
	static const struct {
		bool ok;
		long status;
		enum webhook_outcome want;
	} cases[] = {
	    {false, 0, WEBHOOK_RETRY},      {true, 200, WEBHOOK_DELIVERED},
	    {true, 204, WEBHOOK_DELIVERED}, {true, 299, WEBHOOK_DELIVERED},
	    {true, 400, WEBHOOK_GIVE_UP},   {true, 401, WEBHOOK_GIVE_UP},
	    {true, 404, WEBHOOK_GIVE_UP},   {true, 410, WEBHOOK_GIVE_UP},
	    {true, 499, WEBHOOK_GIVE_UP},   {true, 408, WEBHOOK_RETRY},
	    {true, 429, WEBHOOK_RETRY},     {true, 500, WEBHOOK_RETRY},
	    {true, 503, WEBHOOK_RETRY},     {true, 301, WEBHOOK_RETRY},
	    {true, 0, WEBHOOK_RETRY},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(
		    webhook_outcome_of(cases[i].ok, cases[i].status) ==
		        cases[i].want,
		    "status %ld", cases[i].status);
}
END_TEST

START_TEST(test_backoff)
{
	uint64_t hi = WEBHOOK_BACKOFF_FIRST_MS, total = 0;
	unsigned n;

	for (unsigned a = 0; a < 40; a++) {
		uint64_t top = webhook_backoff_ms(a, 0);
		uint64_t low = webhook_backoff_ms(a, UINT32_MAX);

		/* without jitter: doubling from the first, capped */
		ck_assert_uint_eq(top, hi);
		ck_assert_uint_ge(low, top / 2);
		ck_assert_uint_le(low, top);
		for (uint32_t r = 1; r < 2000; r += 97) {
			uint64_t d = webhook_backoff_ms(a, r * 2654435761u);

			ck_assert_uint_ge(d, top / 2);
			ck_assert_uint_le(d, top);
		}
		hi = hi * 2 > WEBHOOK_BACKOFF_MAX_MS ? WEBHOOK_BACKOFF_MAX_MS
		                                     : hi * 2;
	}
	/* the jitter spreads: not every random number gives the same */
	ck_assert_uint_ne(webhook_backoff_ms(5, 1), webhook_backoff_ms(5, 7));
	/* a day of retries is a bounded number of attempts, each at most an
	 * hour apart, even with the smallest delays */
	for (n = 0; total < 24ULL * 3600 * 1000; n++)
		total += webhook_backoff_ms(n, UINT32_MAX);
	ck_assert_uint_le(n, 60);
}
END_TEST

/* The outbox -------------------------------------------------------------- */

/* remove_entry - nftw callback: one file or directory. */
static int
remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_webhook.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	chmod(dir, 0750);
}

static void
teardown(void)
{
	nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* open_store - open (create) the store or fail. */
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

/* A listing, for the tests. */
struct seen {
	size_t n, bad;
	uint64_t seq[MANY_EVENTS + 8];
	char domain[8][DOMAIN_BUF];
	char body[8][2048];
};

/* collect - store_event_cb into a struct seen. */
static int
collect(void *ctx, uint64_t seq, const char *domain, const char *body,
        size_t len)
{
	struct seen *s = ctx;

	if (domain == NULL) {
		s->bad++;
		return 0;
	}
	if (s->n < 8) {
		snprintf(s->domain[s->n], sizeof(s->domain[0]), "%s", domain);
		snprintf(s->body[s->n], sizeof(s->body[0]), "%.*s", (int)len,
		         body);
	}
	s->seq[s->n++] = seq;
	return 0;
}

/* hooks - a config with one WebhookURL (events written). */
static void
hooks(struct config *cfg)
{
	char err[256];

	config_defaults(cfg);
	ck_assert_int_eq(config_set(cfg, "WebhookURL",
	                            "https://app.example/hooks", err,
	                            sizeof(err)),
	                 0);
}

START_TEST(test_outbox_with_change)
{
	struct store *st = open_store();
	struct store_batch *b;
	struct domain_state s, got;
	struct config cfg;
	struct seen seen = {0};
	char err[512];
	json_t *o;
	size_t n;

	hooks(&cfg);
	state2(&s);
	/* committed: the state and its event together */
	ck_assert_int_eq(store_batch_begin(st, &b, err, sizeof(err)), STORE_OK);
	ck_assert_int_eq(store_batch_put_state(b, &s, err, sizeof(err)),
	                 STORE_OK);
	ck_assert_int_eq(outbox_state(b, &cfg, WEBHOOK_DEGRADED,
	                              READINESS_VERIFIED, &s, NOW, err,
	                              sizeof(err)),
	                 STORE_OK);
	ck_assert_int_eq(store_batch_commit(b, err, sizeof(err)), STORE_OK);
	ck_assert_int_eq(
	    store_outbox_list(st, 0, 100, collect, &seen, err, sizeof(err)),
	    STORE_OK);
	ck_assert_uint_eq(seen.n, 1);
	ck_assert_uint_eq(seen.seq[0], 1);
	ck_assert_str_eq(seen.domain[0], "shop.example");
	o = parse(seen.body[0], strlen(seen.body[0]));
	ck_assert_str_eq(str(o, "type"), "degraded");
	ck_assert_str_eq(str(o, "previous_state"), "verified");
	ck_assert_str_eq(str(o, "time"), NOW_TEXT);
	ck_assert_uint_eq(strlen(str(o, "id")), WEBHOOK_ID_LEN);
	json_decref(o);

	/* aborted: neither the state nor the event */
	s.state = READINESS_FAILED;
	ck_assert_int_eq(store_batch_begin(st, &b, err, sizeof(err)), STORE_OK);
	ck_assert_int_eq(store_batch_put_state(b, &s, err, sizeof(err)),
	                 STORE_OK);
	ck_assert_int_eq(outbox_state(b, &cfg, WEBHOOK_FAILED,
	                              READINESS_DEGRADED, &s, NOW, err,
	                              sizeof(err)),
	                 STORE_OK);
	store_batch_abort(b);
	ck_assert_int_eq(store_outbox_count(st, &n, err, sizeof(err)),
	                 STORE_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(
	    store_state_get(st, "shop.example", &got, err, sizeof(err)),
	    STORE_OK);
	ck_assert_int_eq(got.state, READINESS_DEGRADED);

	/* no WebhookURL: nothing written; not an event: nothing either */
	config_defaults(&cfg);
	ck_assert_int_eq(store_batch_begin(st, &b, err, sizeof(err)), STORE_OK);
	ck_assert_int_eq(outbox_state(b, &cfg, WEBHOOK_FAILED,
	                              READINESS_DEGRADED, &s, NOW, err,
	                              sizeof(err)),
	                 STORE_OK);
	hooks(&cfg);
	ck_assert_int_eq(outbox_state(b, &cfg, WEBHOOK_NONE, READINESS_PENDING,
	                              &s, NOW, err, sizeof(err)),
	                 STORE_OK);
	ck_assert_int_eq(store_batch_commit(b, err, sizeof(err)), STORE_OK);
	ck_assert_int_eq(store_outbox_count(st, &n, err, sizeof(err)),
	                 STORE_OK);
	ck_assert_uint_eq(n, 1);
	store_close(st);
}
END_TEST

/* put_events - n events of domain, each in its own batch. */
static void
put_events(struct store *st, const char *domain, size_t n)
{
	struct store_batch *b;
	char err[512];

	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(store_batch_begin(st, &b, err, sizeof(err)),
		                 STORE_OK);
		ck_assert_int_eq(store_batch_put_event(b, domain, "{}", 2, NULL,
		                                       err, sizeof(err)),
		                 STORE_OK);
		ck_assert_int_eq(store_batch_commit(b, err, sizeof(err)),
		                 STORE_OK);
	}
}

START_TEST(test_outbox_order)
{
	struct store *st = open_store();
	static struct seen seen;
	char err[512];
	size_t n;

	memset(&seen, 0, sizeof(seen));
	put_events(st, "a.example", MANY_EVENTS);
	ck_assert_int_eq(store_outbox_list(st, 0, MANY_EVENTS + 8, collect,
	                                   &seen, err, sizeof(err)),
	                 STORE_OK);
	ck_assert_uint_eq(seen.n, MANY_EVENTS);
	for (size_t i = 0; i < seen.n; i++)
		ck_assert_uint_eq(seen.seq[i], i + 1); /* numeric order */
	/* after and max */
	memset(&seen, 0, sizeof(seen));
	ck_assert_int_eq(
	    store_outbox_list(st, 255, 3, collect, &seen, err, sizeof(err)),
	    STORE_OK);
	ck_assert_uint_eq(seen.n, 3);
	ck_assert_uint_eq(seen.seq[0], 256);
	ck_assert_uint_eq(seen.seq[2], 258);
	/* several in one transaction; one not there is no failure */
	{
		uint64_t some[] = {7, 8, MANY_EVENTS + 5, 9};
		size_t gone = 0;

		ck_assert_int_eq(
		    store_outbox_del_many(st, some, 4, &gone, err, sizeof(err)),
		    STORE_OK);
		ck_assert_uint_eq(gone, 3);
		ck_assert_int_eq(store_outbox_count(st, &n, err, sizeof(err)),
		                 STORE_OK);
		ck_assert_uint_eq(n, MANY_EVENTS - 3);
		ck_assert_int_eq(store_outbox_del(st, 8, err, sizeof(err)),
		                 STORE_NOTFOUND);
	}
	/* emptied, the next event still gets a new number */
	for (uint64_t s = 1; s <= MANY_EVENTS; s++)
		if (s < 7 || s > 9)
			ck_assert_int_eq(
			    store_outbox_del(st, s, err, sizeof(err)),
			    STORE_OK);
	ck_assert_int_eq(store_outbox_del(st, 1, err, sizeof(err)),
	                 STORE_NOTFOUND);
	ck_assert_int_eq(store_outbox_count(st, &n, err, sizeof(err)),
	                 STORE_OK);
	ck_assert_uint_eq(n, 0);
	store_close(st);
	st = open_store(); /* and across a reopen */
	put_events(st, "a.example", 1);
	memset(&seen, 0, sizeof(seen));
	ck_assert_int_eq(
	    store_outbox_list(st, 0, 10, collect, &seen, err, sizeof(err)),
	    STORE_OK);
	ck_assert_uint_eq(seen.n, 1);
	ck_assert_uint_eq(seen.seq[0], MANY_EVENTS + 1);
	store_close(st);
}
END_TEST

START_TEST(test_outbox_damaged)
{
	struct store *st = open_store();
	struct store_check_report rep;
	struct seen seen = {0};
	unsigned char key[8] = {0, 0, 0, 0, 0, 0, 0, 2};
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = {sizeof(key), key}, v = {5, "\001abc"};
	char err[512];

	put_events(st, "a.example", 1);
	store_close(st);
	/* an entry of no domain and no body, put through LMDB itself */
	ck_assert_int_eq(mdb_env_create(&env), 0);
	ck_assert_int_eq(mdb_env_set_maxdbs(env, 8), 0);
	ck_assert_int_eq(mdb_env_open(env, dir, 0, 0640), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "outbox", 0, &dbi), 0);
	ck_assert_int_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);

	st = open_store();
	ck_assert_int_eq(store_check(st, &rep, NULL, NULL, err, sizeof(err)),
	                 STORE_CORRUPT);
	ck_assert_uint_eq(rep.events, 2);
	ck_assert_uint_eq(rep.corrupt, 1);
	ck_assert_int_eq(
	    store_outbox_list(st, 0, 10, collect, &seen, err, sizeof(err)),
	    STORE_OK);
	ck_assert_uint_eq(seen.n, 1);
	ck_assert_uint_eq(seen.bad, 1);
	/* bounds */
	{
		struct store_batch *b;

		ck_assert_int_eq(store_batch_begin(st, &b, err, sizeof(err)),
		                 STORE_OK);
		ck_assert_int_eq(store_batch_put_event(b, "", "{}", 2, NULL,
		                                       err, sizeof(err)),
		                 STORE_ERROR);
		ck_assert_int_eq(store_batch_put_event(b, "a.example", "", 0,
		                                       NULL, err, sizeof(err)),
		                 STORE_ERROR);
		store_batch_abort(b);
	}
	store_close(st);
}
END_TEST

static Suite *
webhook_suite(void)
{
	Suite *s = suite_create("webhook");
	TCase *tc = tcase_create("pure");
	TCase *ob = tcase_create("outbox");

	tcase_add_test(tc, test_types);
	tcase_add_test(tc, test_event_json);
	tcase_add_test(tc, test_event_kinds);
	tcase_add_test(tc, test_signature);
	tcase_add_test(tc, test_outcome);
	tcase_add_test(tc, test_backoff);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(ob, setup, teardown);
	tcase_set_timeout(ob, 60);
	tcase_add_test(ob, test_outbox_with_change);
	tcase_add_test(ob, test_outbox_order);
	tcase_add_test(ob, test_outbox_damaged);
	suite_add_tcase(s, ob);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(webhook_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
