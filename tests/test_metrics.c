/*
 * test_metrics.c - the metrics registry: validation, counting from many
 *	threads, histograms, escaping and the bounded text format.
 *
 * SYNOPSIS
 *	make check TESTS=tests/test_metrics
 */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static const char *const actions[] = {"accept", "reject"};
static const char *const states[] = {"verified", "pending", "none"};
static const char *const odd[] = {"a\\b", "say \"hi\"", "two\nlines"};
static const uint64_t bounds[] = {1000, 250000, 1000000};

/* decisions - a two-label counter family, unregistered. */
static struct metrics_family
decisions(void)
{
	struct metrics_family f = {
	    .name = "t_decisions_total",
	    .help = "Decisions.",
	    .type = METRICS_COUNTER,
	    .nlabels = 2,
	    .label = {{"action", actions, 2}, {"state", states, 3}},
	};
	return f;
}

/* render - the registry's whole text (fits in 64 KiB). */
static char *
render(struct metrics *m)
{
	static char buf[65536];
	size_t n = metrics_render(m, buf, sizeof(buf));

	ck_assert_uint_lt(n, sizeof(buf));
	ck_assert_uint_eq(strlen(buf), n);
	return buf;
}

START_TEST(test_counter_text)
{
	struct metrics m;
	struct metrics_family f = decisions();
	char err[256];

	metrics_init(&m);
	ck_assert_int_eq(metrics_register(&m, &f, err, sizeof(err)), 0);
	metrics_add(&f, 0, 0, 3);
	metrics_add(&f, 1, 1, 1);
	metrics_add(&f, 1, 1, 1);
	ck_assert_int_eq(metrics_value(&f, 0, 0), 3);
	ck_assert_int_eq(metrics_value(&f, 1, 1), 2);
	ck_assert_str_eq(render(&m),
	                 "# HELP t_decisions_total Decisions.\n"
	                 "# TYPE t_decisions_total counter\n"
	                 "t_decisions_total{action=\"accept\",state="
	                 "\"verified\"} 3\n"
	                 "t_decisions_total{action=\"accept\",state="
	                 "\"pending\"} 0\n"
	                 "t_decisions_total{action=\"accept\",state="
	                 "\"none\"} 0\n"
	                 "t_decisions_total{action=\"reject\",state="
	                 "\"verified\"} 0\n"
	                 "t_decisions_total{action=\"reject\",state="
	                 "\"pending\"} 2\n"
	                 "t_decisions_total{action=\"reject\",state="
	                 "\"none\"} 0\n");
	metrics_fini(&m);
}
END_TEST

START_TEST(test_out_of_range_and_unregistered)
{
	struct metrics m;
	struct metrics_family f = decisions();
	char err[256];

	/* not registered: adds are dropped, nothing breaks */
	ck_assert(!metrics_on(&f));
	metrics_add(&f, 0, 0, 1);
	metrics_observe_us(&f, 0, 0, 5);
	ck_assert_int_eq(metrics_value(&f, 0, 0), 0);
	metrics_init(&m);
	ck_assert_int_eq(metrics_register(&m, &f, err, sizeof(err)), 0);
	ck_assert(metrics_on(&f));
	metrics_add(&f, 2, 0, 1); /* no third action */
	metrics_add(&f, 0, 3, 1); /* no fourth state */
	for (size_t i = 0; i < 2; i++)
		for (size_t j = 0; j < 3; j++)
			ck_assert_int_eq(metrics_value(&f, i, j), 0);
	metrics_fini(&m);
	ck_assert_ptr_null((void *)f.cells);
}
END_TEST

START_TEST(test_register_refuses)
{
	struct metrics m;
	struct metrics_family f, g;
	const uint64_t down[] = {5, 5};
	char err[256];

	metrics_init(&m);
	f = decisions();
	f.name = "t_decisions"; /* a counter without _total */
	ck_assert_int_eq(metrics_register(&m, &f, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "_total"));
	f = decisions();
	f.name = "9bad_total";
	ck_assert_int_eq(metrics_register(&m, &f, err, sizeof(err)), -1);
	f = decisions();
	f.name = "t-dash_total";
	ck_assert_int_eq(metrics_register(&m, &f, err, sizeof(err)), -1);
	f = decisions();
	f.label[1].name = "__reserved";
	ck_assert_int_eq(metrics_register(&m, &f, err, sizeof(err)), -1);
	f = decisions();
	f.label[1].nvalues = 0;
	ck_assert_int_eq(metrics_register(&m, &f, err, sizeof(err)), -1);
	f = decisions();
	f.nlabels = 3;
	ck_assert_int_eq(metrics_register(&m, &f, err, sizeof(err)), -1);
	memset(&f, 0, sizeof(f));
	f.name = "t_seconds";
	f.help = "h";
	f.type = METRICS_HISTOGRAM;
	f.bounds_us = down;
	f.nbounds = 2;
	ck_assert_int_eq(metrics_register(&m, &f, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "ascend"));
	f.bounds_us = bounds;
	f.nbounds = 3;
	f.nlabels = 1;
	f.label[0] = (struct metrics_label){"le", actions, 2};
	ck_assert_int_eq(metrics_register(&m, &f, err, sizeof(err)), -1);
	ck_assert_ptr_null((void *)f.cells);
	/* the same name twice */
	f = decisions();
	g = decisions();
	ck_assert_int_eq(metrics_register(&m, &f, err, sizeof(err)), 0);
	ck_assert_int_eq(metrics_register(&m, &g, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "twice"));
	ck_assert_int_eq(metrics_register(&m, &f, err, sizeof(err)), -1);
	metrics_fini(&m);
}
END_TEST

