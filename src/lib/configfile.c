/*
 * configfile.c - authready.conf(5): parsing into an immutable snapshot.
 *
 * SYNOPSIS
 *	void config_defaults(struct config *cfg);
 *	int config_parse(const char *buf, size_t len, const char *filename,
 *	    struct config *cfg, char *err, size_t errlen);
 *	int config_load(const char *path, bool must_exist, struct config *cfg,
 *	    char *err, size_t errlen);
 *	int config_set(struct config *cfg, const char *key,
 *	    const char *value, char *err, size_t errlen);
 *	int config_parse_timeout(const char *text, unsigned *ms);
 *	int config_api_listen_parse(const char *text,
 *	    struct sockaddr_storage *ss, socklen_t *sslen);
 *	bool config_socket_inet(const char *socket);
 *	int config_listen_parse(text, out, err, errlen);
 *	int config_check_door(cfg, socket, err, errlen);
 *	int config_check_fleet(cfg, err, errlen);
 *
 * DESCRIPTION
 *	One "Key value" per line, as in opendkim.conf(5).  Keys are
 *	case-insensitive.  A "#" at the start of a line or after white space
 *	starts a comment (so "/path/a#b" keeps its "#").  Leading and
 *	trailing white space is ignored, and so are blank lines.  CRLF line
 *	endings and a last line without a newline are accepted.  A key given
 *	twice takes the later value, as in OpenDKIM, except WebhookURL: each
 *	line adds one URL (at most CONFIG_WEBHOOK_URLS_MAX), and a URL must
 *	be an absolute http or https URL (config_webhook_url_ok(), through
 *	libcurl's URL parser).  WebhookURL without WebhookSecretFile is
 *	refused: every event is signed.
 *
 *	Every key is one row of config_keys[]: its name, its type and where
 *	its value goes, the milter's policy keys (On<Situation>, Mode,
 *	InternalHosts, DomainActions...) included.  Each type has one setter
 *	that validates the value completely before storing it (domains
 *	through domain_normalize(), DNS servers through dns_server_parse(),
 *	policy values through policy.c's parsers).  A list key whose value
 *	starts with "/" names a file holding the list: config_list_text()
 *	reads it (at most POLICY_FILE_MAX octets, through safefile_read()),
 *	the one place list files are read.  config_set() sets one key by
 *	name, as a line would.
 *
 *	config_check_door() is a rule that spans keys: a policy that
 *	can quarantine needs a door only the MTA can open (see its comment
 *	in configfile.h); so is config_check_fleet(): FleetRefresh no
 *	needs StoreDSN.  Both are the milter's (a CLI command may take
 *	--store-dsn).  The other, checked by config_parse(): with MTA
 *	sendmail, HoldQueueCommand is not postqueue and ReleaseCommand is
 *	not postsuper (config_check_mta()); OnMailFromNotReady fallback has
 *	a FallbackMailFrom (fallback_config_check()).
 *
 *	config_parse() works on a copy and stores it into cfg only when the
 *	whole text is valid, so a failed reload leaves the running snapshot
 *	as it was.  config_load() reads at most CONFIG_FILE_MAX octets from a
 *	regular file, through safefile_read() (a FIFO does not block it).
 *
 * DIAGNOSTICS
 *	-1 with "FILE:LINE: what is wrong" in err; file errors are
 *	"PATH: strerror".  Values are quoted through sanitize_text().
 */
#include "configfile.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <syslog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "errbuf.h"
#include "safefile.h"
#include "sanitize.h"
#include "text.h"

#define CONFIG_FILE_MAX (1024 * 1024) /* octets; a config is not a database */
#define CONFIG_TIMEOUT_MIN_MS 1
#define CONFIG_TIMEOUT_MAX_MS 300000
#define CONFIG_QUOTE_MAX 80 /* how much of a bad value a message shows */
#define CONFIG_MSG_MAX 512

enum config_type {
	CONFIG_STRING,
	CONFIG_DOMAIN,
	CONFIG_TIMEOUT,
	CONFIG_DMARC_POLICY,
	CONFIG_SERVERS,
	CONFIG_DURATION,
	CONFIG_PATH,
	CONFIG_COMMAND,
	CONFIG_ADDRESS,
	CONFIG_IP_LIST,
	CONFIG_CONCURRENCY,
	CONFIG_BOOL,
	CONFIG_OCTAL,
	CONFIG_FACILITY,
	CONFIG_SOCKET,
	CONFIG_MILTER_TIMEOUT,
	CONFIG_COMMAND_OR_NONE,
	CONFIG_ACTION, /* On<Situation>; size holds the situation */
	CONFIG_UNREG,  /* the policy keys (policy.h) */
	CONFIG_MODE,
	CONFIG_OUTBOUND,
	CONFIG_HOSTS, /* lists: inline, or "/" names a file */
	CONFIG_SENDERS,
	CONFIG_DOMAINS,
	CONFIG_OVERRIDES,
	CONFIG_REPLY,
	CONFIG_HEADER,
	CONFIG_FROMCHECK, /* FromCheck; OnFrom<Problem>: size the problem */
	CONFIG_FROM_ACTION,
	CONFIG_MTA,
	CONFIG_FALLBACK, /* OnMailFromNotReady */
	CONFIG_FALLBACK_ADDRESS,
	CONFIG_ALIGN, /* AlignmentRequired */
	CONFIG_MISALIGNED,
	CONFIG_API_LISTEN,  /* APIListen: ADDR:PORT */
	CONFIG_WEBHOOK_URL, /* appends: the one key given several times */
	CONFIG_LISTEN,      /* MetricsListen, APIMetricsListen */
};

struct config_key {
	const char *name;
	enum config_type type;
	size_t offset; /* of the field in struct config */
	size_t size;   /* of the field, for strings and domains */
};

#define CONFIG_FIELD(f)                                                        \
	offsetof(struct config, f), sizeof(((struct config *)0)->f)
/* An On<Situation> key: its slot of policy.on[], and the situation. */
#define CONFIG_ON(s)                                                           \
	offsetof(struct config, policy.on) + (s) * sizeof(enum policy_action), \
	    (s)
/* An OnFrom<Problem> key: its slot of from.on[], and the problem. */
#define CONFIG_ON_FROM(p)                                                      \
	offsetof(struct config, from.on) + (p) * sizeof(enum policy_action), (p)

