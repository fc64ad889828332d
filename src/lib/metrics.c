/*
 * metrics.c - counters, gauges and histograms, and their Prometheus
 *	text; see metrics.h.
 *
 * SYNOPSIS
 *	void metrics_init(m);
 *	void metrics_fini(m);
 *	int metrics_register(m, f, err, errlen);
 *	bool metrics_on(f);
 *	void metrics_add(f, i, j, n);
 *	void metrics_set(f, i, j, v);
 *	void metrics_observe_us(f, i, j, us);
 *	int64_t metrics_value(f, i, j);
 *	uint64_t metrics_now_us(void);
 *	size_t metrics_escape_label(dst, dstlen, src);
 *	size_t metrics_escape_help(dst, dstlen, src);
 *	size_t metrics_render(m, buf, len);
 *
 * DESCRIPTION
 *	A family's cells are one array: series after series, in the order
 *	of its label values (the first label's index major), in
 *	METRICS_SHARDS copies for counters and histograms (one for a
 *	gauge, which is set, not summed), each copy a whole number of cache
 *	lines from a cache-line aligned start; a thread's first add picks
 *	its copy round robin (a thread-local index).  A counter or
 *	gauge series is one cell; a histogram series is nbounds + 1 bucket
 *	counts (not cumulative: an observation adds to one bucket) and the
 *	sum in microseconds, so an observation is two relaxed atomic adds.
 *	metrics_render() makes the buckets cumulative and derives _count
 *	from them; with adds racing the scrape, _sum and _count can differ
 *	by the observations in flight, which Prometheus tolerates.
 *
 *	The text format is version 0.0.4: one "# HELP" and one "# TYPE" per
 *	family, a sample per series with every label (label values
 *	escaped: backslash, double quote, newline), gauges read through
 *	their read function when they have one.
 *
 * DIAGNOSTICS
 *	metrics_register() refuses a name that is not a metric name, a
 *	counter without _total, a label named "le" on a histogram, bounds
 *	that do not ascend, more than METRICS_CELLS_MAX series, or a name
 *	registered twice.  Adds to an unregistered family, and out of range
 *	label indexes, are dropped silently: counting never fails.
 */
#include "metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* 100 us to 30 s: decisions (mostly well under 1 ms, up to CheckWait),
 * DNS lookups (up to DNSTimeout) and refresh rounds. */
const uint64_t metrics_latency_bounds_us[] = {
    100,     250,     500,     1000,     2500,     5000,
    10000,   25000,   50000,   100000,   250000,   500000,
    1000000, 2500000, 5000000, 10000000, 30000000,
};
const size_t metrics_latency_nbounds =
    sizeof(metrics_latency_bounds_us) / sizeof(metrics_latency_bounds_us[0]);

static const char *const metrics_type_names[] = {
    [METRICS_COUNTER] = "counter",
    [METRICS_GAUGE] = "gauge",
    [METRICS_HISTOGRAM] = "histogram",
};

void
metrics_init(struct metrics *m)
{
	pthread_mutex_init(&m->lock, NULL);
	m->head = m->tail = NULL;
}

void
metrics_fini(struct metrics *m)
{
	struct metrics_family *f, *next;

	pthread_mutex_lock(&m->lock);
	for (f = m->head; f != NULL; f = next) {
		next = f->next;
		free((void *)atomic_exchange(&f->cells, NULL));
		f->next = NULL;
	}
	m->head = m->tail = NULL;
	pthread_mutex_unlock(&m->lock);
	pthread_mutex_destroy(&m->lock);
}

/* metrics_name_ok - [a-zA-Z_:][a-zA-Z0-9_:]* (colons only for metric
 * names, not labels). */
static bool
metrics_name_ok(const char *name, bool colon)
{
	size_t i;

	if (name == NULL || name[0] == '\0' || strlen(name) >= METRICS_NAME_MAX)
		return false;
	for (i = 0; name[i] != '\0'; i++) {
		char c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          c == '_' || (colon && c == ':') ||
		          (i > 0 && c >= '0' && c <= '9');

		if (!ok)
			return false;
	}
	return true;
}