START_TEST(test_histogram)
{
	struct metrics m;
	struct metrics_family f = {
	    .name = "t_duration_seconds",
	    .help = "How long.",
	    .type = METRICS_HISTOGRAM,
	    .bounds_us = bounds,
	    .nbounds = 3,
	};
	char err[256];

	metrics_init(&m);
	ck_assert_int_eq(metrics_register(&m, &f, err, sizeof(err)), 0);
	metrics_observe_us(&f, 0, 0, 500);     /* <= 0.001 */
	metrics_observe_us(&f, 0, 0, 1000);    /* on the bound: le is <= */
	metrics_observe_us(&f, 0, 0, 1001);    /* <= 0.25 */
	metrics_observe_us(&f, 0, 0, 2000000); /* +Inf only */
	ck_assert_str_eq(render(&m),
	                 "# HELP t_duration_seconds How long.\n"
	                 "# TYPE t_duration_seconds histogram\n"
	                 "t_duration_seconds_bucket{le=\"0.001\"} 2\n"
	                 "t_duration_seconds_bucket{le=\"0.25\"} 3\n"
	                 "t_duration_seconds_bucket{le=\"1\"} 3\n"
	                 "t_duration_seconds_bucket{le=\"+Inf\"} 4\n"
	                 "t_duration_seconds_sum 2.002501\n"
	                 "t_duration_seconds_count 4\n");
	metrics_fini(&m);
}
END_TEST

