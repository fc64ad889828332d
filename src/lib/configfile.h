/*
 * configfile.h - authready.conf(5): parsing into an immutable snapshot.
 *
 * SYNOPSIS
 *	#include "configfile.h"
 *
 *	The functions: see configfile.c.
 *
 * DESCRIPTION
 *	The syntax is OpenDKIM's: one "Key value" per line, keys are
 *	case-insensitive, "#" starts a comment, blank lines are ignored.  Keys
 *	are described by one table in configfile.c (name, type, where it goes);
 *	unknown keys, missing values and bad values are errors that name the
 *	file and the line.  Defaults are built in; a file only overrides them.
 */
#ifndef AUTHREADY_CONFIGFILE_H
#define AUTHREADY_CONFIGFILE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dmarc.h"
#include "dns.h"
#include "domainname.h"
#include "fallback.h"
#include "fromcheck.h"
#include "policy.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define CONFIG_DEFAULT_PATH SYSCONFDIR "/authready.conf"
#define CONFIG_LINE_MAX 4096
#define CONFIG_LISTEN_ADDR_MAX 46 /* INET6_ADDRSTRLEN */
#define CONFIG_SELECTOR_MAX 64
#define CONFIG_DNS_TIMEOUT_DEFAULT_MS 5000
#define CONFIG_CHECK_TIMEOUT_DEFAULT_MS 20000 /* SPF's RFC 7208 limit */
#define CONFIG_MAIL_FROM_DEFAULT "mail"
#define CONFIG_STATE_DIR_DEFAULT "/var/lib/authready"
#define CONFIG_SENDMAIL_DEFAULT "/usr/sbin/sendmail -t -oi"
#define CONFIG_RELEASE_DEFAULT "/usr/sbin/postsuper -H -" /* release.c */
#define CONFIG_HOLD_QUEUE_DEFAULT "/usr/sbin/postqueue -j"

/* MTA: whose queue IDs the milter indexes and release hands on. */
enum config_mta {
	CONFIG_MTA_POSTFIX = 0, /* the default */
	CONFIG_MTA_SENDMAIL,
};
#define CONFIG_REFRESH_DEFAULT 3600               /* 1 h */
#define CONFIG_PENDING_WINDOW_DEFAULT (72 * 3600) /* 72 h */
#define CONFIG_GRACE_DEFAULT (72 * 3600)          /* 72 h */
#define CONFIG_UNREG_EXPIRY_DEFAULT (30 * 86400)  /* 30 d */
#define CONFIG_DURATION_MAX (10LL * 366 * 86400)  /* ten years */
#define CONFIG_CONCURRENCY_DEFAULT 128            /* domains checked at once */
#define CONFIG_CONCURRENCY_MAX 10000
#define CONFIG_EGRESS_MAX 16
#define CONFIG_IP_TEXT_MAX 64
#define CONFIG_ADDRESS_MAX 256
#define CONFIG_NAME_MAX 64
#define CONFIG_SOCKET_DEFAULT "local:/run/authready/authready.sock"
#define CONFIG_UMASK_DEFAULT 007
#define CONFIG_CHECK_WAIT_DEFAULT_MS 2000
#define CONFIG_MILTER_TIMEOUT_DEFAULT 600 /* s; authready-milter(8) */
#define CONFIG_MILTER_TIMEOUT_MAX 86400   /* s; libmilter's is 7210 */
#define CONFIG_FACILITY_DEFAULT "mail"
#define CONFIG_DSN_MAX 1024                /* StoreDSN, a libpq URI */
#define CONFIG_HOST_NAME_MAX 256           /* HostName */
#define CONFIG_REPLICA_MAX_LAG_DEFAULT 300 /* 5 min */
#define CONFIG_LISTEN_MAX 64               /* "[IPv6]:PORT" */
#define CONFIG_API_LISTEN_DEFAULT "127.0.0.1:8025"
#define CONFIG_API_CONNECTIONS_DEFAULT 1024
#define CONFIG_API_TIMEOUT_DEFAULT_MS 30000
#define CONFIG_DSN_MAX 1024                      /* StoreDSN, a libpq URI */
#define CONFIG_HOST_NAME_MAX 256                 /* HostName */
#define CONFIG_REPLICA_MAX_LAG_DEFAULT 300       /* 5 min */
#define CONFIG_WEBHOOK_URLS_MAX 8                /* WebhookURL lines */
#define CONFIG_WEBHOOK_URL_MAX 1024              /* octets of one URL */
#define CONFIG_WEBHOOK_TIMEOUT_DEFAULT_MS 10000  /* WebhookTimeout */
#define CONFIG_WEBHOOK_RETRY_DEFAULT (24 * 3600) /* WebhookRetryFor */

