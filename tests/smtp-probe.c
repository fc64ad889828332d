/*
 * smtp-probe.c - send one message over SMTP and print the whole dialogue.
 *
 * SYNOPSIS
 *	smtp-probe [-t SECONDS] [-H HELO] [-s SUBJECT] [-F FROM]... [-n]
 *	    HOST PORT SENDER RECIPIENT...
 *
 * DESCRIPTION
 *	Connects to HOST (a numeric IPv4 or IPv6 address) on PORT and sends
 *	EHLO, MAIL FROM:<SENDER> (an empty SENDER is the null sender <>),
 *	one RCPT TO per RECIPIENT, DATA with a short message, and QUIT.
 *	Every line sent is printed as "> LINE" and every reply line as
 *	"< LINE" on stdout, with bytes outside printable ASCII shown as
 *	\xNN, so the integration tests can match exact replies.  The first
 *	refused command (a 4xx or 5xx reply) ends the transaction: QUIT is
 *	sent and nothing else.
 *
 *	The message's From header field is "<SENDER>"; each -F gives one
 *	From field with the value FROM instead (at most PROBE_FROM_MAX),
 *	and -n sends none.
 *
 *	Integration tests use it where smtp-source would hide the replies:
 *	tests/integration/postfix.sh and contrib/demo.
 *
 * DIAGNOSTICS
 *	Exit status 0 when the message was accepted (2xx after the final
 *	dot), 1 when the server refused a command, 2 on a connection,
 *	timeout or protocol error (message on stderr), 64 usage error.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROBE_LINE_MAX 1024      /* octets of one reply line we keep */
#define PROBE_REPLY_LINES_MAX 64 /* lines of one multi-line reply */
#define PROBE_CMD_MAX 1100       /* octets of one command line */
#define PROBE_ARG_MAX 512        /* octets of an address or a name */
#define PROBE_TIMEOUT_DEFAULT 30 /* seconds for a whole reply */
#define PROBE_TIMEOUT_MAX 3600
#define PROBE_FROM_MAX 4 /* -F options */

#define PROBE_EXIT_ACCEPTED 0
#define PROBE_EXIT_REFUSED 1
#define PROBE_EXIT_ERROR 2
#define PROBE_EXIT_USAGE 64

struct probe {
	int fd;
	int timeout_ms;
	char buf[4096]; /* received, not yet split into lines */
	size_t len;
};

struct probe_args {
	const char *host, *port, *sender, *helo, *subject;
	char **rcpt;
	int nrcpt;
	int timeout;
	const char *from[PROBE_FROM_MAX]; /* -F values */
	int nfrom;
	bool no_from; /* -n */
};

static const char probe_usage[] =
    "usage: smtp-probe [-t SECONDS] [-H HELO] [-s SUBJECT] [-F FROM]... [-n] "
    "HOST PORT SENDER RECIPIENT...\n";

/* probe_show - print prefix and len octets of text, unprintables escaped. */
static void
probe_show(const char *prefix, const char *text, size_t len)
{
	size_t i;

	fputs(prefix, stdout);
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)text[i];

		if (ch >= 0x20 && ch < 0x7f && ch != '\\')
			putchar(ch);
		else
			printf("\\x%02x", ch);
	}
	putchar('\n');
	fflush(stdout);
}

/* probe_error - one diagnostic on stderr; the error exit status. */
static int
probe_error(const char *what, const char *detail)
{
	fprintf(stderr, "smtp-probe: %s%s%s\n", what, detail ? ": " : "",
	        detail ? detail : "");
	return PROBE_EXIT_ERROR;
}

/* probe_connect - a connected stream socket to host:port, or -1. */
static int
probe_connect(const char *host, const char *port)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		probe_error(host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		            ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		probe_error("connect", strerror(errno));
	freeaddrinfo(res);
	return fd;
}