static const struct config_key config_keys[] = {
    {"DNSServers", CONFIG_SERVERS, CONFIG_FIELD(dns)},
    {"DNSTimeout", CONFIG_TIMEOUT, CONFIG_FIELD(dns.timeout_ms)},
    {"CheckTimeout", CONFIG_TIMEOUT, CONFIG_FIELD(check_timeout_ms)},
    {"Selector", CONFIG_DOMAIN, CONFIG_FIELD(selector)},
    {"KeyFile", CONFIG_STRING, CONFIG_FIELD(key_file)},
    {"MailFrom", CONFIG_DOMAIN, CONFIG_FIELD(mail_from)},
    {"MXHost", CONFIG_DOMAIN, CONFIG_FIELD(mx_host)},
    {"DMARCMinPolicy", CONFIG_DMARC_POLICY, CONFIG_FIELD(dmarc_min_policy)},
    {"SPFInclude", CONFIG_DOMAIN, CONFIG_FIELD(spf_include)},
    {"EgressIPs", CONFIG_IP_LIST, CONFIG_FIELD(egress)},
    {"StateDir", CONFIG_PATH, CONFIG_FIELD(state_dir)},
    {"RefreshInterval", CONFIG_DURATION, CONFIG_FIELD(refresh_interval)},
    {"PendingWindow", CONFIG_DURATION, CONFIG_FIELD(pending_window)},
    {"GracePeriod", CONFIG_DURATION, CONFIG_FIELD(grace_period)},
    {"UnregisteredExpiry", CONFIG_DURATION, CONFIG_FIELD(unreg_expiry)},
    {"SendmailPath", CONFIG_COMMAND, CONFIG_FIELD(sendmail_path)},
    {"NotifyFrom", CONFIG_ADDRESS, CONFIG_FIELD(notify_from)},
    {"RefreshConcurrency", CONFIG_CONCURRENCY,
     CONFIG_FIELD(refresh_concurrency)},
    {"ReleaseCommand", CONFIG_COMMAND, CONFIG_FIELD(release_command)},
    {"HoldQueueCommand", CONFIG_COMMAND_OR_NONE,
     CONFIG_FIELD(hold_queue_command)},
    {"StoreDSN", CONFIG_STRING, CONFIG_FIELD(store_dsn)},
    {"StoreDSNPasswordFile", CONFIG_PATH,
     CONFIG_FIELD(store_dsn_password_file)},
    {"ReplicaMaxLag", CONFIG_DURATION, CONFIG_FIELD(replica_max_lag)},
    {"FleetRefresh", CONFIG_BOOL, CONFIG_FIELD(fleet_refresh)},
    {"HostName", CONFIG_STRING, CONFIG_FIELD(host_name)},
    {"APIListen", CONFIG_API_LISTEN, CONFIG_FIELD(api_listen)},
    {"APITLSCertificate", CONFIG_PATH, CONFIG_FIELD(api_tls_cert)},
    {"APITLSKey", CONFIG_PATH, CONFIG_FIELD(api_tls_key)},
    {"APITokenFile", CONFIG_PATH, CONFIG_FIELD(api_token_file)},
    {"APIUserID", CONFIG_STRING, CONFIG_FIELD(api_user_id)},
    {"APIPidFile", CONFIG_PATH, CONFIG_FIELD(api_pid_file)},
    {"APIMaxConnections", CONFIG_CONCURRENCY,
     CONFIG_FIELD(api_max_connections)},
    {"APIRequestTimeout", CONFIG_TIMEOUT, CONFIG_FIELD(api_request_timeout_ms)},
    {"WebhookURL", CONFIG_WEBHOOK_URL, CONFIG_FIELD(webhooks)},
    {"WebhookSecretFile", CONFIG_PATH, CONFIG_FIELD(webhook_secret_file)},
    {"WebhookTimeout", CONFIG_TIMEOUT, CONFIG_FIELD(webhook_timeout_ms)},
    {"WebhookRetryFor", CONFIG_DURATION, CONFIG_FIELD(webhook_retry_for)},
    {"MTA", CONFIG_MTA, CONFIG_FIELD(mta)},
    {"UnsafeInetQuarantine", CONFIG_BOOL, CONFIG_FIELD(unsafe_inet_quarantine)},
    {"Socket", CONFIG_SOCKET, CONFIG_FIELD(socket)},
    {"UserID", CONFIG_STRING, CONFIG_FIELD(user_id)},
    {"SocketGroup", CONFIG_STRING, CONFIG_FIELD(socket_group)},
    {"UMask", CONFIG_OCTAL, CONFIG_FIELD(umask)},
    {"PidFile", CONFIG_PATH, CONFIG_FIELD(pid_file)},
    {"Syslog", CONFIG_BOOL, CONFIG_FIELD(syslog)},
    {"SyslogFacility", CONFIG_FACILITY, CONFIG_FIELD(syslog_facility)},
    {"CheckWait", CONFIG_TIMEOUT, CONFIG_FIELD(check_wait_ms)},
    {"MilterTimeout", CONFIG_MILTER_TIMEOUT, CONFIG_FIELD(milter_timeout)},
    {"PolicySocket", CONFIG_SOCKET, CONFIG_FIELD(policy_socket)},
    {"PolicyAcceptOK", CONFIG_BOOL, CONFIG_FIELD(policy_accept_ok)},
    {"MetricsListen", CONFIG_LISTEN, CONFIG_FIELD(metrics_listen)},
    {"APIMetricsListen", CONFIG_LISTEN, CONFIG_FIELD(api_metrics_listen)},
    {"OnUnknown", CONFIG_ACTION, CONFIG_ON(POLICY_ON_UNKNOWN)},
    {"OnPending", CONFIG_ACTION, CONFIG_ON(POLICY_ON_PENDING)},
    {"OnVerified", CONFIG_ACTION, CONFIG_ON(POLICY_ON_VERIFIED)},
    {"OnDegraded", CONFIG_ACTION, CONFIG_ON(POLICY_ON_DEGRADED)},
    {"OnFailed", CONFIG_ACTION, CONFIG_ON(POLICY_ON_FAILED)},
    {"OnDNSError", CONFIG_ACTION, CONFIG_ON(POLICY_ON_DNSERROR)},
    {"UnregisteredDomains", CONFIG_UNREG, CONFIG_FIELD(policy.unregistered)},
    {"Mode", CONFIG_MODE, CONFIG_FIELD(policy.mode)},
    {"OutboundBy", CONFIG_OUTBOUND, CONFIG_FIELD(policy.outbound_by)},
    {"InternalHosts", CONFIG_HOSTS, CONFIG_FIELD(policy.internal_hosts)},
    {"ExemptSenders", CONFIG_SENDERS, CONFIG_FIELD(policy.exempt_senders)},
    {"ExemptDomains", CONFIG_DOMAINS, CONFIG_FIELD(policy.exempt_domains)},
    {"DomainActions", CONFIG_OVERRIDES, CONFIG_FIELD(policy.overrides)},
    {"RejectReply", CONFIG_REPLY, CONFIG_FIELD(policy.reject_reply)},
    {"TempfailReply", CONFIG_REPLY, CONFIG_FIELD(policy.tempfail_reply)},
    {"DNSErrorReply", CONFIG_REPLY, CONFIG_FIELD(policy.dnserror_reply)},
    {"TagHeader", CONFIG_HEADER, CONFIG_FIELD(policy.tag_header)},
    {"FromCheck", CONFIG_FROMCHECK, CONFIG_FIELD(from.mode)},
    {"OnFromMissing", CONFIG_FROM_ACTION, CONFIG_ON_FROM(FROMCHECK_MISSING)},
    {"OnFromMultiple", CONFIG_FROM_ACTION, CONFIG_ON_FROM(FROMCHECK_MULTIPLE)},
    {"OnFromMailboxes", CONFIG_FROM_ACTION,
     CONFIG_ON_FROM(FROMCHECK_MAILBOXES)},
    {"OnFromInvalid", CONFIG_FROM_ACTION, CONFIG_ON_FROM(FROMCHECK_INVALID)},
    {"OnMailFromNotReady", CONFIG_FALLBACK, CONFIG_FIELD(fallback.mode)},
    {"FallbackMailFrom", CONFIG_FALLBACK_ADDRESS,
     CONFIG_FIELD(fallback.address)},
    {"AlignmentRequired", CONFIG_ALIGN, CONFIG_FIELD(from.align)},
    {"OnMisaligned", CONFIG_MISALIGNED, CONFIG_FIELD(from.on_misaligned)},
};