struct config_egress {
	char ip[CONFIG_EGRESS_MAX][CONFIG_IP_TEXT_MAX]; /* "192.0.2.1", CIDR */
	size_t count;
};

/* WebhookURL: unlike other keys, every line adds one. */
struct config_webhooks {
	char url[CONFIG_WEBHOOK_URLS_MAX][CONFIG_WEBHOOK_URL_MAX];
	size_t count;
};

/* An HTTP listener (MetricsListen, APIMetricsListen): a numeric address
 * and a port. */
struct config_listen {
	bool on;
	int family; /* AF_INET or AF_INET6 */
	char addr[CONFIG_LISTEN_ADDR_MAX];
	uint16_t port;
	bool loopback; /* 127.0.0.0/8 or ::1 */
};

struct config {
	struct dns_options dns;               /* DNSServers, DNSTimeout */
	unsigned check_timeout_ms;            /* CheckTimeout */
	char selector[CONFIG_SELECTOR_MAX];   /* Selector */
	char key_file[PATH_MAX];              /* KeyFile */
	char mail_from[DOMAIN_BUF];           /* MailFrom: label or FQDN */
	char mx_host[DOMAIN_BUF];             /* MXHost */
	enum dmarc_policy dmarc_min_policy;   /* DMARCMinPolicy */
	char spf_include[DOMAIN_BUF];         /* SPFInclude */
	struct config_egress egress;          /* EgressIPs */
	char state_dir[PATH_MAX];             /* StateDir */
	int64_t refresh_interval;             /* RefreshInterval, seconds */
	int64_t pending_window;               /* PendingWindow, seconds */
	int64_t grace_period;                 /* GracePeriod, seconds */
	int64_t unreg_expiry;                 /* UnregisteredExpiry */
	char sendmail_path[PATH_MAX];         /* SendmailPath: program, args */
	char notify_from[CONFIG_ADDRESS_MAX]; /* NotifyFrom */
	uint32_t refresh_concurrency;         /* RefreshConcurrency */
	char release_command[PATH_MAX];       /* ReleaseCommand */
	char hold_queue_command[PATH_MAX];    /* HoldQueueCommand; "" none */
	enum config_mta mta;                  /* MTA */

	/* A fleet on PostgreSQL (pgconn.h); StoreDSN "" is LMDB only. */
	char store_dsn[CONFIG_DSN_MAX];         /* StoreDSN */
	char store_dsn_password_file[PATH_MAX]; /* StoreDSNPasswordFile */
	int64_t replica_max_lag;                /* ReplicaMaxLag, seconds */
	bool fleet_refresh;                     /* FleetRefresh */
	char host_name[CONFIG_HOST_NAME_MAX];   /* HostName; "" gethostname() */

	/* authready-api(8) */
	char api_listen[CONFIG_LISTEN_MAX]; /* APIListen ADDR:PORT */
	char api_tls_cert[PATH_MAX];        /* APITLSCertificate; "" none */
	char api_tls_key[PATH_MAX];         /* APITLSKey */
	char api_token_file[PATH_MAX];      /* APITokenFile */
	char api_user_id[CONFIG_NAME_MAX];  /* APIUserID; "" UserID */
	char api_pid_file[PATH_MAX];        /* APIPidFile */
	uint32_t api_max_connections;       /* APIMaxConnections */
	unsigned api_request_timeout_ms;    /* APIRequestTimeout */
	/* State-change webhooks (webhook.h); no URL: no events at all. */
	struct config_webhooks webhooks;    /* WebhookURL */
	char webhook_secret_file[PATH_MAX]; /* WebhookSecretFile */
	unsigned webhook_timeout_ms;        /* WebhookTimeout */
	int64_t webhook_retry_for;          /* WebhookRetryFor, seconds */

	/* authready-milter(8) */
	char socket[PATH_MAX];                 /* Socket */
	char user_id[CONFIG_NAME_MAX];         /* UserID: user[:group] */
	char socket_group[CONFIG_NAME_MAX];    /* SocketGroup */
	bool unsafe_inet_quarantine;           /* UnsafeInetQuarantine */
	uint32_t umask;                        /* UMask (octal) */
	char pid_file[PATH_MAX];               /* PidFile */
	bool syslog;                           /* Syslog */
	char syslog_facility[CONFIG_NAME_MAX]; /* SyslogFacility */
	unsigned check_wait_ms;                /* CheckWait */
	int64_t milter_timeout;                /* MilterTimeout, seconds */
	char policy_socket[PATH_MAX]; /* PolicySocket; "" no policy door */
	bool policy_accept_ok;        /* PolicyAcceptOK: OK, not DUNNO */
	struct policy_config policy;  /* On*, Mode, InternalHosts... */
	struct fromcheck_config from; /* FromCheck, OnFrom* */

