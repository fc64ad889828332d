/*
 * log.c - sanitized, length-capped log lines; see log.h.
 *
 * SYNOPSIS
 *	int log_open(ident, facility, use_syslog, err, errlen);
 *	void log_msg(priority, fmt, ...);
 *	void log_line_init(line);
 *	void log_field(line, key, value);
 *	void log_emit(priority, line);
 *
 * DESCRIPTION
 *	The destination is chosen once at start (before threads), then only
 *	read.  syslog(3) is thread-safe; on stderr each line is written
 *	with one fprintf under the stream lock.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sanitize.h"

static const struct {
	const char *name;
	int facility;
} log_facilities[] = {
	{"mail", LOG_MAIL},
	{"daemon", LOG_DAEMON},
	{"user", LOG_USER},
	{"local0", LOG_LOCAL0},
	{"local1", LOG_LOCAL1},
	{"local2", LOG_LOCAL2},
	{"local3", LOG_LOCAL3},
	{"local4", LOG_LOCAL4},
	{"local5", LOG_LOCAL5},
	{"local6", LOG_LOCAL6},
	{"local7", LOG_LOCAL7},
};

static const struct {
	int priority;
	const char *name;
} log_priorities[] = {
	{LOG_ERR, "error"},
	{LOG_WARNING, "warning"},
	{LOG_NOTICE, "notice"},
	{LOG_INFO, "info"},
	{LOG_DEBUG, "debug"},
};

/* Set once by log_open() before any thread starts. */
static bool log_to_syslog;
static char log_ident[64] = "authready";

static int
log_facility_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(log_facilities) / sizeof(*log_facilities); i++)
		if (strcasecmp(name, log_facilities[i].name) == 0)
			return log_facilities[i].facility;
	return -1;
}

bool
log_facility_ok(const char *name)
{
	return log_facility_find(name) >= 0;
}

int
log_open(const char *ident, const char *facility, bool use_syslog, char *err,
    size_t errlen)
{
	int fac = log_facility_find(facility);

	if (fac < 0) {
		snprintf(err, errlen, "unknown syslog facility '%s'", facility);
		return -1;
	}
	snprintf(log_ident, sizeof(log_ident), "%s", ident);
	log_to_syslog = use_syslog;
	if (use_syslog)
		openlog(log_ident, LOG_PID | LOG_NDELAY, fac);
	return 0;
}

static const char *
log_priority_name(int priority)
{
	size_t i;

	for (i = 0; i < sizeof(log_priorities) / sizeof(*log_priorities); i++)
		if (log_priorities[i].priority == priority)
			return log_priorities[i].name;
	return "info";
}

/* log_write - one finished, already safe line. */
static void
log_write(int priority, const char *text)
{
	char when[32];
	struct timespec ts;
	struct tm tm;

	if (log_to_syslog) {
		syslog(priority, "%s", text);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %s: %s: %s\n", when, ts.tv_nsec / 1000000,
	    log_ident, log_priority_name(priority), text);
	fflush(stderr);
}

void
log_msg(int priority, const char *fmt, ...)
{
	char raw[LOG_LINE_MAX], safe[LOG_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	sanitize_text(safe, sizeof(safe), (const unsigned char *)raw,
	    strlen(raw));
	log_write(priority, safe);
}

void
log_line_init(struct log_line *line)
{
	line->buf[0] = '\0';
	line->len = 0;
}

/* log_append - add text if it fits; the line is cut at a field, never
 * inside one. */
static void
log_append(struct log_line *line, const char *text, size_t len)
{
	if (line->len + len + 1 > sizeof(line->buf))
		return;
	memcpy(line->buf + line->len, text, len);
	line->len += len;
	line->buf[line->len] = '\0';
}

void
log_field_len(struct log_line *line, const char *key,
    const unsigned char *value, size_t len)
{
	char safe[LOG_FIELD_MAX], field[LOG_FIELD_MAX * 2 + 128];
	size_t n, i, used = 0;
	int quote;

	sanitize_text(safe, sizeof(safe), value, len);
	quote = safe[0] == '\0' || strpbrk(safe, " \"=") != NULL;
	n = (size_t)snprintf(field, sizeof(field), "%s%s=%s",
	    line->len ? " " : "", key, quote ? "\"" : "");
	used = n < sizeof(field) ? n : sizeof(field) - 1;
	for (i = 0; safe[i] != '\0' && used + 3 < sizeof(field); i++) {
		if (safe[i] == '"')
			field[used++] = '\\';
		field[used++] = safe[i];
	}
	if (quote && used + 2 < sizeof(field))
		field[used++] = '"';
	field[used] = '\0';
	log_append(line, field, used);
}

void
log_field(struct log_line *line, const char *key, const char *value)
{
	if (value == NULL)
		value = "";
	log_field_len(line, key, (const unsigned char *)value, strlen(value));
}

void
log_emit(int priority, const struct log_line *line)
{
	log_write(priority, line->buf);
}
