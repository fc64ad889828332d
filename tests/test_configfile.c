/*
 * test_configfile.c - authready.conf parsing and loading.
 *
 * SYNOPSIS
 *	make check TESTS=tests/test_configfile
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "configfile.h"

static char tmpdir[256];

/* parse - config_parse of a C string on top of the defaults. */
static int
parse(const char *text, struct config *cfg, char *err)
{
	config_defaults(cfg);
	err[0] = '\0';
	return config_parse(text, strlen(text), "t.conf", cfg, err, 512);
}

/* parse_ok - the text parses; cfg holds the result. */
static void
parse_ok(const char *text, struct config *cfg)
{
	char err[512];

	ck_assert_msg(parse(text, cfg, err) == 0, "'%s': %s", text, err);
}

/* parse_bad - the text is refused with exactly want as the message. */
static void
parse_bad(const char *text, size_t len, const char *want)
{
	struct config cfg, before;
	char err[512] = "";

	config_defaults(&cfg);
	before = cfg;
	ck_assert_int_eq(
	    config_parse(text, len, "t.conf", &cfg, err, sizeof(err)), -1);
	ck_assert_str_eq(err, want);
	/* a failed parse leaves the snapshot alone */
	ck_assert(memcmp(&cfg, &before, sizeof(cfg)) == 0);
}

/* parse_bad_has - the text is refused with a message containing want. */
static void
parse_bad_has(const char *text, const char *want)
{
	struct config cfg;
	char err[512];

	ck_assert_int_eq(parse(text, &cfg, err), -1);
	ck_assert_msg(strstr(err, want) != NULL, "'%s' lacks '%s'", err, want);
}

/* write_file - tmpdir/name with len octets of text; returns the path. */
static const char *
write_file(const char *name, const char *text, size_t len)
{
	static char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fp = fopen(path, "wb");
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(text, 1, len, fp), len);
	ck_assert_int_eq(fclose(fp), 0);
	return path;
}