/* metrics_ends - whether s ends with suffix. */
static bool
metrics_ends(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* metrics_check - why f cannot be registered; NULL when it can. */
static const char *
metrics_check(const struct metrics_family *f, size_t *nseries)
{
	size_t k, v, n = 1;

	if (!metrics_name_ok(f->name, true))
		return "not a metric name";
	if (f->help == NULL || (unsigned)f->type > METRICS_HISTOGRAM)
		return "no help text or no type";
	if (f->type == METRICS_COUNTER && !metrics_ends(f->name, "_total"))
		return "a counter's name ends in _total";
	if (f->nlabels > METRICS_LABELS_MAX)
		return "too many labels";
	for (k = 0; k < f->nlabels; k++) {
		const struct metrics_label *l = &f->label[k];

		if (!metrics_name_ok(l->name, false) ||
		    strncmp(l->name, "__", 2) == 0)
			return "not a label name";
		if (f->type == METRICS_HISTOGRAM && strcmp(l->name, "le") == 0)
			return "a histogram's label cannot be le";
		if (l->values == NULL || l->nvalues == 0)
			return "a label without values";
		for (v = 0; v < l->nvalues; v++)
			if (l->values[v] == NULL)
				return "a label value is NULL";
		n *= l->nvalues;
		if (n > METRICS_CELLS_MAX)
			return "too many series";
	}
	if (f->type == METRICS_HISTOGRAM) {
		if (f->bounds_us == NULL || f->nbounds == 0 ||
		    f->nbounds > METRICS_BOUNDS_MAX)
			return "a histogram needs 1 to 32 bounds";
		for (k = 1; k < f->nbounds; k++)
			if (f->bounds_us[k] <= f->bounds_us[k - 1])
				return "histogram bounds must ascend";
	}
	if (f->read != NULL && f->type != METRICS_GAUGE)
		return "only a gauge has a read function";
	*nseries = n;
	return NULL;
}

int
metrics_register(struct metrics *m, struct metrics_family *f, char *err,
                 size_t errlen)
{
	const struct metrics_family *g;
	const char *why;
	size_t nseries = 0, stride, nshards, shard_cells, size;
	_Atomic uint64_t *cells;

	if ((why = metrics_check(f, &nseries)) != NULL) {
		snprintf(err, errlen, "metric %.*s: %s", METRICS_NAME_MAX,
		         f->name != NULL ? f->name : "(none)", why);
		return -1;
	}
	stride = f->type == METRICS_HISTOGRAM ? f->nbounds + 2 : 1;
	nshards = f->type == METRICS_GAUGE ? 1 : METRICS_SHARDS;
	shard_cells = (nseries * stride + METRICS_LINE_CELLS - 1) /
	              METRICS_LINE_CELLS * METRICS_LINE_CELLS;
	size = nshards * shard_cells * sizeof(*cells);
	pthread_mutex_lock(&m->lock);
	for (g = m->head; g != NULL; g = g->next)
		if (g == f || strcmp(g->name, f->name) == 0) {
			pthread_mutex_unlock(&m->lock);
			snprintf(err, errlen, "metric %s: registered twice",
			         f->name);
			return -1;
		}
	if ((cells = aligned_alloc(METRICS_LINE_CELLS * sizeof(*cells),
	                           size)) == NULL) {
		pthread_mutex_unlock(&m->lock);
		snprintf(err, errlen, "metric %s: out of memory", f->name);
		return -1;
	}
	memset((void *)cells, 0, size);
	f->nseries = nseries;
	f->stride = stride;
	f->nshards = nshards;
	f->shard_cells = shard_cells;
	f->next = NULL;
	atomic_store_explicit(&f->cells, cells, memory_order_release);
	if (m->tail != NULL)
		m->tail->next = f;
	else
		m->head = f;
	m->tail = f;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

/* The next copy a thread takes, and this thread's (0: none yet). */
static _Atomic unsigned metrics_next_shard;
static _Thread_local unsigned metrics_my_shard;

/* metrics_shard - this thread's copy of a sharded family's cells. */
static size_t
metrics_shard(void)
{
	if (metrics_my_shard == 0)
		metrics_my_shard =
		    atomic_fetch_add_explicit(&metrics_next_shard, 1,
		                              memory_order_relaxed) %
		        METRICS_SHARDS +
		    1;
	return metrics_my_shard - 1;
}

/* metrics_sum - the cell at offset summed over f's copies. */
static uint64_t
metrics_sum(const struct metrics_family *f, size_t offset)
{
	uint64_t v = 0;

	for (size_t k = 0; k < f->nshards; k++)
		v +=
		    atomic_load_explicit(&f->cells[k * f->shard_cells + offset],
		                         memory_order_relaxed);
	return v;
}

/* metrics_series - the first cell of series (i, j) in this thread's
 * copy; NULL when f is not registered or an index is out of range. */
static _Atomic uint64_t *
metrics_series(const struct metrics_family *f, size_t i, size_t j)
{
	_Atomic uint64_t *cells =
	    atomic_load_explicit(&f->cells, memory_order_acquire);
	size_t s = 0;

	if (cells == NULL)
		return NULL;
	if (f->nlabels >= 1) {
		if (i >= f->label[0].nvalues)
			return NULL;
		s = i;
	}
	if (f->nlabels == 2) {
		if (j >= f->label[1].nvalues)
			return NULL;
		s = s * f->label[1].nvalues + j;
	}
	if (f->nshards > 1)
		cells += metrics_shard() * f->shard_cells;
	return cells + s * f->stride;
}

bool
metrics_on(const struct metrics_family *f)
{
	return atomic_load_explicit(&f->cells, memory_order_relaxed) != NULL;
}

void
metrics_add(struct metrics_family *f, size_t i, size_t j, uint64_t n)
{
	_Atomic uint64_t *c = metrics_series(f, i, j);

	if (c != NULL && f->type != METRICS_HISTOGRAM)
		atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

void
metrics_set(struct metrics_family *f, size_t i, size_t j, int64_t v)
{
	_Atomic uint64_t *c = metrics_series(f, i, j);

	if (c != NULL && f->type == METRICS_GAUGE)
		atomic_store_explicit(c, (uint64_t)v, memory_order_relaxed);
}

void
metrics_observe_us(struct metrics_family *f, size_t i, size_t j, uint64_t us)
{
	_Atomic uint64_t *c = metrics_series(f, i, j);
	size_t b = 0;

	if (c == NULL || f->type != METRICS_HISTOGRAM)
		return;
	while (b < f->nbounds && us > f->bounds_us[b])
		b++;
	atomic_fetch_add_explicit(&c[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&c[f->nbounds + 1], us, memory_order_relaxed);
}

int64_t
metrics_value(const struct metrics_family *f, size_t i, size_t j)
{
	_Atomic uint64_t *c = metrics_series(f, i, j);
	size_t offset;

	if (c == NULL || f->type == METRICS_HISTOGRAM)
		return 0;
	offset = (size_t)(c - f->cells) % f->shard_cells;
	return (int64_t)metrics_sum(f, offset);
}

uint64_t
metrics_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* metrics_escape - src into dst with the escapes of the text format;
 * quote: the double quote is escaped too (label values). */
static size_t
metrics_escape(char *dst, size_t dstlen, const char *src, bool quote)
{
	size_t n = 0;
	const char *s;

	if (dstlen == 0)
		return 0;
	for (s = src; *s != '\0'; s++) {
		char esc = *s == '\\'           ? '\\'
		           : *s == '\n'         ? 'n'
		           : quote && *s == '"' ? '"'
		                                : '\0';
		size_t need = esc != '\0' ? 2 : 1;

		if (n + need >= dstlen)
			break;
		if (esc != '\0') {
			dst[n++] = '\\';
			dst[n++] = esc;
		} else {
			dst[n++] = *s;
		}
	}
	dst[n] = '\0';
	return n;
}

size_t
metrics_escape_label(char *dst, size_t dstlen, const char *src)
{
	return metrics_escape(dst, dstlen, src, true);
}

size_t
metrics_escape_help(char *dst, size_t dstlen, const char *src)
{
	return metrics_escape(dst, dstlen, src, false);
}

/* The text being written: like snprintf, need counts past the end. */
struct metrics_out {
	char *buf;
	size_t len;
	size_t need;
};

static void metrics_printf(struct metrics_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* metrics_printf - append to the text; past its end only counted. */
static void
metrics_printf(struct metrics_out *o, const char *fmt, ...)
{
	va_list ap;
	size_t room = o->need < o->len ? o->len - o->need : 0;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(room > 0 ? o->buf + o->need : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->need += (size_t)n;
}

/* metrics_labels - "{a="x",b="y"" without the closing brace (extra
 * labels follow), or "" for none; open says whether a brace opened. */
static bool
metrics_labels(struct metrics_out *o, const struct metrics_family *f,
               size_t series)
{
	char esc[2 * METRICS_NAME_MAX + 1];
	size_t idx[METRICS_LABELS_MAX] = {0}, k;

	if (f->nlabels == 0)
		return false;
	if (f->nlabels == 2) {
		idx[0] = series / f->label[1].nvalues;
		idx[1] = series % f->label[1].nvalues;
	} else {
		idx[0] = series;
	}
	for (k = 0; k < f->nlabels; k++) {
		metrics_escape_label(esc, sizeof(esc),
		                     f->label[k].values[idx[k]]);
		metrics_printf(o, "%s%s=\"%s\"", k == 0 ? "{" : ",",
		               f->label[k].name, esc);
	}
	return true;
}

/* metrics_seconds - microseconds as seconds, shortest exact form. */
static void
metrics_seconds(char *buf, size_t len, uint64_t us)
{
	snprintf(buf, len, "%llu.%06llu", (unsigned long long)(us / 1000000),
	         (unsigned long long)(us % 1000000));
	/* "0.250000" -> "0.25", "1.000000" -> "1" */
	for (size_t n = strlen(buf); n > 0 && buf[n - 1] == '0'; n--)
		buf[n - 1] = '\0';
	if (buf[strlen(buf) - 1] == '.')
		buf[strlen(buf) - 1] = '\0';
}

/* metrics_render_histogram - one series: buckets, sum, count. */
static void
metrics_render_histogram(struct metrics_out *o, const struct metrics_family *f,
                         size_t series)
{
	size_t c = series * f->stride; /* offset in a copy */
	uint64_t cum = 0;
	char le[32];
	size_t b;
	bool open;

	for (b = 0; b <= f->nbounds; b++) {
		cum += metrics_sum(f, c + b);
		if (b < f->nbounds)
			metrics_seconds(le, sizeof(le), f->bounds_us[b]);
		else
			snprintf(le, sizeof(le), "+Inf");
		metrics_printf(o, "%s_bucket", f->name);
		open = metrics_labels(o, f, series);
		metrics_printf(o, "%sle=\"%s\"} %llu\n", open ? "," : "{", le,
		               (unsigned long long)cum);
	}
	metrics_seconds(le, sizeof(le), metrics_sum(f, c + f->nbounds + 1));
	metrics_printf(o, "%s_sum", f->name);
	if (metrics_labels(o, f, series))
		metrics_printf(o, "}");
	metrics_printf(o, " %s\n", le);
	metrics_printf(o, "%s_count", f->name);
	if (metrics_labels(o, f, series))
		metrics_printf(o, "}");
	metrics_printf(o, " %llu\n", (unsigned long long)cum);
}

/* metrics_render_family - HELP, TYPE and every series of f. */
static void
metrics_render_family(struct metrics_out *o, const struct metrics_family *f)
{
	char help[1024];
	size_t s;

	metrics_escape_help(help, sizeof(help), f->help);
	metrics_printf(o, "# HELP %s %s\n# TYPE %s %s\n", f->name, help,
	               f->name, metrics_type_names[f->type]);
	for (s = 0; s < f->nseries; s++) {
		if (f->type == METRICS_HISTOGRAM) {
			metrics_render_histogram(o, f, s);
			continue;
		}
		metrics_printf(o, "%s", f->name);
		if (metrics_labels(o, f, s))
			metrics_printf(o, "}");
		if (f->read != NULL) {
			double v = f->read(f->read_arg, s);

			if (isnan(v))
				metrics_printf(o, " NaN\n");
			else if (isinf(v))
				metrics_printf(o, " %sInf\n",
				               v > 0 ? "+" : "-");
			else
				metrics_printf(o, " %.17g\n", v);
		} else if (f->type == METRICS_GAUGE) {
			metrics_printf(o, " %lld\n",
			               (long long)(int64_t)metrics_sum(f, s));
		} else {
			metrics_printf(o, " %llu\n",
			               (unsigned long long)metrics_sum(f, s));
		}
	}
}

size_t
metrics_render(struct metrics *m, char *buf, size_t len)
{
	struct metrics_out o = {.buf = buf, .len = len, .need = 0};
	const struct metrics_family *f;

	if (len > 0)
		buf[0] = '\0';
	pthread_mutex_lock(&m->lock);
	for (f = m->head; f != NULL; f = f->next)
		metrics_render_family(&o, f);
	pthread_mutex_unlock(&m->lock);
	return o.need;
}