/* probe_fill - read more octets before the deadline; 0, or -1 on error. */
static int
probe_fill(struct probe *p, const struct timespec *deadline)
{
	struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
	struct timespec now;
	long long left;
	ssize_t n;

	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
		       (deadline->tv_nsec - now.tv_nsec) / 1000000;
		if (left <= 0)
			return probe_error("timeout waiting for a reply", NULL),
			       -1;
		if (poll(&pfd, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			return probe_error("poll", strerror(errno)), -1;
		}
		if (pfd.revents == 0)
			continue;
		n = read(p->fd, p->buf + p->len, sizeof(p->buf) - p->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return probe_error("read", strerror(errno)), -1;
		if (n == 0)
			return probe_error("connection closed by the server",
			                   NULL),
			       -1;
		p->len += (size_t)n;
		return 0;
	}
}

/* probe_line - the next reply line (CRLF or LF removed) into line. */
static int
probe_line(struct probe *p, char *line, size_t linesize,
           const struct timespec *deadline)
{
	char *nl;
	size_t n, keep;

	while ((nl = memchr(p->buf, '\n', p->len)) == NULL) {
		if (p->len == sizeof(p->buf)) /* overlong: keep the start */
			p->len = PROBE_LINE_MAX;
		if (probe_fill(p, deadline) != 0)
			return -1;
	}
	n = (size_t)(nl - p->buf);
	keep = n > 0 && p->buf[n - 1] == '\r' ? n - 1 : n;
	if (keep >= linesize)
		keep = linesize - 1;
	memcpy(line, p->buf, keep);
	line[keep] = '\0';
	memmove(p->buf, nl + 1, p->len - n - 1);
	p->len -= n + 1;
	return (int)keep;
}

/* probe_reply - read one (multi-line) reply; its code, or -1. */
static int
probe_reply(struct probe *p)
{
	char line[PROBE_LINE_MAX];
	struct timespec deadline;
	int i, len, code = -1;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += p->timeout_ms / 1000;
	for (i = 0; i < PROBE_REPLY_LINES_MAX; i++) {
		if ((len = probe_line(p, line, sizeof(line), &deadline)) < 0)
			return -1;
		probe_show("< ", line, (size_t)len);
		if (len < 3 || line[0] < '2' || line[0] > '5' ||
		    line[1] < '0' || line[1] > '9' || line[2] < '0' ||
		    line[2] > '9' ||
		    (len > 3 && line[3] != ' ' && line[3] != '-')) {
			probe_error("not an SMTP reply line", NULL);
			return -1;
		}
		if (code >= 0 && code != atoi(line)) {
			probe_error("reply code changed within a reply", NULL);
			return -1;
		}
		code = (line[0] - '0') * 100 + (line[1] - '0') * 10 +
		       (line[2] - '0');
		if (len == 3 || line[3] == ' ')
			return code;
	}
	probe_error("reply longer than the limit of lines", NULL);
	return -1;
}

/* probe_send - write one line with CRLF; echo it unless quiet. */
static int
probe_send(struct probe *p, const char *line, int quiet)
{
	char out[PROBE_CMD_MAX + 2];
	size_t len = strlen(line), off = 0;
	ssize_t n;

	if (len > PROBE_CMD_MAX)
		return probe_error("command too long", NULL), -1;
	if (!quiet)
		probe_show("> ", line, len);
	memcpy(out, line, len);
	memcpy(out + len, "\r\n", 2);
	len += 2;
	while (off < len) {
		n = send(p->fd, out + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return probe_error("write", strerror(errno)), -1;
		off += (size_t)n;
	}
	return 0;
}

/* probe_command - send line, read the reply: its code, or -1. */
static int
probe_command(struct probe *p, const char *line)
{
	if (probe_send(p, line, 0) != 0)
		return -1;
	return probe_reply(p);
}

/* probe_message - the header and body lines after DATA, then ".". */
static int
probe_message(struct probe *p, const struct probe_args *a)
{
	char line[PROBE_CMD_MAX], date[64];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	for (int i = 0; i < a->nfrom; i++) {
		snprintf(line, sizeof(line), "From: %s", a->from[i]);
		if (probe_send(p, line, 1) != 0)
			return -1;
	}
	snprintf(line, sizeof(line), "From: <%s>", a->sender);
	if (a->nfrom == 0 && !a->no_from && probe_send(p, line, 1) != 0)
		return -1;
	snprintf(line, sizeof(line), "To: <%s>", a->rcpt[0]);
	if (probe_send(p, line, 1) != 0)
		return -1;
	snprintf(line, sizeof(line), "Subject: %s", a->subject);
	if (probe_send(p, line, 1) != 0)
		return -1;
	snprintf(line, sizeof(line), "Date: %s", date);
	if (probe_send(p, line, 1) != 0 || probe_send(p, "", 1) != 0 ||
	    probe_send(p, "A test message from smtp-probe.", 1) != 0)
		return -1;
	probe_show("> ", "(message)", 9);
	return probe_command(p, ".");
}

/* probe_transaction - EHLO to QUIT; the exit status. */
static int
probe_transaction(struct probe *p, const struct probe_args *a)
{
	char line[PROBE_CMD_MAX];
	int code, i, status = PROBE_EXIT_REFUSED;

	if ((code = probe_reply(p)) < 0)
		return PROBE_EXIT_ERROR;
	if (code / 100 != 2)
		goto quit;
	snprintf(line, sizeof(line), "EHLO %s", a->helo);
	if ((code = probe_command(p, line)) < 0)
		return PROBE_EXIT_ERROR;
	if (code / 100 != 2)
		goto quit;
	snprintf(line, sizeof(line), "MAIL FROM:<%s>", a->sender);
	if ((code = probe_command(p, line)) < 0)
		return PROBE_EXIT_ERROR;
	if (code / 100 != 2)
		goto quit;
	for (i = 0; i < a->nrcpt; i++) {
		snprintf(line, sizeof(line), "RCPT TO:<%s>", a->rcpt[i]);
		if ((code = probe_command(p, line)) < 0)
			return PROBE_EXIT_ERROR;
		if (code / 100 != 2)
			goto quit;
	}
	if ((code = probe_command(p, "DATA")) < 0)
		return PROBE_EXIT_ERROR;
	if (code != 354)
		goto quit;
	if ((code = probe_message(p, a)) < 0)
		return PROBE_EXIT_ERROR;
	if (code / 100 == 2)
		status = PROBE_EXIT_ACCEPTED;
quit:
	if (probe_command(p, "QUIT") < 0)
		return PROBE_EXIT_ERROR;
	return status;
}

/* probe_arg_ok - an argument fit for a command line: printable, short. */
static int
probe_arg_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f ||
		    i >= PROBE_ARG_MAX)
			return 0;
	return 1;
}