/*
 * DMARCMinPolicy values.  A local table rather than dmarc_policy_parse()
 * keeps the config module free of a link dependency on the DMARC code.
 */
static const struct {
	const char *name;
	enum dmarc_policy policy;
} config_policies[] = {
    {"none", DMARC_POLICY_NONE},
    {"quarantine", DMARC_POLICY_QUARANTINE},
    {"reject", DMARC_POLICY_REJECT},
};

/* SyslogFacility values (log_open() takes the name). */
static const struct {
	const char *name;
	int facility;
} config_facilities[] = {
    {"mail", LOG_MAIL},     {"daemon", LOG_DAEMON}, {"user", LOG_USER},
    {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2},
    {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},
    {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
};

typedef int (*config_setter)(void *field, size_t size, const char *value,
                             char *msg, size_t msglen);

/* config_space - the white space that separates words on a line. */
static bool
config_space(char c)
{
	return c == ' ' || c == '\t';
}

void
config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->dns.nservers = 0;
	cfg->dns.timeout_ms = CONFIG_DNS_TIMEOUT_DEFAULT_MS;
	cfg->check_timeout_ms = CONFIG_CHECK_TIMEOUT_DEFAULT_MS;
	snprintf(cfg->mail_from, sizeof(cfg->mail_from), "%s",
	         CONFIG_MAIL_FROM_DEFAULT);
	cfg->dmarc_min_policy = DMARC_POLICY_NONE;
	snprintf(cfg->state_dir, sizeof(cfg->state_dir), "%s",
	         CONFIG_STATE_DIR_DEFAULT);
	snprintf(cfg->sendmail_path, sizeof(cfg->sendmail_path), "%s",
	         CONFIG_SENDMAIL_DEFAULT);
	cfg->refresh_interval = CONFIG_REFRESH_DEFAULT;
	cfg->pending_window = CONFIG_PENDING_WINDOW_DEFAULT;
	cfg->grace_period = CONFIG_GRACE_DEFAULT;
	cfg->unreg_expiry = CONFIG_UNREG_EXPIRY_DEFAULT;
	cfg->refresh_concurrency = CONFIG_CONCURRENCY_DEFAULT;
	snprintf(cfg->release_command, sizeof(cfg->release_command), "%s",
	         CONFIG_RELEASE_DEFAULT);
	snprintf(cfg->hold_queue_command, sizeof(cfg->hold_queue_command), "%s",
	         CONFIG_HOLD_QUEUE_DEFAULT);
	snprintf(cfg->socket, sizeof(cfg->socket), "%s", CONFIG_SOCKET_DEFAULT);
	cfg->umask = CONFIG_UMASK_DEFAULT;
	cfg->syslog = true;
	snprintf(cfg->syslog_facility, sizeof(cfg->syslog_facility), "%s",
	         CONFIG_FACILITY_DEFAULT);
	cfg->check_wait_ms = CONFIG_CHECK_WAIT_DEFAULT_MS;
	cfg->milter_timeout = CONFIG_MILTER_TIMEOUT_DEFAULT;
	cfg->replica_max_lag = CONFIG_REPLICA_MAX_LAG_DEFAULT;
	cfg->fleet_refresh = true;
	snprintf(cfg->api_listen, sizeof(cfg->api_listen), "%s",
	         CONFIG_API_LISTEN_DEFAULT);
	cfg->api_max_connections = CONFIG_API_CONNECTIONS_DEFAULT;
	cfg->api_request_timeout_ms = CONFIG_API_TIMEOUT_DEFAULT_MS;
	cfg->webhook_timeout_ms = CONFIG_WEBHOOK_TIMEOUT_DEFAULT_MS;
	cfg->webhook_retry_for = CONFIG_WEBHOOK_RETRY_DEFAULT;
	policy_config_defaults(&cfg->policy);
	fromcheck_config_defaults(&cfg->from);
	fallback_config_defaults(&cfg->fallback);
}

/*
 * config_timeout_value - "5", "2.5": 1*DIGIT ["." 1*DIGIT] seconds.
 * 0 ok, -1 not a number, -2 out of range.  Digits past the millisecond
 * are dropped.
 */
static int
config_timeout_value(const char *s, unsigned *ms)
{
	/* whole stays below 10 * CONFIG_TIMEOUT_MAX_MS: no overflow below */
	unsigned long whole = 0, frac = 0, scale = 100;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++)
		if (whole <= CONFIG_TIMEOUT_MAX_MS)
			whole = whole * 10 + (unsigned long)(*s - '0');
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return -1;
		for (; *s >= '0' && *s <= '9'; s++, scale /= 10)
			frac += scale * (unsigned long)(*s - '0');
	}
	if (*s != '\0')
		return -1;
	whole = whole * 1000 + frac;
	if (whole < CONFIG_TIMEOUT_MIN_MS || whole > CONFIG_TIMEOUT_MAX_MS)
		return -2;
	*ms = (unsigned)whole;
	return 0;
}

int
config_parse_timeout(const char *text, unsigned *ms)
{
	if (text == NULL || ms == NULL)
		return -1;
	return config_timeout_value(text, ms) == 0 ? 0 : -1;
}

/* config_set_string - a value copied as is, if it fits. */
static int
config_set_string(void *field, size_t size, const char *value, char *msg,
                  size_t msglen)
{
	char q[CONFIG_QUOTE_MAX];
	size_t n = strlen(value);

	if (n >= size)
		return errbuf_fail(
		    msg, msglen, "'%s' is %zu octets; at most %zu allowed",
		    text_quote(q, sizeof(q), value, n), n, size - 1);
	memcpy(field, value, n + 1);
	return 0;
}

/* config_set_domain - a name through domain_normalize(), if it fits. */
static int
config_set_domain(void *field, size_t size, const char *value, char *msg,
                  size_t msglen)
{
	char q[CONFIG_QUOTE_MAX], name[DOMAIN_BUF], why[CONFIG_MSG_MAX];
	size_t n = strlen(value);

	text_quote(q, sizeof(q), value, n);
	if (domain_normalize(value, n, name, sizeof(name), why, sizeof(why)))
		return errbuf_fail(msg, msglen, "'%s': %s", q, why);
	n = strlen(name);
	if (n >= size)
		return errbuf_fail(msg, msglen,
		                   "'%s' is %zu octets; at most %zu allowed", q,
		                   n, size - 1);
	memcpy(field, name, n + 1);
	return 0;
}

/* config_set_timeout - seconds, decimals allowed, to milliseconds. */
static int
config_set_timeout(void *field, size_t size, const char *value, char *msg,
                   size_t msglen)
{
	char q[CONFIG_QUOTE_MAX];
	unsigned ms;

	(void)size;
	text_quote(q, sizeof(q), value, strlen(value));
	switch (config_timeout_value(value, &ms)) {
	case 0:
		*(unsigned *)field = ms;
		return 0;
	case -2:
		return errbuf_fail(msg, msglen,
		                   "'%s' is out of range (0.001 to %d seconds)",
		                   q, CONFIG_TIMEOUT_MAX_MS / 1000);
	default:
		return errbuf_fail(msg, msglen,
		                   "'%s' is not a number of seconds", q);
	}
}

