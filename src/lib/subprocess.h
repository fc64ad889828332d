/*
 * subprocess.h - run an external program without a shell.
 *
 * SYNOPSIS
 *	#include "subprocess.h"
 *
 *	The functions: see subprocess.c.
 *
 * DESCRIPTION
 *	authready runs three external programs: sendmail (confirmation mail),
 *	postsuper (releasing held mail) and postqueue (listing the hold queue
 *	before a release).  They go through subprocess_run(), or
 *	subprocess_lines() for a program whose output is read:
 *	posix_spawn() of an absolute path with a fixed argv, a minimal
 *	environment, input written to its stdin, its stderr captured (bounded)
 *	for the error message, and a deadline after which it is killed.  No
 *	system(), no popen(), no shell: no argument can be re-parsed.
 */
#ifndef AUTHREADY_SUBPROCESS_H
#define AUTHREADY_SUBPROCESS_H

#include <stddef.h>

#define SUBPROCESS_ARGS_MAX 16
#define SUBPROCESS_STDERR_MAX 512

/*
 * subprocess_run - run argv[0] (an absolute path) with argv, feed it input.
 * Returns the exit status (0..255); -1 with err when it could not be run,
 * was killed by a signal, or overran timeout_ms (it is then killed).  A
 * non-zero exit leaves the program's first stderr line in err.
 */
int subprocess_run(const char *const *argv, const char *input, size_t inlen,
                   int timeout_ms, char *err, size_t errlen);

/* subprocess_line_cb - one line of output, without its newline. */
typedef void (*subprocess_line_cb)(void *ctx, const char *line, size_t len);

/*
 * subprocess_lines - run argv[0] with stdin on /dev/null and hand every
 * line of its stdout to cb, as it comes.  A line longer than line_max
 * octets is skipped (counted in *skipped).  Returns the exit status as
 * subprocess_run() does; -1 with err when it could not be run, was
 * killed, or overran timeout_ms.
 */
int subprocess_lines(const char *const *argv, subprocess_line_cb cb, void *ctx,
                     size_t line_max, size_t *skipped, int timeout_ms,
                     char *err, size_t errlen);

/*
 * subprocess_split - split a command line from the config ("/usr/sbin/sendmail
 * -t -oi") at white space into argv (no quoting, no expansion).  words is
 * a copy the caller provides.  Returns the number of words, or -1 when
 * there are none, too many, or the first is not an absolute path.
 */
int subprocess_split(char *words, const char **argv, size_t maxargs);

#endif
