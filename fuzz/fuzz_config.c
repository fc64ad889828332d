/*
 * NAME
 *	fuzz_config - libFuzzer target for the authready.conf(5) parser
 * SYNOPSIS
 *	make -f fuzz/Makefile.fuzz top_srcdir=. builddir=BUILD all
 *	BUILD/fuzz/fuzz_config -dict=fuzz/dict/fuzz_config.dict CORPUS
 * DESCRIPTION
 *	Applies the input as the text of a config file to the built-in
 *	defaults with config_parse().
 *
 *	The list keys (InternalHosts, ExemptSenders, ExemptDomains,
 *	DomainActions) read a file when their value starts with "/", and a
 *	fuzzer must not open whatever path it makes up (a FIFO would block
 *	it, /dev or /proc files would make runs depend on the machine).  A
 *	value starts after a space or tab, so every "/" that follows a
 *	space or tab is turned into "." in the copy handed to the parser:
 *	no value can start with "/" and every other byte is unchanged.  The
 *	file branch reaches the same list parsers, which fuzz_policy drives
 *	with a file name as origin.
 *
 *	Aborts when a result breaks the contract of configfile.h: an error
 *	without a printable "(fuzz):LINE: " sentence, a config changed by a
 *	text that was refused, a text that is accepted once but refused or
 *	giving another config when applied again on its own result, or
 *	unterminated strings and out-of-range counts in an accepted config.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "configfile.h"
#include "fuzz_util.h"

#define FUZZ_FILENAME "(fuzz)"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* defang - no value may start with "/" (see above). */
static void
defang(char *text, size_t len)
{
	size_t i;

	for (i = 1; i < len; i++)
		if (text[i] == '/' &&
		    (text[i - 1] == ' ' || text[i - 1] == '\t'))
			text[i] = '.';
}

/* check_string - abort unless a fixed buffer holds a NUL. */
static void
check_string(const char *buf, size_t size)
{
	if (memchr(buf, '\0', size) == NULL)
		abort();
}

/* check_config - what an accepted config promises. */
static void
check_config(const struct config *c)
{
	const struct policy_config *p = &c->policy;

	check_string(c->selector, sizeof(c->selector));
	check_string(c->key_file, sizeof(c->key_file));
	check_string(c->mail_from, sizeof(c->mail_from));
	check_string(c->mx_host, sizeof(c->mx_host));
	check_string(c->spf_include, sizeof(c->spf_include));
	check_string(c->state_dir, sizeof(c->state_dir));
	check_string(c->sendmail_path, sizeof(c->sendmail_path));
	check_string(c->notify_from, sizeof(c->notify_from));
	check_string(c->release_command, sizeof(c->release_command));
	check_string(c->socket, sizeof(c->socket));
	check_string(c->user_id, sizeof(c->user_id));
	check_string(c->socket_group, sizeof(c->socket_group));
	check_string(c->pid_file, sizeof(c->pid_file));
	check_string(c->syslog_facility, sizeof(c->syslog_facility));
	check_string(p->reject_reply, sizeof(p->reject_reply));
	check_string(p->tempfail_reply, sizeof(p->tempfail_reply));
	check_string(p->dnserror_reply, sizeof(p->dnserror_reply));
	check_string(p->tag_header, sizeof(p->tag_header));
	check_string(c->fallback.address, sizeof(c->fallback.address));
	/* OnMailFromNotReady fallback is accepted only with an address */
	if (c->fallback.mode == FALLBACK_ON && c->fallback.address[0] == '\0')
		abort();
	if (c->egress.count > CONFIG_EGRESS_MAX ||
	    c->refresh_concurrency > CONFIG_CONCURRENCY_MAX ||
	    c->refresh_interval <= 0 || c->pending_window <= 0 ||
	    c->grace_period <= 0 || p->internal_hosts.count > NETLIST_MAX ||
	    p->exempt_senders.count > POLICY_EXEMPT_MAX ||
	    p->exempt_domains.count > POLICY_EXEMPT_MAX ||
	    p->overrides.count > POLICY_OVERRIDES_MAX ||
	    p->exempt_senders.used > POLICY_EXEMPT_POOL ||
	    p->exempt_domains.used > POLICY_EXEMPT_POOL ||
	    p->overrides.used > POLICY_OVERRIDES_POOL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config defaults, cfg, again;
	static int ready;
	char err[512], *text;

	if (!ready) {
		config_defaults(&defaults);
		ready = 1;
	}
	text = fuzz_dup(data, size);
	defang(text, size);
	cfg = defaults;
	err[0] = '\0';
	if (config_parse(text, size, FUZZ_FILENAME, &cfg, err, sizeof(err)) !=
	    0) {
		fuzz_printable(err, sizeof(err));
		if (strncmp(err, FUZZ_FILENAME ":", sizeof(FUZZ_FILENAME)) !=
		        0 ||
		    memcmp(&cfg, &defaults, sizeof(cfg)) != 0)
			abort();
		free(text);
		return 0;
	}
	check_config(&cfg);
	again = cfg;
	if (config_parse(text, size, FUZZ_FILENAME, &again, err, sizeof(err)) !=
	        0 ||
	    memcmp(&again, &cfg, sizeof(cfg)) != 0)
		abort();
	free(text);
	return 0;
}