/* config_set_policy - none, quarantine or reject. */
static int
config_set_policy(void *field, size_t size, const char *value, char *msg,
                  size_t msglen)
{
	char q[CONFIG_QUOTE_MAX];
	size_t i;

	(void)size;
	for (i = 0; i < sizeof(config_policies) / sizeof(*config_policies); i++)
		if (text_ieq(value, strlen(value), config_policies[i].name)) {
			*(enum dmarc_policy *)field = config_policies[i].policy;
			return 0;
		}
	return errbuf_fail(
	    msg, msglen, "'%s' is not a policy; use none, quarantine or reject",
	    text_quote(q, sizeof(q), value, strlen(value)));
}

/* config_server_add - validate one ADDR[:PORT] and append it. */
static int
config_server_add(struct dns_options *dns, const char *tok, size_t len,
                  char *msg, size_t msglen)
{
	char q[CONFIG_QUOTE_MAX], why[CONFIG_MSG_MAX];
	char *slot;

	text_quote(q, sizeof(q), tok, len);
	if (dns->nservers >= DNS_SERVERS_MAX)
		return errbuf_fail(msg, msglen,
		                   "more than %d servers (at '%s')",
		                   DNS_SERVERS_MAX, q);
	if (len >= DNS_SERVER_TEXT_MAX)
		return errbuf_fail(msg, msglen,
		                   "'%s' is %zu octets; at most %d allowed", q,
		                   len, DNS_SERVER_TEXT_MAX - 1);
	slot = dns->servers[dns->nservers];
	memcpy(slot, tok, len);
	slot[len] = '\0';
	why[0] = '\0';
	if (dns_server_parse(slot, why, sizeof(why)) != 0)
		return errbuf_fail(msg, msglen, "'%s': %s", q,
		                   why[0] != '\0' ? why : "not an address");
	dns->nservers++;
	return 0;
}

/* config_set_servers - a comma and/or space separated server list. */
static int
config_set_servers(void *field, size_t size, const char *value, char *msg,
                   size_t msglen)
{
	struct dns_options *dns = field, work = *dns;
	const char *p = value;
	char q[CONFIG_QUOTE_MAX];
	size_t len;

	(void)size;
	work.nservers = 0;
	memset(work.servers, 0, sizeof(work.servers));
	while (*p != '\0') {
		if (*p == ',' || config_space(*p)) {
			p++;
			continue;
		}
		len = strcspn(p, ", \t");
		if (config_server_add(&work, p, len, msg, msglen))
			return -1;
		p += len;
	}
	if (work.nservers == 0)
		return errbuf_fail(
		    msg, msglen, "no server in '%s'",
		    text_quote(q, sizeof(q), value, strlen(value)));
	*dns = work;
	return 0;
}

/* config_set_duration - seconds with an optional s, m, h or d unit. */
static int
config_set_duration(void *field, size_t size, const char *value, char *msg,
                    size_t msglen)
{
	char q[CONFIG_QUOTE_MAX];
	int64_t seconds;

	(void)size;
	if (config_parse_duration(value, &seconds) != 0)
		return errbuf_fail(
		    msg, msglen,
		    "'%s' is not a duration (e.g. 3600, 90s, "
		    "15m, 72h, 3d; at most ten years)",
		    text_quote(q, sizeof(q), value, strlen(value)));
	*(int64_t *)field = seconds;
	return 0;
}

/* config_set_milter_timeout - a duration of at most a day. */
static int
config_set_milter_timeout(void *field, size_t size, const char *value,
                          char *msg, size_t msglen)
{
	char q[CONFIG_QUOTE_MAX];
	int64_t seconds;

	(void)size;
	if (config_parse_duration(value, &seconds) != 0 ||
	    seconds > CONFIG_MILTER_TIMEOUT_MAX)
		return errbuf_fail(
		    msg, msglen,
		    "'%s' is not a duration from 1s to 24h (e.g. "
		    "600, 10m)",
		    text_quote(q, sizeof(q), value, strlen(value)));
	*(int64_t *)field = seconds;
	return 0;
}

/* config_set_path - an absolute path. */
static int
config_set_path(void *field, size_t size, const char *value, char *msg,
                size_t msglen)
{
	char q[CONFIG_QUOTE_MAX];

	if (value[0] != '/')
		return errbuf_fail(
		    msg, msglen, "'%s' is not an absolute path",
		    text_quote(q, sizeof(q), value, strlen(value)));
	return config_set_string(field, size, value, msg, msglen);
}

/* config_set_command - a program (absolute path) and its arguments. */
static int
config_set_command(void *field, size_t size, const char *value, char *msg,
                   size_t msglen)
{
	char q[CONFIG_QUOTE_MAX];

	if (value[0] != '/')
		return errbuf_fail(
		    msg, msglen,
		    "'%s' must start with the program's "
		    "absolute path (no shell is used)",
		    text_quote(q, sizeof(q), value, strlen(value)));
	return config_set_string(field, size, value, msg, msglen);
}

/* config_set_command_or_none - a command, or "none" (stored as ""). */
static int
config_set_command_or_none(void *field, size_t size, const char *value,
                           char *msg, size_t msglen)
{
	if (strcmp(value, "none") == 0) {
		*(char *)field = '\0';
		return 0;
	}
	return config_set_command(field, size, value, msg, msglen);
}

/* config_set_address - a plain local@domain mail address. */
static int
config_set_address(void *field, size_t size, const char *value, char *msg,
                   size_t msglen)
{
	char q[CONFIG_QUOTE_MAX];

	if (!address_plain_ok(value))
		return errbuf_fail(
		    msg, msglen,
		    "'%s' is not a plain address like "
		    "postmaster@example.com",
		    text_quote(q, sizeof(q), value, strlen(value)));
	return config_set_string(field, size, value, msg, msglen);
}

/* config_set_ip_list - comma and/or space separated addresses. */
static int
config_set_ip_list(void *field, size_t size, const char *value, char *msg,
                   size_t msglen)
{
	struct config_egress work;
	char tok[CONFIG_IP_TEXT_MAX + 1], q[CONFIG_QUOTE_MAX];
	const char *p = value;
	size_t len;

	(void)size;
	memset(&work, 0, sizeof(work));
	while (*p != '\0') {
		if (*p == ',' || config_space(*p)) {
			p++;
			continue;
		}
		len = strcspn(p, ", \t");
		if (len > CONFIG_IP_TEXT_MAX)
			return errbuf_fail(msg, msglen, "'%s' is too long",
			                   text_quote(q, sizeof(q), p, len));
		memcpy(tok, p, len);
		tok[len] = '\0';
		if (config_egress_add(&work, tok, msg, msglen) != 0)
			return -1;
		p += len;
	}
	if (work.count == 0)
		return errbuf_fail(
		    msg, msglen, "no address in '%s'",
		    text_quote(q, sizeof(q), value, strlen(value)));
	memcpy(field, &work, sizeof(work));
	return 0;
}