START_TEST(test_histogram_labels)
{
	struct metrics m;
	struct metrics_family f = {
	    .name = "t_dns_seconds",
	    .help = "DNS.",
	    .type = METRICS_HISTOGRAM,
	    .nlabels = 1,
	    .label = {{"type", actions, 2}},
	    .bounds_us = bounds,
	    .nbounds = 1,
	};
	char err[256], *t;

	metrics_init(&m);
	ck_assert_int_eq(metrics_register(&m, &f, err, sizeof(err)), 0);
	metrics_observe_us(&f, 1, 0, 3000000);
	t = render(&m);
	ck_assert_ptr_nonnull(strstr(t, "t_dns_seconds_bucket{type=\"accept\","
	                                "le=\"0.001\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(t, "t_dns_seconds_bucket{type=\"reject\","
	                                "le=\"+Inf\"} 1\n"));
	ck_assert_ptr_nonnull(
	    strstr(t, "t_dns_seconds_sum{type=\"reject\"} 3\n"));
	ck_assert_ptr_nonnull(
	    strstr(t, "t_dns_seconds_count{type=\"reject\"} 1\n"));
	metrics_fini(&m);
}
END_TEST

/* lag - a gauge read at scrape: the series index times 1.5. */
static double
lag(void *arg, size_t cell)
{
	return *(double *)arg * (double)(cell + 1);
}

START_TEST(test_gauges)
{
	struct metrics m;
	double base = 1.5;
	struct metrics_family g = {
	    .name = "t_domains",
	    .help = "Domains.",
	    .type = METRICS_GAUGE,
	    .nlabels = 1,
	    .label = {{"state", states, 3}},
	};
	struct metrics_family r = {
	    .name = "t_lag_seconds",
	    .help = "Lag.",
	    .type = METRICS_GAUGE,
	    .read = lag,
	    .read_arg = &base,
	};
	char err[256], *t;

	metrics_init(&m);
	ck_assert_int_eq(metrics_register(&m, &g, err, sizeof(err)), 0);
	ck_assert_int_eq(metrics_register(&m, &r, err, sizeof(err)), 0);
	metrics_set(&g, 0, 0, 7);
	metrics_set(&g, 2, 0, -2);
	metrics_set(&g, 2, 0, -3); /* a set replaces */
	t = render(&m);
	ck_assert_ptr_nonnull(strstr(t, "t_domains{state=\"verified\"} 7\n"));
	ck_assert_ptr_nonnull(strstr(t, "t_domains{state=\"none\"} -3\n"));
	ck_assert_ptr_nonnull(strstr(t, "# TYPE t_lag_seconds gauge\n"
	                                "t_lag_seconds 1.5\n"));
	base = 1.0 / 0.0;
	ck_assert_ptr_nonnull(strstr(render(&m), "t_lag_seconds +Inf\n"));
	metrics_fini(&m);
}
END_TEST

START_TEST(test_escapes)
{
	struct metrics m;
	struct metrics_family f = {
	    .name = "t_odd_total",
	    .help = "A help with \\ and a\nnewline.",
	    .type = METRICS_COUNTER,
	    .nlabels = 1,
	    .label = {{"v", odd, 3}},
	};
	char err[256], small[8], *t;

	metrics_init(&m);
	ck_assert_int_eq(metrics_register(&m, &f, err, sizeof(err)), 0);
	t = render(&m);
	ck_assert_ptr_nonnull(strstr(
	    t, "# HELP t_odd_total A help with \\\\ and a\\nnewline.\n"));
	ck_assert_ptr_nonnull(strstr(t, "t_odd_total{v=\"a\\\\b\"} 0\n"));
	ck_assert_ptr_nonnull(
	    strstr(t, "t_odd_total{v=\"say \\\"hi\\\"\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(t, "t_odd_total{v=\"two\\nlines\"} 0\n"));
	metrics_fini(&m);
	/* a short buffer never ends inside an escape */
	ck_assert_uint_eq(metrics_escape_label(small, sizeof(small), "abc\"de"),
	                  7);
	ck_assert_str_eq(small, "abc\\\"de");
	ck_assert_uint_eq(metrics_escape_label(small, 6, "abc\"de"), 5);
	ck_assert_str_eq(small, "abc\\\"");
	ck_assert_uint_eq(metrics_escape_label(small, 5, "abc\"de"), 3);
	ck_assert_str_eq(small, "abc");
	ck_assert_uint_eq(metrics_escape_help(small, sizeof(small), "a\"b"), 3);
	ck_assert_str_eq(small, "a\"b");
}
END_TEST

START_TEST(test_bounded_render)
{
	struct metrics m;
	struct metrics_family f = decisions();
	char err[256], whole[4096], part[64];
	size_t need, n;

	metrics_init(&m);
	ck_assert_int_eq(metrics_register(&m, &f, err, sizeof(err)), 0);
	need = metrics_render(&m, whole, sizeof(whole));
	ck_assert_uint_gt(need, sizeof(part));
	memset(part, 'x', sizeof(part));
	n = metrics_render(&m, part, sizeof(part));
	ck_assert_uint_eq(n, need); /* what the whole text needs */
	ck_assert_int_eq(part[sizeof(part) - 1], '\0');
	ck_assert_int_eq(memcmp(part, whole, sizeof(part) - 1), 0);
	ck_assert_uint_eq(metrics_render(&m, NULL, 0), need);
	metrics_fini(&m);
}
END_TEST

#define THREADS 4
#define ADDS 200000

static void *
adder(void *arg)
{
	struct metrics_family *f = arg;

	for (unsigned i = 0; i < ADDS; i++) {
		metrics_add(f, i % 2, i % 3, 1);
		metrics_observe_us(f + 1, 0, 0, i % 2000);
	}
	return NULL;
}

START_TEST(test_threads)
{
	struct metrics m;
	struct metrics_family f[2] = {decisions(),
	                              {
	                                  .name = "t_seconds",
	                                  .help = "h",
	                                  .type = METRICS_HISTOGRAM,
	                                  .bounds_us = bounds,
	                                  .nbounds = 3,
	                              }};
	pthread_t t[THREADS];
	char err[256], *text;
	int64_t sum = 0;

	metrics_init(&m);
	ck_assert_int_eq(metrics_register(&m, &f[0], err, sizeof(err)), 0);
	ck_assert_int_eq(metrics_register(&m, &f[1], err, sizeof(err)), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, adder, f);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (size_t i = 0; i < 2; i++)
		for (size_t j = 0; j < 3; j++)
			sum += metrics_value(&f[0], i, j);
	ck_assert_int_eq(sum, (int64_t)THREADS * ADDS);
	text = render(&m);
	ck_assert_ptr_nonnull(strstr(text, "t_seconds_count 800000\n"));
	/* each thread: 100 rounds of 0..1999 us */
	ck_assert_ptr_nonnull(strstr(text, "t_seconds_sum 799.6\n"));
	metrics_fini(&m);
}
END_TEST

static Suite *
metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("families");

	tcase_add_test(tc, test_counter_text);
	tcase_add_test(tc, test_out_of_range_and_unregistered);
	tcase_add_test(tc, test_register_refuses);
	tcase_add_test(tc, test_histogram);
	tcase_add_test(tc, test_histogram_labels);
	tcase_add_test(tc, test_gauges);
	suite_add_tcase(s, tc);
	tc = tcase_create("text");
	tcase_add_test(tc, test_escapes);
	tcase_add_test(tc, test_bounded_render);
	suite_add_tcase(s, tc);
	tc = tcase_create("threads");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(metrics_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