	/* OnMailFromNotReady, FallbackMailFrom (the milter's alone) */
	struct fallback_config fallback;
	/* MetricsListen: /metrics and /healthz (metricsd.c); off: none */
	struct config_listen metrics_listen;
	/* APIMetricsListen: authready-api's (apimetrics.c); off: none */
	struct config_listen api_metrics_listen;
};

/* config_defaults - the built-in values. */
void config_defaults(struct config *cfg);

/*
 * config_parse - apply the text of a config file to cfg.  filename is used
 * in messages only.  0 ok; -1 with "FILE:LINE: what is wrong" in err.
 */
int config_parse(const char *buf, size_t len, const char *filename,
                 struct config *cfg, char *err, size_t errlen);

/*
 * config_load - defaults, then the file at path.  When must_exist is false
 * a missing file means defaults only.  0 ok; -1 with err.
 */
int config_load(const char *path, bool must_exist, struct config *cfg,
                char *err, size_t errlen);

/*
 * config_set - set one key (case-insensitive name) from its value, as a
 * line "key value" would, except that an empty value goes to the key's
 * parser.  0 ok; -1 with "Key: why" in err; 1 when key is not a key.
 */
int config_set(struct config *cfg, const char *key, const char *value,
               char *err, size_t errlen);

/* config_parse_timeout - "5", "2.5" seconds to ms (1 ms .. 300 s). */
int config_parse_timeout(const char *text, unsigned *ms);

/* config_facility - the syslog facility (LOG_MAIL...) of a SyslogFacility
 * name, any case; -1 unknown. */
int config_facility(const char *name);

/*
 * config_api_listen_parse - "ADDR:PORT" (IPv4) or "[ADDR]:PORT" (IPv6), with
 * a numeric address and a port 1..65535, into *ss; 0 ok, -1 bad.
 */
int config_api_listen_parse(const char *text, struct sockaddr_storage *ss,
                            socklen_t *sslen);

/*
 * config_listen_parse - an HTTP listener: "off", "PORT" (127.0.0.1),
 * "IPV4:PORT" or "[IPV6]:PORT" (numeric addresses only, port 1..65535);
 * 0, or -1 with the reason in err.
 */
int config_listen_parse(const char *text, struct config_listen *out, char *err,
                        size_t errlen);

/* config_socket_inet - socket is inet:PORT@HOST or inet6:PORT@HOST. */
bool config_socket_inet(const char *socket);

/*
 * config_check_door - may authready-milter quarantine through this door?
 * socket is the milter socket in use (NULL: cfg->socket).  A queue ID
 * that reaches the milter is indexed at quarantine and later handed to
 * ReleaseCommand, so when the policy can quarantine, only the MTA may be
 * able to connect: a unix socket that others cannot write (UMask with
 * 002), or a TCP socket (which every local user can reach) only with
 * UnsafeInetQuarantine yes and a HoldQueueCommand to check the entries
 * against.  0 ok; -1 with the rule and the fix in err.  Pure.
 */
int config_check_door(const struct config *cfg, const char *socket, char *err,
                      size_t errlen);

/*
 * config_check_fleet - may authready-milter run with this FleetRefresh?
 * "no" (the daemon's checker leaves due rounds to the fleet's other
 * checkers) only with StoreDSN: alone, nothing else would refresh the
 * host's domains.  0 ok; -1 with the rule in err.  Pure.
 */
int config_check_fleet(const struct config *cfg, char *err, size_t errlen);

/* config_webhook_url_ok - an absolute http or https URL with a host and
 * nothing a header or a log line could be split with; 0 ok, -1 with
 * why in err. */
int config_webhook_url_ok(const char *url, char *err, size_t errlen);

/* config_parse_duration - "3600", "90s", "15m", "72h", "3d" to seconds
 * (1 s .. ten years); 0 ok, -1 bad. */
int config_parse_duration(const char *text, int64_t *seconds);

/* config_egress_add - append an address, or a range with a /prefix
 * (netlist_addr_parse), to a list; 0 ok, -1 with err. */
int config_egress_add(struct config_egress *list, const char *text, char *err,
                      size_t errlen);

#endif