/* config_set_concurrency - a count of domains, 1..CONFIG_CONCURRENCY_MAX */
static int
config_set_concurrency(void *field, size_t size, const char *value, char *msg,
                       size_t msglen)
{
	char q[CONFIG_QUOTE_MAX], *end;
	unsigned long n;

	(void)size;
	if (value[0] < '0' || value[0] > '9' ||
	    (n = strtoul(value, &end, 10)) == 0 || *end != '\0' ||
	    n > CONFIG_CONCURRENCY_MAX)
		return errbuf_fail(
		    msg, msglen, "'%s' is not a count between 1 and %d",
		    text_quote(q, sizeof(q), value, strlen(value)),
		    CONFIG_CONCURRENCY_MAX);
	*(uint32_t *)field = (uint32_t)n;
	return 0;
}

int
config_api_listen_parse(const char *text, struct sockaddr_storage *ss,
                        socklen_t *sslen)
{
	char addr[CONFIG_LISTEN_MAX], *end;
	const char *colon, *host = text;
	size_t hostlen;
	unsigned long port;

	memset(ss, 0, sizeof(*ss));
	if (text[0] == '[') {
		if ((colon = strstr(text, "]:")) == NULL)
			return -1;
		host = text + 1;
		hostlen = (size_t)(colon - host);
		colon++;
	} else {
		if ((colon = strrchr(text, ':')) == NULL)
			return -1;
		hostlen = (size_t)(colon - text);
	}
	if (hostlen == 0 || hostlen >= sizeof(addr) || colon[1] < '0' ||
	    colon[1] > '9')
		return -1;
	port = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || port == 0 || port > 65535)
		return -1;
	memcpy(addr, host, hostlen);
	addr[hostlen] = '\0';
	if (text[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, addr, &s6->sin6_addr) != 1)
			return -1;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*sslen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, addr, &s4->sin_addr) != 1)
			return -1;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*sslen = sizeof(*s4);
	}
	return 0;
}

/* config_set_api_listen - APIListen: a numeric ADDR:PORT or [ADDR]:PORT. */
static int
config_set_api_listen(void *field, size_t size, const char *value, char *msg,
                      size_t msglen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char q[CONFIG_QUOTE_MAX];

	if (config_api_listen_parse(value, &ss, &len) != 0)
		return errbuf_fail(
		    msg, msglen,
		    "'%s' is not ADDR:PORT or [IPV6]:PORT (a numeric address, "
		    "a port 1..65535)",
		    text_quote(q, sizeof(q), value, strlen(value)));
	return config_set_string(field, size, value, msg, msglen);
}

/* config_set_bool - yes/no, true/false, on/off, 1/0 (OpenDKIM's). */
static int
config_set_bool(void *field, size_t size, const char *value, char *msg,
                size_t msglen)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};
	char q[CONFIG_QUOTE_MAX];
	size_t i;

	(void)size;
	for (i = 0; i < sizeof(yes) / sizeof(*yes); i++) {
		if (strcasecmp(value, yes[i]) == 0) {
			*(bool *)field = true;
			return 0;
		}
		if (strcasecmp(value, no[i]) == 0) {
			*(bool *)field = false;
			return 0;
		}
	}
	return errbuf_fail(msg, msglen, "'%s' is not yes or no",
	                   text_quote(q, sizeof(q), value, strlen(value)));
}

/* config_set_octal - a file mode mask such as 007. */
static int
config_set_octal(void *field, size_t size, const char *value, char *msg,
                 size_t msglen)
{
	char q[CONFIG_QUOTE_MAX], *end;
	unsigned long n;

	(void)size;
	n = strtoul(value, &end, 8);
	if (value[0] < '0' || value[0] > '7' || *end != '\0' || n > 0777)
		return errbuf_fail(
		    msg, msglen, "'%s' is not an octal mask such as 007",
		    text_quote(q, sizeof(q), value, strlen(value)));
	*(uint32_t *)field = (uint32_t)n;
	return 0;
}

/* config_set_facility - a syslog facility name. */
static int
config_set_facility(void *field, size_t size, const char *value, char *msg,
                    size_t msglen)
{
	char q[CONFIG_QUOTE_MAX];

	if (config_facility(value) < 0)
		return errbuf_fail(
		    msg, msglen,
		    "'%s' is not a syslog facility (mail, daemon, "
		    "local0 ... local7)",
		    text_quote(q, sizeof(q), value, strlen(value)));
	return config_set_string(field, size, value, msg, msglen);
}

/* config_set_socket - libmilter's forms: unix:/local:PATH, inet:PORT@HOST,
 * inet6:PORT@HOST. */
static int
config_set_socket(void *field, size_t size, const char *value, char *msg,
                  size_t msglen)
{
	static const char *const prefixes[] = {"unix:/", "local:/",
	                                       "inet:", "inet6:"};
	char q[CONFIG_QUOTE_MAX], *end;
	const char *port;
	unsigned long n;
	size_t i;

	for (i = 0; i < sizeof(prefixes) / sizeof(*prefixes); i++)
		if (strncmp(value, prefixes[i], strlen(prefixes[i])) == 0)
			break;
	if (i == sizeof(prefixes) / sizeof(*prefixes))
		return errbuf_fail(
		    msg, msglen,
		    "'%s' is not unix:/PATH, inet:PORT@HOST or "
		    "inet6:PORT@HOST",
		    text_quote(q, sizeof(q), value, strlen(value)));
	if (i >= 2) {
		port = value + strlen(prefixes[i]);
		n = strtoul(port, &end, 10);
		if (port[0] < '0' || port[0] > '9' || n == 0 || n > 65535 ||
		    (*end != '\0' && *end != '@'))
			return errbuf_fail(
			    msg, msglen, "'%s': the port must be 1..65535",
			    text_quote(q, sizeof(q), value, strlen(value)));
	}
	return config_set_string(field, size, value, msg, msglen);
}

int
config_listen_parse(const char *text, struct config_listen *out, char *err,
                    size_t errlen)
{
	char q[CONFIG_QUOTE_MAX], addr[CONFIG_LISTEN_ADDR_MAX], *end;
	const char *port = text, *colon, *orig = text;
	unsigned char bin[sizeof(struct in6_addr)];
	unsigned long n;
	size_t alen = 0;

	memset(out, 0, sizeof(*out));
	if (strcasecmp(text, "off") == 0 || strcasecmp(text, "none") == 0)
		return 0;
	out->family = AF_INET;
	snprintf(out->addr, sizeof(out->addr), "127.0.0.1");
	if (text[0] == '[') {
		/* [IPV6]:PORT */
		if ((colon = strstr(text, "]:")) == NULL)
			goto bad;
		alen = (size_t)(colon - text - 1);
		out->family = AF_INET6;
		port = colon + 2;
		text++;
	} else if ((colon = strrchr(text, ':')) != NULL) {
		alen = (size_t)(colon - text);
		port = colon + 1;
		if (memchr(text, ':', alen) != NULL)
			goto bad; /* an IPv6 address needs its brackets */
	}
	if (colon != NULL) {
		if (alen == 0 || alen >= sizeof(addr))
			goto bad;
		memcpy(addr, text, alen);
		addr[alen] = '\0';
		if (inet_pton(out->family, addr, bin) != 1)
			goto bad;
		inet_ntop(out->family, bin, out->addr, sizeof(out->addr));
	} else {
		inet_pton(AF_INET, out->addr, bin);
	}
	n = strtoul(port, &end, 10);
	if (port[0] < '0' || port[0] > '9' || n == 0 || n > 65535 ||
	    *end != '\0')
		goto bad;
	out->port = (uint16_t)n;
	out->loopback =
	    out->family == AF_INET
	        ? bin[0] == 127
	        : memcmp(bin, &in6addr_loopback, sizeof(struct in6_addr)) == 0;
	out->on = true;
	return 0;
bad:
	memset(out, 0, sizeof(*out));
	return errbuf_fail(err, errlen,
	                   "'%s' is not off, PORT, IPV4:PORT or [IPV6]:PORT "
	                   "(a numeric address; the port 1..65535)",
	                   text_quote(q, sizeof(q), orig, strlen(orig)));
}