static void
setup(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/test_configfile.XXXXXX",
	         base != NULL && *base != '\0' ? base : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
teardown(void)
{
	static const char *const names[] = {"t.conf", "big.conf", "fifo"};
	char path[600];
	size_t i;

	/* only files this test made, in a directory it made */
	for (i = 0; i < sizeof(names) / sizeof(*names); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
		unlink(path);
	}
	rmdir(tmpdir);
}

START_TEST(test_defaults)
{
	struct config cfg;

	memset(&cfg, 0xa5, sizeof(cfg));
	config_defaults(&cfg);
	ck_assert_uint_eq(cfg.dns.nservers, 0);
	ck_assert_uint_eq(cfg.dns.timeout_ms, 5000);
	ck_assert_str_eq(cfg.mail_from, "mail");
	ck_assert_int_eq(cfg.dmarc_min_policy, DMARC_POLICY_NONE);
	ck_assert_str_eq(cfg.selector, "");
	ck_assert_str_eq(cfg.key_file, "");
	ck_assert_str_eq(cfg.mx_host, "");
}
END_TEST

START_TEST(test_all_keys)
{
	struct config cfg;

	parse_ok("DNSServers 127.0.0.1:5353, [::1]:53 127.0.0.2\n"
	         "DNSTimeout 2.5\n"
	         "Selector 1234RPR\n"
	         "KeyFile /etc/authready/keys/default.private\n"
	         "MailFrom Bounce\n"
	         "MXHost Feedback-SMTP.Example.NET.\n"
	         "DMARCMinPolicy quarantine\n",
	         &cfg);
	ck_assert_uint_eq(cfg.dns.nservers, 3);
	ck_assert_str_eq(cfg.dns.servers[0], "127.0.0.1:5353");
	ck_assert_str_eq(cfg.dns.servers[1], "[::1]:53");
	ck_assert_str_eq(cfg.dns.servers[2], "127.0.0.2");
	ck_assert_uint_eq(cfg.dns.timeout_ms, 2500);
	ck_assert_str_eq(cfg.selector, "1234rpr");
	ck_assert_str_eq(cfg.key_file, "/etc/authready/keys/default.private");
	ck_assert_str_eq(cfg.mail_from, "bounce");
	ck_assert_str_eq(cfg.mx_host, "feedback-smtp.example.net");
	ck_assert_int_eq(cfg.dmarc_min_policy, DMARC_POLICY_QUARANTINE);
}
END_TEST

START_TEST(test_webhook_keys)
{
	struct config cfg;
	char text[2048];
	size_t n = 0;

	config_defaults(&cfg);
	ck_assert_uint_eq(cfg.webhooks.count, 0);
	ck_assert_uint_eq(cfg.webhook_timeout_ms, 10000);
	ck_assert_int_eq(cfg.webhook_retry_for, 24 * 3600);
	/* every WebhookURL line adds one */
	parse_ok("WebhookURL https://app.example/hooks?k=1\n"
	         "webhookurl http://127.0.0.1:8080/x\n"
	         "WebhookSecretFile /etc/authready/webhook.secret\n"
	         "WebhookTimeout 2.5\nWebhookRetryFor 3d\n",
	         &cfg);
	ck_assert_uint_eq(cfg.webhooks.count, 2);
	ck_assert_str_eq(cfg.webhooks.url[0], "https://app.example/hooks?k=1");
	ck_assert_str_eq(cfg.webhooks.url[1], "http://127.0.0.1:8080/x");
	ck_assert_str_eq(cfg.webhook_secret_file,
	                 "/etc/authready/webhook.secret");
	ck_assert_uint_eq(cfg.webhook_timeout_ms, 2500);
	ck_assert_int_eq(cfg.webhook_retry_for, 3 * 86400);
	/* http and https only, absolute, nothing to split a header with */
	parse_bad_has("WebhookURL ftp://app.example/\n", "http or https");
	parse_bad_has("WebhookURL file:///etc/passwd\n", "WebhookURL");
	parse_bad_has("WebhookURL app.example/hooks\n", "absolute URL");
	parse_bad_has("WebhookURL /hooks\n", "absolute URL");
	parse_bad_has("WebhookURL https://app.example/a b\n", "no spaces");
	parse_bad_has("WebhookURL https://app.example/\xc3\xa9\n", "non-ASCII");
	parse_bad_has("WebhookURL https://a.example/\n"
	              "WebhookURL https://a.example/\n",
	              "given twice");
	for (int i = 0; i <= CONFIG_WEBHOOK_URLS_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
		                      "WebhookURL https://a.example/%d\n", i);
	parse_bad_has(text, "more than 8 URLs");
	/* signed always; with the fleet store too (its outbox is
	 * PostgreSQL's) */
	parse_bad_has("WebhookURL https://a.example/\n", "WebhookSecretFile");
	parse_ok("WebhookURL https://a.example/\n"
	         "WebhookSecretFile /etc/s\n"
	         "StoreDSN postgresql://db.example/authready\n",
	         &cfg);
	ck_assert_str_eq(cfg.store_dsn, "postgresql://db.example/authready");
	parse_bad_has("WebhookSecretFile etc/s\n", "absolute path");
	parse_bad_has("WebhookTimeout 0\n", "out of range");
}
END_TEST

START_TEST(test_fleet_keys)
{
	struct config cfg;

	config_defaults(&cfg);
	ck_assert_str_eq(cfg.store_dsn, "");
	ck_assert_str_eq(cfg.store_dsn_password_file, "");
	ck_assert_int_eq(cfg.replica_max_lag, 300);
	ck_assert_str_eq(cfg.host_name, "");
	parse_ok(
	    "StoreDSN postgresql://a@db.example/authready?sslmode=require\n"
	    "StoreDSNPasswordFile /etc/authready/pg.password\n"
	    "ReplicaMaxLag 90s\n"
	    "HostName mx1.example.net\n",
	    &cfg);
	ck_assert_str_eq(cfg.store_dsn,
	                 "postgresql://a@db.example/authready?sslmode=require");
	ck_assert_str_eq(cfg.store_dsn_password_file,
	                 "/etc/authready/pg.password");
	ck_assert_int_eq(cfg.replica_max_lag, 90);
	ck_assert_str_eq(cfg.host_name, "mx1.example.net");
	parse_bad_has("StoreDSNPasswordFile pg.password\n",
	              "not an absolute path");
	parse_bad_has("ReplicaMaxLag soon\n", "not a duration");
}
END_TEST

START_TEST(test_api_keys)
{
	struct sockaddr_storage ss;
	struct config cfg;
	socklen_t len;

	config_defaults(&cfg);
	ck_assert_str_eq(cfg.api_listen, "127.0.0.1:8025");
	ck_assert_uint_eq(cfg.api_max_connections, 1024);
	ck_assert_uint_eq(cfg.api_request_timeout_ms, 30000);
	parse_ok("APIListen [::1]:9000\n"
	         "APITLSCertificate /etc/authready/api.crt\n"
	         "APITLSKey /etc/authready/api.key\n"
	         "APITokenFile /etc/authready/api-tokens\n"
	         "APIUserID authready-api:authready\n"
	         "APIPidFile /run/authready/api.pid\n"
	         "APIMaxConnections 50\n"
	         "APIRequestTimeout 2.5\n",
	         &cfg);
	ck_assert_str_eq(cfg.api_listen, "[::1]:9000");
	ck_assert_str_eq(cfg.api_token_file, "/etc/authready/api-tokens");
	ck_assert_uint_eq(cfg.api_max_connections, 50);
	ck_assert_uint_eq(cfg.api_request_timeout_ms, 2500);
	ck_assert_int_eq(config_api_listen_parse("[::1]:9000", &ss, &len), 0);
	ck_assert_int_eq(ss.ss_family, AF_INET6);
	ck_assert_int_eq(config_api_listen_parse("192.0.2.1:1", &ss, &len), 0);
	ck_assert_int_eq(ss.ss_family, AF_INET);
	parse_bad_has("APIListen localhost:8025\n", "not ADDR:PORT");
	parse_bad_has("APIListen 127.0.0.1\n", "not ADDR:PORT");
	parse_bad_has("APIListen 127.0.0.1:0\n", "not ADDR:PORT");
	parse_bad_has("APIListen 127.0.0.1:65536\n", "not ADDR:PORT");
	parse_bad_has("APIListen ::1:80\n", "not ADDR:PORT");
	parse_bad_has("APIListen [::1]80\n", "not ADDR:PORT");
	parse_bad_has("APITokenFile tokens\n", "not an absolute path");
	parse_bad_has("APIMaxConnections 0\n", "between 1 and");
}
END_TEST

START_TEST(test_keys_case_insensitive)
{
	struct config cfg;

	parse_ok("dnstimeout 7\nSELECTOR s1\nmailfrom bounces.example.org\n"
	         "dmarcminpolicy REJECT\n",
	         &cfg);
	ck_assert_uint_eq(cfg.dns.timeout_ms, 7000);
	ck_assert_str_eq(cfg.selector, "s1");
	ck_assert_str_eq(cfg.mail_from, "bounces.example.org");
	ck_assert_int_eq(cfg.dmarc_min_policy, DMARC_POLICY_REJECT);
}
END_TEST

START_TEST(test_later_wins)
{
	struct config cfg;

	parse_ok("Selector a\nSelector b\n"
	         "DNSServers 127.0.0.1 127.0.0.2\nDNSServers 127.0.0.3\n",
	         &cfg);
	ck_assert_str_eq(cfg.selector, "b");
	ck_assert_uint_eq(cfg.dns.nservers, 1);
	ck_assert_str_eq(cfg.dns.servers[0], "127.0.0.3");
	ck_assert_str_eq(cfg.dns.servers[1], "");
}
END_TEST

START_TEST(test_comments_blank_whitespace)
{
	struct config cfg;

	parse_ok("# a comment\n"
	         "\n"
	         "   \t\n"
	         "  # indented comment\n"
	         "\tSelector   s2   # trailing comment\n"
	         "KeyFile /var/lib/key#1.pem\n"
	         "MXHost mx.example.com\t#tab then comment\n"
	         "#Selector nope\n",
	         &cfg);
	ck_assert_str_eq(cfg.selector, "s2");
	ck_assert_str_eq(cfg.key_file, "/var/lib/key#1.pem");
	ck_assert_str_eq(cfg.mx_host, "mx.example.com");
}
END_TEST

START_TEST(test_value_with_spaces)
{
	struct config cfg;

	parse_ok("KeyFile   /srv/dkim keys/a.pem  \n", &cfg);
	ck_assert_str_eq(cfg.key_file, "/srv/dkim keys/a.pem");
}
END_TEST

START_TEST(test_crlf_and_no_final_newline)
{
	struct config cfg;

	parse_ok("Selector s3\r\nDNSTimeout 1\r\n\r\nMXHost mx.example.com",
	         &cfg);
	ck_assert_str_eq(cfg.selector, "s3");
	ck_assert_uint_eq(cfg.dns.timeout_ms, 1000);
	ck_assert_str_eq(cfg.mx_host, "mx.example.com");
	parse_ok("", &cfg);
	parse_ok("\n\n", &cfg);
	parse_ok("Selector s4\r", &cfg);
	ck_assert_str_eq(cfg.selector, "s4");
}
END_TEST

START_TEST(test_not_nul_terminated)
{
	struct config cfg;
	char err[512];
	const char text[] = "Selector abcBOGUS";

	config_defaults(&cfg);
	ck_assert_int_eq(
	    config_parse(text, 12, "t.conf", &cfg, err, sizeof(err)), 0);
	ck_assert_str_eq(cfg.selector, "abc");
}
END_TEST

START_TEST(test_unknown_key)
{
	const char *t = "Selector a\n\n# c\nFoo bar\n";

	parse_bad(t, strlen(t), "t.conf:4: unknown key 'Foo'");
	t = "Selector=abc\n";
	parse_bad(t, strlen(t), "t.conf:1: unknown key 'Selector=abc'");
	t = "Sel\xc3\xa9"
	    "ctor a\n";
	parse_bad(t, strlen(t), "t.conf:1: unknown key 'Sel\\xc3\\xa9ctor'");
	t = "Selectorx a\n";
	parse_bad(t, strlen(t), "t.conf:1: unknown key 'Selectorx'");
	t = "Selecto a\n";
	parse_bad(t, strlen(t), "t.conf:1: unknown key 'Selecto'");
}
END_TEST

START_TEST(test_missing_value)
{
	const char *t = "\n\nSelector\n";

	parse_bad(t, strlen(t), "t.conf:3: Selector needs a value");
	t = "selector   # only a comment\n";
	parse_bad(t, strlen(t), "t.conf:1: Selector needs a value");
	t = "DNSTimeout \t \r\n";
	parse_bad(t, strlen(t), "t.conf:1: DNSTimeout needs a value");
	t = "KeyFile";
	parse_bad(t, strlen(t), "t.conf:1: KeyFile needs a value");
}
END_TEST

START_TEST(test_timeout)
{
	struct config cfg;
	const char *t;

	parse_ok("DNSTimeout 0.001\n", &cfg);
	ck_assert_uint_eq(cfg.dns.timeout_ms, 1);
	parse_ok("DNSTimeout 300\n", &cfg);
	ck_assert_uint_eq(cfg.dns.timeout_ms, 300000);
	parse_ok("DNSTimeout 300.000\n", &cfg);
	ck_assert_uint_eq(cfg.dns.timeout_ms, 300000);
	parse_ok("DNSTimeout 0.25\n", &cfg);
	ck_assert_uint_eq(cfg.dns.timeout_ms, 250);
	parse_ok("DNSTimeout 0.0019\n", &cfg);
	ck_assert_uint_eq(cfg.dns.timeout_ms, 1);
	t = "DNSTimeout abc\n";
	parse_bad(t, strlen(t),
	          "t.conf:1: DNSTimeout: 'abc' is not a number of seconds");
	t = "# x\nDNSTimeout 300.001\n";
	parse_bad(t, strlen(t),
	          "t.conf:2: DNSTimeout: '300.001' is out of "
	          "range (0.001 to 300 seconds)");
	parse_bad_has("DNSTimeout 0\n", "out of range");
	parse_bad_has("DNSTimeout 0.0009\n", "out of range");
	parse_bad_has("DNSTimeout 99999999999999999999999\n", "out of range");
	parse_bad_has("DNSTimeout -1\n", "not a number");
	parse_bad_has("DNSTimeout +1\n", "not a number");
	parse_bad_has("DNSTimeout 1.\n", "not a number");
	parse_bad_has("DNSTimeout .5\n", "not a number");
	parse_bad_has("DNSTimeout 1e2\n", "not a number");
	parse_bad_has("DNSTimeout 5s\n", "not a number");
	parse_bad_has("DNSTimeout 5 s\n", "not a number");
	parse_bad_has("DNSTimeout 0x10\n", "not a number");
}
END_TEST

START_TEST(test_parse_timeout)
{
	unsigned ms = 42;

	ck_assert_int_eq(config_parse_timeout("5", &ms), 0);
	ck_assert_uint_eq(ms, 5000);
	ck_assert_int_eq(config_parse_timeout("2.5", &ms), 0);
	ck_assert_uint_eq(ms, 2500);
	ms = 42;
	ck_assert_int_eq(config_parse_timeout("", &ms), -1);
	ck_assert_int_eq(config_parse_timeout("301", &ms), -1);
	ck_assert_int_eq(config_parse_timeout("0.0001", &ms), -1);
	ck_assert_int_eq(config_parse_timeout("nan", &ms), -1);
	ck_assert_int_eq(config_parse_timeout(NULL, &ms), -1);
	ck_assert_uint_eq(ms, 42);
}
END_TEST

START_TEST(test_servers)
{
	struct config cfg;
	char line[512], err[512];
	const char *t;
	size_t n;

	parse_ok("DNSServers 127.0.0.1,127.0.0.2 , ,\t[::1]:5353,\n", &cfg);
	ck_assert_uint_eq(cfg.dns.nservers, 3);
	ck_assert_str_eq(cfg.dns.servers[2], "[::1]:5353");
	ck_assert_uint_eq(cfg.dns.timeout_ms, 5000);

	/* exactly DNS_SERVERS_MAX, then one more */
	n = (size_t)snprintf(line, sizeof(line), "DNSServers");
	for (int i = 1; i <= DNS_SERVERS_MAX; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, " 127.0.0.%d",
		                      i);
	parse_ok(line, &cfg);
	ck_assert_uint_eq(cfg.dns.nservers, DNS_SERVERS_MAX);
	snprintf(line + n, sizeof(line) - n, " 127.0.0.99\n");
	parse_bad_has(line, "more than 8 servers (at '127.0.0.99')");

	t = "DNSServers not-an-address\n";
	parse_bad_has(t, "t.conf:1: DNSServers: 'not-an-address'");
	parse_bad_has("DNSServers 127.0.0.1:99999\n",
	              "DNSServers: '127.0.0.1:99999'");
	parse_bad_has("DNSServers 127.0.0.1 256.0.0.1\n", "'256.0.0.1'");
	parse_bad_has("DNSServers ,, ,\n", "DNSServers: no server in ',, ,'");
	/* a 64-octet entry does not fit its 64-octet slot with the NUL */
	memset(line, 0, sizeof(line));
	memcpy(line, "DNSServers 127.0.0.1 ", 21);
	memset(line + 21, '1', 64);
	parse_bad_has(line, "is 64 octets; at most 63 allowed");
	line[21 + 63] = '\0';
	ck_assert_int_eq(parse(line, &cfg, err), -1);
	ck_assert_msg(strstr(err, "DNSServers: '1111111111") != NULL &&
	                  strstr(err, "octets") == NULL,
	              "%s", err);
}
END_TEST

START_TEST(test_domains)
{
	struct config cfg;
	const char *t;

	parse_ok("MailFrom b\xc3\xbc"
	         "cher.example\n",
	         &cfg);
	ck_assert_str_eq(cfg.mail_from, "xn--bcher-kva.example");
	parse_ok("MXHost mx.example.com.\n", &cfg);
	ck_assert_str_eq(cfg.mx_host, "mx.example.com");
	t = "MXHost mx..example.com\n";
	parse_bad(
	    t, strlen(t),
	    "t.conf:1: MXHost: 'mx..example.com': name has an empty label");
	parse_bad_has(
	    "MailFrom -bounce\n",
	    "t.conf:1: MailFrom: '-bounce': label '-bounce' starts with a "
	    "hyphen");
	parse_bad_has("MailFrom user@example.com\n", "contains '@'");
	parse_bad_has("MailFrom mail from\n", "contains ' '");
	parse_bad_has("Selector a/b\n", "t.conf:1: Selector: 'a/b'");
}
END_TEST

START_TEST(test_selector_length)
{
	struct config cfg;
	char line[200];

	/* a 63-octet selector fits the 64-octet field; 64 octets does not */
	snprintf(
	    line, sizeof(line), "Selector %.63s.\n",
	    "sssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss");
	parse_ok(line, &cfg);
	ck_assert_uint_eq(strlen(cfg.selector), 63);
	parse_bad_has(
	    "Selector "
	    "ssssssssssssssssssssssssssssss.ssssssssssssssssssssssssssssssss"
	    "s\n",
	    "is 64 octets; at most 63 allowed");
}
END_TEST

START_TEST(test_key_file_length)
{
	size_t vmax = CONFIG_LINE_MAX - strlen("KeyFile ");
	char *line = malloc(CONFIG_LINE_MAX + 2);
	struct config cfg;

	/* the longest value a line can carry still fits the path field */
	ck_assert_ptr_nonnull(line);
	ck_assert_uint_lt(vmax, sizeof(cfg.key_file));
	memcpy(line, "KeyFile /", 9);
	memset(line + 9, 'k', vmax - 1);
	line[CONFIG_LINE_MAX] = '\0';
	parse_ok(line, &cfg);
	ck_assert_uint_eq(strlen(cfg.key_file), vmax);
	ck_assert_uint_eq(cfg.key_file[vmax - 1], 'k');
	line[CONFIG_LINE_MAX] = 'k';
	line[CONFIG_LINE_MAX + 1] = '\0';
	parse_bad_has(line, "t.conf:1: line is longer than 4096 octets");
	free(line);
}
END_TEST

START_TEST(test_policy)
{
	struct config cfg;
	const char *t;

	parse_ok("DMARCMinPolicy none\n", &cfg);
	ck_assert_int_eq(cfg.dmarc_min_policy, DMARC_POLICY_NONE);
	parse_ok("DMARCMinPolicy Quarantine\n", &cfg);
	ck_assert_int_eq(cfg.dmarc_min_policy, DMARC_POLICY_QUARANTINE);
	parse_ok("DMARCMinPolicy reject\n", &cfg);
	ck_assert_int_eq(cfg.dmarc_min_policy, DMARC_POLICY_REJECT);
	t = "DMARCMinPolicy strict\n";
	parse_bad(
	    t, strlen(t),
	    "t.conf:1: DMARCMinPolicy: 'strict' is not a policy; use none, "
	    "quarantine or reject");
	parse_bad_has("DMARCMinPolicy rejec\n", "'rejec' is not a policy");
	parse_bad_has("DMARCMinPolicy rejectx\n", "'rejectx' is not a policy");
	parse_bad_has("DMARCMinPolicy reject now\n", "is not a policy");
}
END_TEST

START_TEST(test_nul_and_controls)
{
	parse_bad("Selector a\nSel\0ector b\n", 23,
	          "t.conf:2: line contains a NUL byte");
	parse_bad("Selector a\0", 11, "t.conf:1: line contains a NUL byte");
	parse_bad("\n\nSelector a\rb\n", 15,
	          "t.conf:3: line contains the control character \\x0d");
	parse_bad("Selector \x1b[2Ja\n", 15,
	          "t.conf:1: line contains the control character \\x1b");
	parse_bad("Selector a\x7f\n", 12,
	          "t.conf:1: line contains the control character \\x7f");
}
END_TEST

START_TEST(test_long_line)
{
	size_t len = CONFIG_LINE_MAX + 64;
	char *buf = malloc(len);
	struct config cfg;
	char err[512];

	ck_assert_ptr_nonnull(buf);
	/* a comment line of exactly CONFIG_LINE_MAX octets, CRLF ended */
	memset(buf, '#', CONFIG_LINE_MAX);
	memcpy(buf + CONFIG_LINE_MAX, "\r\nSelector s\n", 13);
	config_defaults(&cfg);
	ck_assert_int_eq(config_parse(buf, CONFIG_LINE_MAX + 13, "t.conf", &cfg,
	                              err, sizeof(err)),
	                 0);
	ck_assert_str_eq(cfg.selector, "s");
	/* one octet more, on line 2, with no newline at all */
	memcpy(buf, "Selector x\n", 11);
	memset(buf + 11, '#', CONFIG_LINE_MAX + 1);
	parse_bad(buf, 11 + CONFIG_LINE_MAX + 1,
	          "t.conf:2: line is longer than 4096 octets");
	free(buf);
}
END_TEST

START_TEST(test_error_buffer_small)
{
	struct config cfg;
	char err[8];

	config_defaults(&cfg);
	ck_assert_int_eq(
	    config_parse("Foo bar\n", 8, "t.conf", &cfg, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "t.conf:");
	ck_assert_int_eq(config_parse("Foo bar\n", 8, NULL, &cfg, NULL, 0), -1);
}
END_TEST

START_TEST(test_load)
{
	const char text[] = "# sample\nSelector s5\r\nDNSTimeout 3";
	const char *path = write_file("t.conf", text, sizeof(text) - 1);
	struct config cfg;
	char err[512];

	ck_assert_msg(config_load(path, true, &cfg, err, sizeof(err)) == 0,
	              "%s", err);
	ck_assert_str_eq(cfg.selector, "s5");
	ck_assert_uint_eq(cfg.dns.timeout_ms, 3000);
	ck_assert_str_eq(cfg.mail_from, "mail");
}
END_TEST

START_TEST(test_load_errors_name_path)
{
	const char text[] = "Selector s\nBogus 1\n";
	const char *path = write_file("t.conf", text, sizeof(text) - 1);
	struct config cfg;
	char err[512], want[600];

	config_defaults(&cfg);
	snprintf(cfg.selector, sizeof(cfg.selector), "before");
	ck_assert_int_eq(config_load(path, true, &cfg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:2: unknown key 'Bogus'", path);
	ck_assert_str_eq(err, want);
	/* the old snapshot survives a failed load */
	ck_assert_str_eq(cfg.selector, "before");

	path = write_file("t.conf", "Selector a\0b\n", 13);
	ck_assert_int_eq(config_load(path, true, &cfg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:1: line contains a NUL byte", path);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_load_missing)
{
	char path[512], err[512], want[600];
	struct config cfg;

	snprintf(path, sizeof(path), "%s/absent.conf", tmpdir);
	memset(&cfg, 0, sizeof(cfg));
	ck_assert_int_eq(config_load(path, false, &cfg, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.dns.timeout_ms, 5000);
	ck_assert_str_eq(cfg.mail_from, "mail");

	ck_assert_int_eq(config_load(path, true, &cfg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	ck_assert_str_eq(err, want);

	/* only ENOENT is forgiven */
	snprintf(path, sizeof(path), "%s", tmpdir);
	ck_assert_int_eq(config_load(path, false, &cfg, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
}
END_TEST

START_TEST(test_load_fifo)
{
	char path[512], err[512];
	struct config cfg;

	snprintf(path, sizeof(path), "%s/fifo", tmpdir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	/* must not block waiting for a writer */
	ck_assert_int_eq(config_load(path, true, &cfg, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
}
END_TEST

START_TEST(test_load_too_big)
{
	size_t len = 1024 * 1024 + 1;
	char *buf = malloc(len);
	const char *path;
	struct config cfg;
	char err[512];
	size_t i;

	ck_assert_ptr_nonnull(buf);
	/* 1 MiB of short comment lines is accepted; one octet more is not */
	for (i = 0; i < len; i++)
		buf[i] = (i % 64 == 63) ? '\n' : '#';
	path = write_file("big.conf", buf, len - 1);
	ck_assert_msg(config_load(path, true, &cfg, err, sizeof(err)) == 0,
	              "%s", err);
	path = write_file("big.conf", buf, len);
	ck_assert_int_eq(config_load(path, true, &cfg, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "larger than 1048576 octets"));
	ck_assert_ptr_nonnull(strstr(err, "big.conf"));
	free(buf);
}
END_TEST

/* sample_path - etc/authready.conf of the source tree. */
static void
sample_path(char *buf, size_t len)
{
	const char *top = getenv("top_srcdir");
	const char *self = __FILE__;
	const char *suffix = "tests/test_configfile.c";
	size_t n = strlen(self), sl = strlen(suffix);

	if (top != NULL && *top != '\0') {
		snprintf(buf, len, "%s/etc/authready.conf", top);
		return;
	}
	ck_assert(n >= sl && strcmp(self + n - sl, suffix) == 0);
	snprintf(buf, len, "%.*setc/authready.conf", (int)(n - sl), self);
}

START_TEST(test_sample)
{
	static const char *const keys[] = {"DNSServers",
	                                   "DNSTimeout",
	                                   "Selector",
	                                   "KeyFile",
	                                   "MailFrom",
	                                   "MXHost",
	                                   "DMARCMinPolicy",
	                                   "SPFInclude",
	                                   "EgressIPs",
	                                   "StateDir",
	                                   "RefreshInterval",
	                                   "PendingWindow",
	                                   "GracePeriod",
	                                   "SendmailPath",
	                                   "NotifyFrom",
	                                   "RefreshConcurrency",
	                                   "ReleaseCommand",
	                                   "HoldQueueCommand",
	                                   "StoreDSN",
	                                   "StoreDSNPasswordFile",
	                                   "ReplicaMaxLag",
	                                   "HostName",
	                                   "Socket",
	                                   "UnsafeInetQuarantine",
	                                   "UserID",
	                                   "SocketGroup",
	                                   "UMask",
	                                   "PidFile",
	                                   "Syslog",
	                                   "SyslogFacility",
	                                   "CheckWait",
	                                   "MilterTimeout",
	                                   "InternalHosts",
	                                   "OutboundBy",
	                                   "OnVerified",
	                                   "OnDegraded",
	                                   "OnPending",
	                                   "OnFailed",
	                                   "OnUnknown",
	                                   "OnDNSError",
	                                   "Mode",
	                                   "UnregisteredDomains",
	                                   "ExemptSenders",
	                                   "ExemptDomains",
	                                   "DomainActions",
	                                   "RejectReply",
	                                   "TagHeader"};
	char path[1024], err[512], *text, *p;
	struct config cfg, defaults;
	FILE *fp;
	size_t len, i;

	/* as shipped, every key is commented out: the defaults */
	sample_path(path, sizeof(path));
	config_defaults(&defaults);
	ck_assert_msg(config_load(path, true, &cfg, err, sizeof(err)) == 0,
	              "%s", err);
	ck_assert(memcmp(&cfg, &defaults, sizeof(cfg)) == 0);

	/* uncommented, every example is valid and every key is there */
	text = calloc(1024 * 1024, 1);
	ck_assert_ptr_nonnull(text);
	fp = fopen(path, "rb");
	ck_assert_ptr_nonnull(fp);
	len = fread(text, 1, 1024 * 1024 - 1, fp);
	fclose(fp);
	for (i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
		char pat[64];

		snprintf(pat, sizeof(pat), "\n# %s\t", keys[i]);
		p = strstr(text, pat);
		ck_assert_msg(p != NULL, "sample lacks '# %s'", keys[i]);
		p[1] = ' ';
	}
	config_defaults(&cfg);
	ck_assert_msg(config_parse(text, len, path, &cfg, err, sizeof(err)) ==
	                  0,
	              "%s", err);
	ck_assert_uint_gt(cfg.dns.nservers, 0);
	ck_assert_str_ne(cfg.selector, "");
	ck_assert_str_ne(cfg.key_file, "");
	ck_assert_str_ne(cfg.mx_host, "");
	ck_assert_str_eq(cfg.spf_include, "amazonses.com");
	ck_assert_uint_eq(cfg.egress.count, 2);
	ck_assert_str_eq(cfg.notify_from, "postmaster@example.net");
	free(text);
}
END_TEST

START_TEST(test_refresh_keys)
{
	struct config cfg;
	char err[512];
	const char ok[] = "RefreshInterval 15m\nPendingWindow 3d\n"
	                  "GracePeriod 3600\nStateDir /srv/ar\n"
	                  "SendmailPath /usr/sbin/sendmail -t -oi -f bounce@x\n"
	                  "EgressIPs 192.0.2.1,192.0.2.0/24 2001:db8::/32\n"
	                  "SPFInclude AmazonSES.com.\n"
	                  "RefreshConcurrency 64\n";
	static const char *const bad[] = {
	    "RefreshInterval 0\n",        "RefreshInterval 5x\n",
	    "PendingWindow -1\n",         "GracePeriod 99999999999d\n",
	    "StateDir var/lib\n",         "SendmailPath sendmail -t\n",
	    "NotifyFrom a b@c\n",         "NotifyFrom <a@b>\n",
	    "EgressIPs 192.0.2.256\n",    "EgressIPs 192.0.2.0/33\n",
	    "EgressIPs 2001:db8::/129\n", "EgressIPs ,\n",
	    "EgressIPs 192.0.2.1/\n",     "SPFInclude a..b\n",
	    "RefreshConcurrency 0\n",     "RefreshConcurrency 10001\n",
	    "RefreshConcurrency 5x\n",
	};
	size_t i;

	config_defaults(&cfg);
	ck_assert_int_eq(cfg.refresh_interval, 3600);
	ck_assert_int_eq(cfg.pending_window, 72 * 3600);
	ck_assert_str_eq(cfg.state_dir, "/var/lib/authready");
	ck_assert_msg(
	    config_parse(ok, strlen(ok), "t.conf", &cfg, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_int_eq(cfg.refresh_interval, 900);
	ck_assert_int_eq(cfg.pending_window, 3 * 86400);
	ck_assert_int_eq(cfg.grace_period, 3600);
	ck_assert_str_eq(cfg.state_dir, "/srv/ar");
	ck_assert_uint_eq(cfg.egress.count, 3);
	ck_assert_str_eq(cfg.egress.ip[1], "192.0.2.0/24");
	ck_assert_str_eq(cfg.spf_include, "amazonses.com");
	ck_assert_uint_eq(cfg.refresh_concurrency, 64);
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		config_defaults(&cfg);
		ck_assert_msg(config_parse(bad[i], strlen(bad[i]), "t.conf",
		                           &cfg, err, sizeof(err)) != 0,
		              "accepted: %s", bad[i]);
		ck_assert_ptr_nonnull(strstr(err, "t.conf:1: "));
	}
}
END_TEST

START_TEST(test_milter_keys)
{
	struct config cfg;
	char err[512];
	const char ok[] = "Socket inet:8891@127.0.0.1\nUMask 002\n"
	                  "Syslog No\nSyslogFacility local3\nCheckWait 0.5\n"
	                  "UserID authready:postfix\nOnPending quarantine\n"
	                  "InternalHosts 10.0.0.0/8, ::1\nMode monitor\n"
	                  "MilterTimeout 5m\n";
	static const char *const bad[] = {
	    "Socket tcp:1@x\n",    "Socket inet:0@127.0.0.1\n",
	    "Socket inet:70000\n", "Socket unix:relative\n",
	    "UMask 8\n",           "UMask 01777\n",
	    "Syslog maybe\n",      "SyslogFacility kern9\n",
	    "CheckWait 0\n",       "OnUnknown reject\n",
	    "OnPending bounce\n",  "InternalHosts 10.0.0.0/33\n",
	    "Mode loud\n",         "NoSuchPolicyKey x\n",
	    "OnVerified\n",        "MilterTimeout 0\n",
	    "MilterTimeout 25h\n", "MilterTimeout -1\n",
	    "MilterTimeout 1.5\n",
	};
	size_t i;

	config_defaults(&cfg);
	ck_assert(cfg.syslog);
	ck_assert_uint_eq(cfg.check_wait_ms, 2000);
	ck_assert_uint_eq(cfg.umask, 007);
	ck_assert_int_eq(cfg.milter_timeout, 600);
	ck_assert_msg(
	    config_parse(ok, strlen(ok), "m.conf", &cfg, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_str_eq(cfg.socket, "inet:8891@127.0.0.1");
	ck_assert_uint_eq(cfg.umask, 002);
	ck_assert(!cfg.syslog);
	ck_assert_str_eq(cfg.syslog_facility, "local3");
	ck_assert_uint_eq(cfg.check_wait_ms, 500);
	ck_assert_int_eq(cfg.milter_timeout, 300);
	ck_assert_int_eq(cfg.policy.on[POLICY_ON_PENDING], POLICY_QUARANTINE);
	ck_assert_int_eq(cfg.policy.mode, POLICY_MODE_MONITOR);
	ck_assert(netlist_match_text(&cfg.policy.internal_hosts, "10.1.2.3"));
	ck_assert(!netlist_match_text(&cfg.policy.internal_hosts, "127.0.0.1"));
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		config_defaults(&cfg);
		ck_assert_msg(config_parse(bad[i], strlen(bad[i]), "m.conf",
		                           &cfg, err, sizeof(err)) != 0,
		              "accepted: %s", bad[i]);
		ck_assert_msg(strstr(err, "m.conf:1: ") != NULL, "%s", err);
	}
}
END_TEST

/* door - config_check_door of text on the defaults: 0 or -1, err. */
static int
door(const char *text, const char *socket, char *err)
{
	struct config cfg;

	parse_ok(text, &cfg);
	err[0] = '\0';
	return config_check_door(&cfg, socket, err, 512);
}

/* A queue ID reaching the milter is held and later released: a policy
 * that can quarantine needs a door only the MTA can open. */
START_TEST(test_door)
{
	char err[512];

	/* the defaults: a unix socket, UMask 007, no quarantine */
	ck_assert_int_eq(door("", NULL, err), 0);
	/* TCP without quarantine: nothing to forge */
	ck_assert_int_eq(door("Socket inet:8891@127.0.0.1\n", NULL, err), 0);
	ck_assert_int_eq(door("Socket inet:8891@127.0.0.1\n"
	                      "OnPending quarantine\nMode monitor\n",
	                      NULL, err),
	                 0);
	/* TCP and a quarantine action, by On<Situation> or DomainActions */
	ck_assert_int_eq(door("Socket inet:8891@127.0.0.1\n"
	                      "OnPending quarantine\n",
	                      NULL, err),
	                 -1);
	ck_assert_ptr_nonnull(strstr(err, "any local user can connect to "
	                                  "inet:8891@127.0.0.1"));
	ck_assert_ptr_nonnull(strstr(err, "UnsafeInetQuarantine yes"));
	ck_assert_int_eq(door("Socket inet6:8891@[::1]\n"
	                      "DomainActions shop.example quarantine pending\n",
	                      NULL, err),
	                 -1);
	/* the operator accepts the risk: allowed, with the queue check */
	ck_assert_int_eq(door("Socket inet:8891@127.0.0.1\n"
	                      "OnPending quarantine\n"
	                      "UnsafeInetQuarantine yes\n",
	                      NULL, err),
	                 0);
	ck_assert_int_eq(door("Socket inet:8891@127.0.0.1\n"
	                      "OnPending quarantine\n"
	                      "UnsafeInetQuarantine yes\n"
	                      "HoldQueueCommand none\n",
	                      NULL, err),
	                 -1);
	ck_assert_ptr_nonnull(strstr(err, "needs HoldQueueCommand"));
	/* a unix socket every local user may write */
	ck_assert_int_eq(door("OnPending quarantine\nUMask 000\n", NULL, err),
	                 -1);
	ck_assert_ptr_nonnull(strstr(err, "UMask 000"));
	ck_assert_int_eq(door("OnPending quarantine\nUMask 002\n", NULL, err),
	                 0);
	/* a reload is judged with the socket the daemon listens on */
	ck_assert_int_eq(
	    door("OnPending quarantine\n", "inet:8891@127.0.0.1", err), -1);
	ck_assert_int_eq(door("Socket inet:8891@127.0.0.1\n"
	                      "OnPending quarantine\n",
	                      "local:/run/authready/authready.sock", err),
	                 0);
}
END_TEST

/* FleetRefresh: yes by default; "no" leaves a host's due rounds to the
 * fleet's other checkers, so it needs a fleet (StoreDSN). */
START_TEST(test_fleet_refresh)
{
	struct config cfg;
	char err[512];

	parse_ok("", &cfg);
	ck_assert(cfg.fleet_refresh);
	ck_assert_int_eq(config_check_fleet(&cfg, err, sizeof(err)), 0);
	parse_ok("FleetRefresh no\n"
	         "StoreDSN postgresql://authready@db.example/authready\n",
	         &cfg);
	ck_assert(!cfg.fleet_refresh);
	ck_assert_int_eq(config_check_fleet(&cfg, err, sizeof(err)), 0);
	parse_ok("FleetRefresh no\n", &cfg);
	err[0] = '\0';
	ck_assert_int_eq(config_check_fleet(&cfg, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "FleetRefresh no needs StoreDSN"));
	parse_ok("FleetRefresh no\nFleetRefresh yes\n", &cfg);
	ck_assert(cfg.fleet_refresh);
	config_defaults(&cfg);
	ck_assert_int_ne(config_parse("FleetRefresh sometimes\n", 22, "m.conf",
	                              &cfg, err, sizeof(err)),
	                 0);
	ck_assert_ptr_nonnull(strstr(err, "m.conf:1: "));
}
END_TEST

/* PolicySocket and PolicyAcceptOK: the policy door's keys. */
START_TEST(test_policy_door_keys)
{
	static const char *const bad[] = {
	    "PolicySocket unix:relative\n", "PolicySocket inet:0@127.0.0.1\n",
	    "PolicySocket tcp:10040\n",     "PolicySocket\n",
	    "PolicyAcceptOK perhaps\n",
	};
	struct config cfg;
	char err[512];

	config_defaults(&cfg);
	ck_assert_str_eq(cfg.policy_socket, ""); /* no door by default */
	ck_assert(!cfg.policy_accept_ok);
	parse_ok("PolicySocket unix:/var/spool/postfix/authready/p.sock\n"
	         "PolicyAcceptOK yes\n",
	         &cfg);
	ck_assert_str_eq(cfg.policy_socket,
	                 "unix:/var/spool/postfix/authready/p.sock");
	ck_assert(cfg.policy_accept_ok);
	parse_ok("PolicySocket inet:10040@127.0.0.1\n", &cfg);
	ck_assert_str_eq(cfg.policy_socket, "inet:10040@127.0.0.1");
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		ck_assert_msg(parse(bad[i], &cfg, err) == -1, "accepted: %s",
		              bad[i]);
	/* the door's socket is judged as the milter's (snapshot.c) */
	ck_assert_int_eq(door("PolicySocket inet:10040@127.0.0.1\n"
	                      "OnPending quarantine\n",
	                      "inet:10040@127.0.0.1", err),
	                 -1);
	ck_assert_ptr_nonnull(strstr(err, "UnsafeInetQuarantine yes"));
}
END_TEST

/* MetricsListen: off by default, loopback for a bare port, any numeric
 * address written out; names and bad ports refused. */
START_TEST(test_metrics_listen)
{
	static const char *const bad[] = {
	    "MetricsListen localhost:9125\n",  "MetricsListen 127.0.0.1:0\n",
	    "MetricsListen 127.0.0.1:65536\n", "MetricsListen ::1:9125\n",
	    "MetricsListen [::1]9125\n",       "MetricsListen 127.0.0.1:\n",
	    "MetricsListen 9125x\n",           "MetricsListen 1.2.3:9125\n",
	    "MetricsListen []:9125\n",         "MetricsListen :9125\n",
	};
	struct config cfg;
	char err[512];

	config_defaults(&cfg);
	ck_assert(!cfg.metrics_listen.on);
	parse_ok("MetricsListen 9125\n", &cfg);
	ck_assert(cfg.metrics_listen.on);
	ck_assert_str_eq(cfg.metrics_listen.addr, "127.0.0.1");
	ck_assert_uint_eq(cfg.metrics_listen.port, 9125);
	ck_assert(cfg.metrics_listen.loopback);
	parse_ok("MetricsListen 127.0.0.2:80\n", &cfg);
	ck_assert_str_eq(cfg.metrics_listen.addr, "127.0.0.2");
	ck_assert(cfg.metrics_listen.loopback);
	parse_ok("MetricsListen [::1]:9125\n", &cfg);
	ck_assert_int_eq(cfg.metrics_listen.family, AF_INET6);
	ck_assert_str_eq(cfg.metrics_listen.addr, "::1");
	ck_assert(cfg.metrics_listen.loopback);
	parse_ok("MetricsListen 0.0.0.0:9125\n", &cfg);
	ck_assert(cfg.metrics_listen.on);
	ck_assert(!cfg.metrics_listen.loopback); /* written out: allowed */
	parse_ok("MetricsListen [2001:db8::1]:9125\n", &cfg);
	ck_assert(!cfg.metrics_listen.loopback);
	parse_ok("MetricsListen off\n", &cfg);
	ck_assert(!cfg.metrics_listen.on);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		ck_assert_msg(parse(bad[i], &cfg, err) == -1, "accepted: %s",
		              bad[i]);
		ck_assert_ptr_nonnull(strstr(err, "[IPV6]:PORT"));
	}
}
END_TEST

/* APIMetricsListen: authready-api's own, off by default, parsed as
 * MetricsListen and independent of it. */
START_TEST(test_api_metrics_listen)
{
	struct config cfg;
	char err[512];

	config_defaults(&cfg);
	ck_assert(!cfg.api_metrics_listen.on);
	parse_ok("MetricsListen 9125\nAPIMetricsListen 9126\n", &cfg);
	ck_assert(cfg.api_metrics_listen.on);
	ck_assert_str_eq(cfg.api_metrics_listen.addr, "127.0.0.1");
	ck_assert_uint_eq(cfg.api_metrics_listen.port, 9126);
	ck_assert(cfg.api_metrics_listen.loopback);
	ck_assert_uint_eq(cfg.metrics_listen.port, 9125);
	parse_ok("APIMetricsListen [::1]:9127\n", &cfg);
	ck_assert_int_eq(cfg.api_metrics_listen.family, AF_INET6);
	ck_assert(!cfg.metrics_listen.on);
	ck_assert_msg(parse("APIMetricsListen localhost:9126\n", &cfg, err) ==
	                  -1,
	              "a name accepted");
	ck_assert_ptr_nonnull(strstr(err, "APIMetricsListen"));
}
END_TEST

START_TEST(test_hold_queue_command)
{
	struct config cfg;
	char err[512];

	config_defaults(&cfg);
	ck_assert_str_eq(cfg.hold_queue_command, "/usr/sbin/postqueue -j");
	ck_assert(!cfg.unsafe_inet_quarantine);
	parse_ok("HoldQueueCommand none\n", &cfg);
	ck_assert_str_eq(cfg.hold_queue_command, "");
	parse_ok("HoldQueueCommand /usr/bin/sudo -n /usr/sbin/postqueue -j\n",
	         &cfg);
	ck_assert_str_eq(cfg.hold_queue_command,
	                 "/usr/bin/sudo -n /usr/sbin/postqueue -j");
	ck_assert_int_eq(parse("HoldQueueCommand postqueue -j\n", &cfg, err),
	                 -1);
	ck_assert_int_eq(parse("UnsafeInetQuarantine perhaps\n", &cfg, err),
	                 -1);
}
END_TEST

/* MTA: postfix (default) or sendmail; with sendmail, a HoldQueueCommand
 * that is not postqueue (none, or Sendmail's listing) and a
 * ReleaseCommand that is not postsuper. */
START_TEST(test_mta)
{
	struct config cfg;
	char err[512];

	config_defaults(&cfg);
	ck_assert_int_eq(cfg.mta, CONFIG_MTA_POSTFIX);
	parse_ok("MTA Postfix\n", &cfg);
	ck_assert_int_eq(cfg.mta, CONFIG_MTA_POSTFIX);
	parse_ok("MTA sendmail\nHoldQueueCommand none\n"
	         "ReleaseCommand /usr/bin/sudo -n "
	         "/usr/local/sbin/authready-sendmail-release\n",
	         &cfg);
	ck_assert_int_eq(cfg.mta, CONFIG_MTA_SENDMAIL);
	parse_ok("MTA sendmail\n"
	         "HoldQueueCommand /usr/bin/sudo -n "
	         "/usr/local/sbin/authready-sendmail-queue\n"
	         "ReleaseCommand /usr/bin/sudo -n "
	         "/usr/local/sbin/authready-sendmail-release\n",
	         &cfg);
	ck_assert_str_eq(cfg.hold_queue_command,
	                 "/usr/bin/sudo -n "
	                 "/usr/local/sbin/authready-sendmail-queue");
	ck_assert_int_eq(parse("MTA exim\n", &cfg, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "postfix or sendmail"));
	/* the defaults are Postfix's commands */
	ck_assert_int_eq(parse("MTA sendmail\n", &cfg, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "not postqueue"));
	ck_assert_int_eq(parse("MTA sendmail\n"
	                       "ReleaseCommand /usr/local/sbin/x\n"
	                       "HoldQueueCommand /usr/bin/postqueue -j\n",
	                       &cfg, err),
	                 -1);
	ck_assert_ptr_nonnull(strstr(err, "authready-sendmail-queue"));
	ck_assert_int_eq(
	    parse("MTA sendmail\nHoldQueueCommand none\n", &cfg, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "not postsuper"));
	ck_assert_int_eq(parse("HoldQueueCommand none\n"
	                       "ReleaseCommand /usr/local/sbin/x\n"
	                       "MTA sendmail\n",
	                       &cfg, err),
	                 0);
	/* the policy door is Postfix's protocol */
	ck_assert_int_eq(parse("HoldQueueCommand none\n"
	                       "ReleaseCommand /usr/local/sbin/x\n"
	                       "PolicySocket unix:/run/authready/policy\n"
	                       "MTA sendmail\n",
	                       &cfg, err),
	                 -1);
	ck_assert_ptr_nonnull(strstr(err, "PolicySocket"));
}
END_TEST

START_TEST(test_check_timeout)
{
	static const char *const bad[] = {
	    "CheckTimeout 0\n",
	    "CheckTimeout 301\n",
	    "CheckTimeout 2s\n",
	    "CheckTimeout\n",
	};
	struct config cfg;
	char err[256];
	size_t i;

	/* the overall budget of one check: 20 s unless set */
	config_defaults(&cfg);
	ck_assert_uint_eq(cfg.check_timeout_ms, 20000);
	ck_assert_msg(config_parse("CheckTimeout 2.5\n", 17, "b.conf", &cfg,
	                           err, sizeof(err)) == 0,
	              "%s", err);
	ck_assert_uint_eq(cfg.check_timeout_ms, 2500);
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		config_defaults(&cfg);
		ck_assert_msg(config_parse(bad[i], strlen(bad[i]), "b.conf",
		                           &cfg, err, sizeof(err)) != 0,
		              "accepted: %s", bad[i]);
		ck_assert_msg(strstr(err, "b.conf:1: CheckTimeout") != NULL,
		              "%s", err);
	}
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("configfile");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_check_timeout);
	tcase_add_test(tc, test_all_keys);
	tcase_add_test(tc, test_keys_case_insensitive);
	tcase_add_test(tc, test_later_wins);
	tcase_add_test(tc, test_comments_blank_whitespace);
	tcase_add_test(tc, test_value_with_spaces);
	tcase_add_test(tc, test_crlf_and_no_final_newline);
	tcase_add_test(tc, test_not_nul_terminated);
	tcase_add_test(tc, test_unknown_key);
	tcase_add_test(tc, test_missing_value);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_parse_timeout);
	tcase_add_test(tc, test_servers);
	tcase_add_test(tc, test_domains);
	tcase_add_test(tc, test_selector_length);
	tcase_add_test(tc, test_key_file_length);
	tcase_add_test(tc, test_policy);
	tcase_add_test(tc, test_nul_and_controls);
	tcase_add_test(tc, test_long_line);
	tcase_add_test(tc, test_error_buffer_small);
	tcase_add_test(tc, test_refresh_keys);
	tcase_add_test(tc, test_milter_keys);
	tcase_add_test(tc, test_door);
	tcase_add_test(tc, test_fleet_refresh);
	tcase_add_test(tc, test_policy_door_keys);
	tcase_add_test(tc, test_metrics_listen);
	tcase_add_test(tc, test_api_metrics_listen);
	tcase_add_test(tc, test_hold_queue_command);
	tcase_add_test(tc, test_mta);
	suite_add_tcase(s, tc);
	tc = tcase_create("load");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_load);
	tcase_add_test(tc, test_load_errors_name_path);
	tcase_add_test(tc, test_load_missing);
	tcase_add_test(tc, test_load_fifo);
	tcase_add_test(tc, test_load_too_big);
	tcase_add_test(tc, test_sample);
	tcase_add_test(tc, test_fleet_keys);
	tcase_add_test(tc, test_api_keys);
	tcase_add_test(tc, test_webhook_keys);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