/* probe_args_parse - options and operands; 0, or the usage exit status. */
static int
probe_args_parse(int argc, char **argv, struct probe_args *a)
{
	int c, i;
	char *end;

	a->helo = "probe.test";
	a->subject = "authready test";
	a->timeout = PROBE_TIMEOUT_DEFAULT;
	a->nfrom = 0;
	a->no_from = false;
	while ((c = getopt(argc, argv, "t:H:s:F:n")) != -1) {
		switch (c) {
		case 't':
			errno = 0;
			a->timeout = (int)strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || a->timeout < 1 ||
			    a->timeout > PROBE_TIMEOUT_MAX)
				return PROBE_EXIT_USAGE;
			break;
		case 'H':
			a->helo = optarg;
			break;
		case 's':
			a->subject = optarg;
			break;
		case 'F':
			if (a->nfrom >= PROBE_FROM_MAX || !probe_arg_ok(optarg))
				return PROBE_EXIT_USAGE;
			a->from[a->nfrom++] = optarg;
			break;
		case 'n':
			a->no_from = true;
			break;
		default:
			return PROBE_EXIT_USAGE;
		}
	}
	if (argc - optind < 4)
		return PROBE_EXIT_USAGE;
	a->host = argv[optind];
	a->port = argv[optind + 1];
	a->sender = argv[optind + 2];
	a->rcpt = argv + optind + 3;
	a->nrcpt = argc - optind - 3;
	if (!probe_arg_ok(a->helo) || !probe_arg_ok(a->subject) ||
	    !probe_arg_ok(a->sender))
		return PROBE_EXIT_USAGE;
	for (i = 0; i < a->nrcpt; i++)
		if (!probe_arg_ok(a->rcpt[i]))
			return PROBE_EXIT_USAGE;
	return 0;
}

int
main(int argc, char **argv)
{
	struct probe_args a;
	static struct probe p;
	int status;

	memset(&a, 0, sizeof(a));
	if (probe_args_parse(argc, argv, &a) != 0) {
		fputs(probe_usage, stderr);
		return PROBE_EXIT_USAGE;
	}
	p.timeout_ms = a.timeout * 1000;
	if ((p.fd = probe_connect(a.host, a.port)) < 0)
		return PROBE_EXIT_ERROR;
	status = probe_transaction(&p, &a);
	close(p.fd);
	return status;
}