/* config_set_listen - MetricsListen, APIMetricsListen
 * (config_listen_parse). */
static int
config_set_listen(void *field, size_t size, const char *value, char *msg,
                  size_t msglen)
{
	(void)size;
	return config_listen_parse(value, field, msg, msglen);
}

/* config_set_action - an On<Situation> action; size is the situation. */
static int
config_set_action(void *field, size_t size, const char *value, char *msg,
                  size_t msglen)
{
	return policy_parse_situation_action((unsigned)size, value,
	                                     strlen(value), field, msg, msglen);
}

/* config_set_unreg - UnregisteredDomains: check, reject or accept. */
static int
config_set_unreg(void *field, size_t size, const char *value, char *msg,
                 size_t msglen)
{
	(void)size;
	return policy_parse_unregistered(value, strlen(value), field, msg,
	                                 msglen);
}

/* config_set_mode - Mode: enforce or monitor. */
static int
config_set_mode(void *field, size_t size, const char *value, char *msg,
                size_t msglen)
{
	(void)size;
	return policy_parse_mode(value, strlen(value), field, msg, msglen);
}

/* config_set_align - AlignmentRequired: either, dkim, spf or both. */
static int
config_set_align(void *field, size_t size, const char *value, char *msg,
                 size_t msglen)
{
	(void)size;
	return fromcheck_parse_align(value, strlen(value), field, msg, msglen);
}

/* config_set_misaligned - OnMisaligned: any action. */
static int
config_set_misaligned(void *field, size_t size, const char *value, char *msg,
                      size_t msglen)
{
	(void)size;
	return fromcheck_parse_misaligned(value, strlen(value), field, msg,
	                                  msglen);
}

/* The MTA names, for MTA. */
static const struct {
	const char *name;
	enum config_mta mta;
} config_mtas[] = {
    {"postfix", CONFIG_MTA_POSTFIX},
    {"sendmail", CONFIG_MTA_SENDMAIL},
};

/* config_set_mta - MTA: postfix or sendmail. */
static int
config_set_mta(void *field, size_t size, const char *value, char *msg,
               size_t msglen)
{
	size_t i;

	(void)size;
	for (i = 0; i < sizeof(config_mtas) / sizeof(*config_mtas); i++)
		if (strcasecmp(value, config_mtas[i].name) == 0) {
			*(enum config_mta *)field = config_mtas[i].mta;
			return 0;
		}
	return errbuf_fail(msg, msglen,
	                   "MTA must be postfix or sendmail, not \"%.*s\"",
	                   CONFIG_QUOTE_MAX, value);
}

/* config_set_outbound - OutboundBy: either, hosts, auth or both. */
static int
config_set_outbound(void *field, size_t size, const char *value, char *msg,
                    size_t msglen)
{
	(void)size;
	return policy_parse_outbound_by(value, strlen(value), field, msg,
	                                msglen);
}

/* config_set_reply - a reply text template. */
static int
config_set_reply(void *field, size_t size, const char *value, char *msg,
                 size_t msglen)
{
	return policy_parse_reply(value, strlen(value), field, size, msg,
	                          msglen);
}

/* config_set_header - a header field name. */
static int
config_set_header(void *field, size_t size, const char *value, char *msg,
                  size_t msglen)
{
	return policy_parse_header(value, strlen(value), field, size, msg,
	                           msglen);
}

/* config_set_fromcheck - FromCheck: off, monitor or enforce. */
static int
config_set_fromcheck(void *field, size_t size, const char *value, char *msg,
                     size_t msglen)
{
	(void)size;
	return fromcheck_parse_mode(value, strlen(value), field, msg, msglen);
}

/* config_set_from_action - OnFrom<Problem>: accept, tempfail or reject
 * (size holds the problem; the field is its slot). */
static int
config_set_from_action(void *field, size_t size, const char *value, char *msg,
                       size_t msglen)
{
	(void)size;
	return fromcheck_parse_action(value, strlen(value), field, msg, msglen);
}

/* config_set_fallback - OnMailFromNotReady: reject or fallback. */
static int
config_set_fallback(void *field, size_t size, const char *value, char *msg,
                    size_t msglen)
{
	(void)size;
	return fallback_parse_mode(value, strlen(value), field, msg, msglen);
}

/* config_set_fallback_address - FallbackMailFrom: a plain address. */
static int
config_set_fallback_address(void *field, size_t size, const char *value,
                            char *msg, size_t msglen)
{
	return fallback_parse_address(value, strlen(value), field, size, msg,
	                              msglen);
}

/*
 * config_list_text - the text of a list key: the value itself, or, when
 * it starts with "/", the file it names (at most POLICY_FILE_MAX octets,
 * through safefile_read).  *file is what to free; *origin the file name
 * for "FILE:LINE: " messages, NULL inline.  0 ok, -1 with "PATH: why".
 */
static int
config_list_text(const char *value, const char **buf, size_t *len,
                 const char **origin, char **file, char *msg, size_t msglen)
{
	*buf = value;
	*len = strlen(value);
	*origin = NULL;
	*file = NULL;
	if (value[0] != '/')
		return 0;
	if (safefile_read(value, POLICY_FILE_MAX, 0, file, len, NULL, msg,
	                  msglen) != 0)
		return -1;
	*origin = value;
	*buf = *file;
	return 0;
}

/* config_list - a list key (InternalHosts, ExemptSenders, ExemptDomains,
 * DomainActions) from its inline text or its file, through its parser;
 * 1 when type is not a list. */
static int
config_list(enum config_type type, void *field, const char *value, char *msg,
            size_t msglen)
{
	const char *buf, *origin;
	char *file, why[CONFIG_MSG_MAX];
	size_t len;
	int rc;

	if (type != CONFIG_HOSTS && type != CONFIG_SENDERS &&
	    type != CONFIG_DOMAINS && type != CONFIG_OVERRIDES)
		return 1;
	if (config_list_text(value, &buf, &len, &origin, &file, msg, msglen))
		return -1;
	switch (type) {
	case CONFIG_SENDERS:
		rc = policy_exempt_senders_parse(field, buf, len, origin, msg,
		                                 msglen);
		break;
	case CONFIG_DOMAINS:
		rc = policy_exempt_domains_parse(field, buf, len, origin, msg,
		                                 msglen);
		break;
	case CONFIG_OVERRIDES:
		rc = policy_overrides_parse(field, buf, len, origin, msg,
		                            msglen);
		break;
	default:
		if ((rc = netlist_parse(field, buf, len, why, sizeof(why))) !=
		    0)
			errbuf_fail(msg, msglen, "%s%s%s", origin ? origin : "",
			            origin ? ": " : "", why);
		break;
	}
	free(file);
	return rc;
}

