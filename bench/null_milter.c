/*
 * NAME
 *	null_milter - a milter that decides nothing, for comparisons
 * SYNOPSIS
 *	null_milter SOCKET
 * DESCRIPTION
 *	The floor authready-milter is measured against: the same libmilter,
 *	registered with the same flags (SMFIF_QUARANTINE, SMFIF_ADDHDRS) and
 *	the same negotiation as src/milter/milter.c (the same SMFIP_NO* and
 *	SMFIP_NR_* bits kept from the MTA's offer, the same actions, the
 *	same macro list for MAIL when the MTA takes one), and the same
 *	callbacks, each doing nothing: connect answers only when the MTA
 *	wants an answer, MAIL FROM returns SMFIS_ACCEPT, abort and close
 *	continue.  So the difference between the two is the decision
 *	itself: reverse-path parse, store lookup, policy and the log line.
 *
 *	SOCKET is a libmilter socket spec (inet:PORT@HOST, unix:PATH).
 *	Runs in the foreground until SIGTERM or SIGINT.
 * DIAGNOSTICS
 *	Exit 0 after a clean stop, 1 when the socket cannot be opened,
 *	64 on a usage error.
 * SEE ALSO
 *	milter_load(1 in bench/), src/milter/milter.c milter_negotiate().
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <libmilter/mfapi.h>

/* Marks a connection whose connect needs no reply; never written. */
static const char null_nr_conn;

/* null_negotiate - keep what authready-milter keeps (milter.c). */
static sfsistat
null_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
               unsigned long f2, unsigned long f3, unsigned long *pf0,
               unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	static const unsigned long skip =
	    SMFIP_NOHELO | SMFIP_NORCPT | SMFIP_NOHDRS | SMFIP_NOEOH |
	    SMFIP_NOBODY | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_NR_CONN |
	    SMFIP_NR_HELO | SMFIP_NR_RCPT | SMFIP_NR_HDR | SMFIP_NR_EOH |
	    SMFIP_NR_BODY | SMFIP_NR_UNKN | SMFIP_NR_DATA;

	(void)f2;
	(void)f3;
	*pf0 = f0 & (SMFIF_QUARANTINE | SMFIF_ADDHDRS | SMFIF_SETSYMLIST);
	*pf1 = f1 & skip;
	*pf2 = 0;
	*pf3 = 0;
	if (*pf1 & SMFIP_NR_CONN)
		smfi_setpriv(ctx, (void *)&null_nr_conn);
	if (f0 & SMFIF_SETSYMLIST)
		smfi_setsymlist(ctx, SMFIM_ENVFROM, "i {auth_authen}");
	return SMFIS_CONTINUE;
}

/* null_connect - no reply when the MTA negotiated SMFIP_NR_CONN. */
static sfsistat
null_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *addr)
{
	(void)hostname;
	(void)addr;
	return smfi_getpriv(ctx) == &null_nr_conn ? SMFIS_NOREPLY
	                                          : SMFIS_CONTINUE;
}

/* null_envfrom - every sender is fine. */
static sfsistat
null_envfrom(SMFICTX *ctx, char **argv)
{
	(void)ctx;
	(void)argv;
	return SMFIS_ACCEPT;
}

/* null_eom - nothing to add. */
static sfsistat
null_eom(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

/* null_abort - nothing to forget. */
static sfsistat
null_abort(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

/* null_close - nothing to free. */
static sfsistat
null_close(SMFICTX *ctx)
{
	smfi_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

static struct smfiDesc null_description = {
    .xxfi_name = "null",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_QUARANTINE | SMFIF_ADDHDRS,
    .xxfi_connect = null_connect,
    .xxfi_envfrom = null_envfrom,
    .xxfi_eom = null_eom,
    .xxfi_abort = null_abort,
    .xxfi_close = null_close,
    .xxfi_negotiate = null_negotiate,
};

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fputs("usage: null_milter SOCKET\n", stderr);
		return 64;
	}
	umask(007); /* authready-milter's default UMask */
	if (smfi_register(null_description) != MI_SUCCESS ||
	    smfi_setconn(argv[1]) != MI_SUCCESS ||
	    smfi_opensocket(true) != MI_SUCCESS) {
		fprintf(stderr, "null_milter: cannot open %s\n", argv[1]);
		return 1;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
