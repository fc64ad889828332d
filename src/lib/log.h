/*
 * log.h - one line per event, to syslog or to stderr, never raw.
 *
 * SYNOPSIS
 *	#include "log.h"
 *
 *	The functions: see log.c.
 *
 * DESCRIPTION
 *	Every value that reaches a log line goes through log_field(): it is
 *	sanitized (sanitize_text: no CR, LF, control bytes or invalid UTF-8
 *	survive), capped at LOG_FIELD_MAX bytes, and quoted when it holds a
 *	space, a quote or an equals sign, so a line always parses as
 *	key=value pairs and no sender can forge a second line.
 */
#ifndef AUTHREADY_LOG_H
#define AUTHREADY_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

#define LOG_LINE_MAX 2048
#define LOG_FIELD_MAX 256

struct log_line {
	char buf[LOG_LINE_MAX];
	size_t len;
};

/*
 * log_open - ident for every line; facility by name ("mail", "local0",
 * ...); use_syslog false writes to stderr with a timestamp.  0 ok, -1
 * with err for an unknown facility.
 */
int log_open(const char *ident, const char *facility, bool use_syslog,
             char *err, size_t errlen);

/*
 * log_start_async - from now on syslog lines are queued (a bounded ring)
 * and sent by one writer thread, many per sendmmsg(2) to /dev/log, so a
 * decision never waits for syslog.  When the ring is full lines are
 * dropped and counted (the count is logged), never waited for.  Call
 * after daemon(3), before other threads; 0 ok, -1 with err.
 */
int log_start_async(char *err, size_t errlen);

/*
 * log_start_async_lossless - as log_start_async(), for stderr too (the
 * writer thread writes a batch of lines with one write(2), off the
 * caller's thread), and a full ring makes the caller wait for room:
 * nothing is dropped.  For a process whose every check is a line, an
 * audit, and which may wait (checkerd).  log_stop() before exit, or
 * queued lines are lost.  0 ok, -1 with err.
 */
int log_start_async_lossless(char *err, size_t errlen);

/*
 * log_set_socket - the syslog socket the writer sends to (default
 * /dev/log); for tests and chroots.  Call before log_start_async().
 * -1 when path does not fit a socket address.
 */
int log_set_socket(const char *path);

struct metrics;

/* log_metrics_register - the dropped lines' counter into m; 0, or -1
 * with err. */
int log_metrics_register(struct metrics *m, char *err, size_t errlen);

/* log_stop - flush the ring and stop the writer thread. */
void log_stop(void);

/* log_msg - a free-form line; callers pass only trusted text or fields. */
void log_msg(int priority, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void log_line_init(struct log_line *line);

/* log_field - append key=value, value sanitized, capped, quoted. */
void log_field(struct log_line *line, const char *key, const char *value);

/* log_field_text - text that is already sanitized (printable ASCII, with
 * sanitize_text's escapes) is kept as is, so escapes are not doubled;
 * anything else goes through log_field(). */
void log_field_text(struct log_line *line, const char *key, const char *value);

/* log_field_len - the same for a value with an explicit length. */
void log_field_len(struct log_line *line, const char *key,
                   const unsigned char *value, size_t len);

void log_emit(int priority, const struct log_line *line);

#endif