int
config_webhook_url_ok(const char *url, char *err, size_t errlen)
{
	char *scheme = NULL, *host = NULL;
	CURLU *u;
	int rc = 0;

	for (const char *p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return errbuf_fail(err, errlen,
			                   "a URL has no spaces, control or "
			                   "non-ASCII octets");
	if (strlen(url) >= CONFIG_WEBHOOK_URL_MAX)
		return errbuf_fail(err, errlen, "URL longer than %d octets",
		                   CONFIG_WEBHOOK_URL_MAX - 1);
	if ((u = curl_url()) == NULL)
		return errbuf_fail(err, errlen, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    host[0] == '\0')
		rc =
		    errbuf_fail(err, errlen, "not an absolute URL with a host");
	else if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
		rc = errbuf_fail(err, errlen,
		                 "the scheme must be http or "
		                 "https");
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

/* config_set_webhook_url - one more WebhookURL. */
static int
config_set_webhook_url(void *field, size_t size, const char *value, char *msg,
                       size_t msglen)
{
	struct config_webhooks *w = field;
	char q[CONFIG_QUOTE_MAX], why[CONFIG_MSG_MAX];

	(void)size;
	text_quote(q, sizeof(q), value, strlen(value));
	if (config_webhook_url_ok(value, why, sizeof(why)) != 0)
		return errbuf_fail(msg, msglen, "'%s': %s", q, why);
	for (size_t i = 0; i < w->count; i++)
		if (strcmp(w->url[i], value) == 0)
			return errbuf_fail(msg, msglen, "'%s' is given twice",
			                   q);
	if (w->count >= CONFIG_WEBHOOK_URLS_MAX)
		return errbuf_fail(msg, msglen, "more than %d URLs",
		                   CONFIG_WEBHOOK_URLS_MAX);
	text_copy(w->url[w->count++], sizeof(w->url[0]), value);
	return 0;
}

static const config_setter config_setters[] = {
    [CONFIG_STRING] = config_set_string,
    [CONFIG_DOMAIN] = config_set_domain,
    [CONFIG_TIMEOUT] = config_set_timeout,
    [CONFIG_DMARC_POLICY] = config_set_policy,
    [CONFIG_SERVERS] = config_set_servers,
    [CONFIG_DURATION] = config_set_duration,
    [CONFIG_PATH] = config_set_path,
    [CONFIG_COMMAND] = config_set_command,
    [CONFIG_ADDRESS] = config_set_address,
    [CONFIG_IP_LIST] = config_set_ip_list,
    [CONFIG_CONCURRENCY] = config_set_concurrency,
    [CONFIG_BOOL] = config_set_bool,
    [CONFIG_OCTAL] = config_set_octal,
    [CONFIG_FACILITY] = config_set_facility,
    [CONFIG_SOCKET] = config_set_socket,
    [CONFIG_API_LISTEN] = config_set_api_listen,
    [CONFIG_MILTER_TIMEOUT] = config_set_milter_timeout,
    [CONFIG_COMMAND_OR_NONE] = config_set_command_or_none,
    [CONFIG_ACTION] = config_set_action,
    [CONFIG_UNREG] = config_set_unreg,
    [CONFIG_MODE] = config_set_mode,
    [CONFIG_OUTBOUND] = config_set_outbound,
    [CONFIG_REPLY] = config_set_reply,
    [CONFIG_HEADER] = config_set_header,
    [CONFIG_FROMCHECK] = config_set_fromcheck,
    [CONFIG_FROM_ACTION] = config_set_from_action,
    [CONFIG_MTA] = config_set_mta,
    [CONFIG_FALLBACK] = config_set_fallback,
    [CONFIG_FALLBACK_ADDRESS] = config_set_fallback_address,
    [CONFIG_ALIGN] = config_set_align,
    [CONFIG_MISALIGNED] = config_set_misaligned,
    [CONFIG_WEBHOOK_URL] = config_set_webhook_url,
    [CONFIG_LISTEN] = config_set_listen,
};

/* config_key_find - the table row for a key, or NULL. */
static const struct config_key *
config_key_find(const char *key, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(config_keys) / sizeof(*config_keys); i++)
		if (text_ieq(key, len, config_keys[i].name))
			return &config_keys[i];
	return NULL;
}

/* config_line_bytes - refuse NUL and control bytes other than TAB. */
static int
config_line_bytes(const char *line, size_t len, char *msg, size_t msglen)
{
	return text_refuse_control(line, len, "line", true, msg, msglen);
}

/* config_line_trim - drop the comment and the surrounding white space. */
static const char *
config_line_trim(const char *line, size_t *len)
{
	size_t i, n = *len;

	for (i = 0; i < n; i++)
		if (line[i] == '#' && (i == 0 || config_space(line[i - 1]))) {
			n = i;
			break;
		}
	while (n > 0 && config_space(line[n - 1]))
		n--;
	while (n > 0 && config_space(*line)) {
		line++;
		n--;
	}
	*len = n;
	return line;
}

/* config_key_apply - the key's setter on value; "Key: why" in msg. */
static int
config_key_apply(struct config *cfg, const struct config_key *key,
                 const char *value, char *msg, size_t msglen)
{
	char why[CONFIG_MSG_MAX];
	void *field = (char *)cfg + key->offset;
	int rc;

	why[0] = '\0';
	/* A list is read (inline or from a file) before it is parsed. */
	rc = config_list(key->type, field, value, why, sizeof(why));
	if (rc == 1)
		rc = config_setters[key->type](field, key->size, value, why,
		                               sizeof(why));
	if (rc != 0)
		return errbuf_fail(msg, msglen, "%s: %s", key->name, why);
	return 0;
}

int
config_set(struct config *cfg, const char *key, const char *value, char *err,
           size_t errlen)
{
	const struct config_key *k = config_key_find(key, strlen(key));

	if (k == NULL)
		return 1;
	return config_key_apply(cfg, k, value, err, errlen);
}

/* config_line - apply one line (without its newline) to cfg. */
static int
config_line(struct config *cfg, const char *line, size_t len, char *msg,
            size_t msglen)
{
	char value[CONFIG_LINE_MAX + 1], q[CONFIG_QUOTE_MAX];
	const struct config_key *key;
	size_t klen, vlen;

	if (config_line_bytes(line, len, msg, msglen))
		return -1;
	line = config_line_trim(line, &len);
	if (len == 0)
		return 0;
	for (klen = 0; klen < len && !config_space(line[klen]); klen++)
		;
	for (vlen = klen; vlen < len && config_space(line[vlen]); vlen++)
		;
	memcpy(value, line + vlen, len - vlen);
	value[len - vlen] = '\0';
	if ((key = config_key_find(line, klen)) == NULL)
		return errbuf_fail(msg, msglen, "unknown key '%s'",
		                   text_quote(q, sizeof(q), line, klen));
	if (vlen == len)
		return errbuf_fail(msg, msglen, "%s needs a value", key->name);
	return config_key_apply(cfg, key, value, msg, msglen);
}

/* config_check_mta - the release keys fit the MTA: postqueue lists
 * Postfix's queue, not Sendmail's (contrib/authready-sendmail-queue
 * prints Sendmail's in its format), postsuper cannot release from
 * Sendmail's quarantine, and the policy door (Postfix's protocol,
 * Postfix's queue IDs) has no Sendmail use. */
static int
config_check_mta(const struct config *cfg, char *msg, size_t msglen)
{
	if (cfg->mta != CONFIG_MTA_SENDMAIL)
		return 0;
	if (strstr(cfg->hold_queue_command, "postqueue") != NULL)
		return errbuf_fail(
		    msg, msglen,
		    "MTA sendmail needs a HoldQueueCommand that lists "
		    "Sendmail's queue (contrib/authready-sendmail-queue) "
		    "or none, not postqueue");
	if (strstr(cfg->release_command, "postsuper") != NULL)
		return errbuf_fail(
		    msg, msglen,
		    "MTA sendmail needs a ReleaseCommand for Sendmail "
		    "(contrib/authready-sendmail-release), not postsuper");
	if (cfg->policy_socket[0] != '\0')
		return errbuf_fail(
		    msg, msglen,
		    "MTA sendmail with a PolicySocket: the policy door is "
		    "Postfix's policy delegation protocol (unset "
		    "PolicySocket)");
	return 0;
}

int
config_parse(const char *buf, size_t len, const char *filename,
             struct config *cfg, char *err, size_t errlen)
{
	struct config work = *cfg;
	char msg[CONFIG_MSG_MAX];
	size_t pos = 0, lineno = 0, n;
	const char *nl;

	if (filename == NULL)
		filename = "(config)";
	while (pos < len) {
		lineno++;
		nl = memchr(buf + pos, '\n', len - pos);
		n = (nl != NULL ? (size_t)(nl - buf) : len) - pos;
		if (n > 0 && buf[pos + n - 1] == '\r')
			n--;
		if (n > CONFIG_LINE_MAX)
			return errbuf_fail(
			    err, errlen,
			    "%s:%zu: line is longer than %d octets", filename,
			    lineno, CONFIG_LINE_MAX);
		if (config_line(&work, buf + pos, n, msg, sizeof(msg)))
			return errbuf_fail(err, errlen, "%s:%zu: %s", filename,
			                   lineno, msg);
		pos = nl != NULL ? (size_t)(nl - buf) + 1 : len;
	}
	if (config_check_mta(&work, msg, sizeof(msg)) != 0 ||
	    fallback_config_check(&work.fallback, msg, sizeof(msg)) != 0)
		return errbuf_fail(err, errlen, "%s: %s", filename, msg);
	if (work.webhooks.count > 0 && work.webhook_secret_file[0] == '\0')
		return errbuf_fail(err, errlen,
		                   "%s: WebhookURL needs a WebhookSecretFile "
		                   "(every event is signed with its secret)",
		                   filename);
	*cfg = work;
	return 0;
}

/* config_read - read a regular file; 1 when it does not exist. */
static int
config_read(const char *path, bool must_exist, char **out, size_t *outlen,
            char *err, size_t errlen)
{
	/* "-c /dev/null": the built-in defaults */
	if (strcmp(path, "/dev/null") == 0)
		return 1;
	return safefile_read(path, CONFIG_FILE_MAX,
	                     must_exist ? 0 : SAFEFILE_MAY_BE_MISSING, out,
	                     outlen, NULL, err, errlen);
}

int
config_load(const char *path, bool must_exist, struct config *cfg, char *err,
            size_t errlen)
{
	struct config work;
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if (path == NULL)
		path = CONFIG_DEFAULT_PATH;
	config_defaults(&work);
	rc = config_read(path, must_exist, &buf, &len, err, errlen);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		rc = config_parse(buf, len, path, &work, err, errlen);
		free(buf);
		if (rc != 0)
			return -1;
	}
	*cfg = work;
	return 0;
}

int
config_facility(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(config_facilities) / sizeof(*config_facilities);
	     i++)
		if (strcasecmp(name, config_facilities[i].name) == 0)
			return config_facilities[i].facility;
	return -1;
}

/* The milter's door ---------------------------------------------------- */

bool
config_socket_inet(const char *socket)
{
	return strncmp(socket, "inet:", 5) == 0 ||
	       strncmp(socket, "inet6:", 6) == 0;
}

int
config_check_fleet(const struct config *cfg, char *err, size_t errlen)
{
	if (cfg->fleet_refresh || cfg->store_dsn[0] != '\0')
		return 0;
	return errbuf_fail(err, errlen,
	                   "FleetRefresh no needs StoreDSN: without a fleet's "
	                   "checkers nothing would refresh this host's "
	                   "domains (authready.conf(5))");
}

int
config_check_door(const struct config *cfg, const char *socket, char *err,
                  size_t errlen)
{
	if (socket == NULL)
		socket = cfg->socket;
	if (!policy_may_quarantine(&cfg->policy))
		return 0;
	if (config_socket_inet(socket)) {
		if (!cfg->unsafe_inet_quarantine)
			return errbuf_fail(
			    err, errlen,
			    "a quarantine action needs a unix Socket: any "
			    "local user can connect to %s and act as the MTA, "
			    "and a queue ID it sends would be held and later "
			    "released; use Socket local:PATH with SocketGroup "
			    "set to the MTA's group, or accept the risk with "
			    "UnsafeInetQuarantine yes (authready.conf(5))",
			    socket);
		if (cfg->hold_queue_command[0] == '\0')
			return errbuf_fail(
			    err, errlen,
			    "UnsafeInetQuarantine needs HoldQueueCommand: "
			    "queue IDs indexed over %s are released only "
			    "when the MTA's hold queue confirms them",
			    socket);
		return 0;
	}
	if ((cfg->umask & 002) == 0)
		return errbuf_fail(
		    err, errlen,
		    "UMask %03o lets every local user connect to the milter "
		    "socket and act as the MTA, which a quarantine action must "
		    "not allow; use UMask 007 and SocketGroup",
		    (unsigned)cfg->umask);
	return 0;
}

/* Durations and addresses -------------------------------------------- */

static const struct {
	char unit;
	int64_t seconds;
} config_units[] = {
    {'s', 1},
    {'m', 60},
    {'h', 3600},
    {'d', 86400},
};

int
config_parse_duration(const char *text, int64_t *seconds)
{
	int64_t n = 0, mult = 1;
	const char *p = text;
	size_t i;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (*p - '0');
		if (n > CONFIG_DURATION_MAX)
			return -1;
	}
	if (*p != '\0') {
		for (i = 0; i < sizeof(config_units) / sizeof(*config_units);
		     i++)
			if (config_units[i].unit == *p)
				mult = config_units[i].seconds;
		if (mult == 1 && *p != 's')
			return -1;
		if (p[1] != '\0')
			return -1;
	}
	if (n == 0 || n > CONFIG_DURATION_MAX / mult)
		return -1;
	*seconds = n * mult;
	return 0;
}

int
config_egress_add(struct config_egress *list, const char *text, char *err,
                  size_t errlen)
{
	char q[CONFIG_QUOTE_MAX];
	struct netlist_entry e;

	if (list->count >= CONFIG_EGRESS_MAX)
		return errbuf_fail(err, errlen, "more than %d addresses",
		                   CONFIG_EGRESS_MAX);
	if (strlen(text) >= CONFIG_IP_TEXT_MAX ||
	    netlist_addr_parse(text, strlen(text),
	                       NETLIST_PREFIX | NETLIST_HOST_BITS, &e, NULL,
	                       0) != 0)
		return errbuf_fail(
		    err, errlen,
		    "'%s' is not an IPv4 or IPv6 address "
		    "(with an optional /prefix)",
		    text_quote(q, sizeof(q), text, strlen(text)));
	memcpy(list->ip[list->count++], text, strlen(text) + 1);
	return 0;
}
