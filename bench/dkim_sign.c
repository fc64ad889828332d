/*
 * dkim_sign.c - write one DKIM-signed test message for the benchmarks.
 *
 * SYNOPSIS
 *	dkim_sign KEYFILE SELECTOR DOMAIN OCTETS > MESSAGE
 *
 * DESCRIPTION
 *	Builds a plain-text message of about OCTETS octets (From, To,
 *	Subject, Date and Message-ID headers, body lines of 72 characters)
 *	from bench@DOMAIN, signs it with libopendkim (rsa-sha256,
 *	relaxed/relaxed, the PEM private key in KEYFILE, d=DOMAIN,
 *	s=SELECTOR) and writes it to standard output with LF line endings,
 *	the form smtp-source -F sends (it appends CRLF to every line).  The
 *	signature verifies when SELECTOR._domainkey.DOMAIN publishes the
 *	key's public half, as tests/zones does for 1234rpr and
 *	tests/keys/rsa2048.pem.
 *
 * EXIT STATUS
 *	0 written, 1 on a usage, key or signing error (with a message).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* gmtime_r when built alone */
#endif
#include <opendkim/dkim.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SIGN_KEY_MAX 16384
#define SIGN_LINE_LEN 72
#define SIGN_OCTETS_MAX (1 << 20)

static int
sign_fail(const char *what, DKIM *dkim)
{
	const char *why = dkim != NULL ? dkim_geterror(dkim) : NULL;

	fprintf(stderr, "dkim_sign: %s%s%s\n", what, why ? ": " : "",
	    why ? why : "");
	return 1;
}

/* sign_header - feed "Name: value" (no CRLF) and keep it for output. */
static int
sign_header(DKIM *dkim, char *out, size_t outlen, size_t *used,
    const char *hdr)
{
	size_t len = strlen(hdr);

	if (dkim_header(dkim, (u_char *)hdr, len) != DKIM_STAT_OK ||
	    *used + len + 1 >= outlen)
		return -1;
	memcpy(out + *used, hdr, len);
	*used += len;
	out[(*used)++] = '\n';
	out[*used] = '\0';
	return 0;
}

int
main(int argc, char **argv)
{
	static char key[SIGN_KEY_MAX], heads[4096];
	char hdr[512], line[SIGN_LINE_LEN + 3], stamp[64];
	DKIM_STAT st;
	DKIM_LIB *lib;
	DKIM *dkim;
	unsigned char *sig = NULL;
	size_t keylen, used = 0, sent = 0, siglen = 0;
	long octets;
	time_t now = time(NULL);
	struct tm tm;
	FILE *f;

	if (argc != 5 || (octets = strtol(argv[4], NULL, 10)) <= 0 ||
	    octets > SIGN_OCTETS_MAX) {
		fprintf(stderr,
		    "usage: dkim_sign KEYFILE SELECTOR DOMAIN OCTETS\n");
		return 1;
	}
	if ((f = fopen(argv[1], "r")) == NULL) {
		perror(argv[1]);
		return 1;
	}
	keylen = fread(key, 1, sizeof(key) - 1, f);
	fclose(f);
	key[keylen] = '\0';
	if ((lib = dkim_init(NULL, NULL)) == NULL)
		return sign_fail("dkim_init failed", NULL);
	dkim = dkim_sign(lib, (u_char *)"bench", NULL, (dkim_sigkey_t)key,
	    (u_char *)argv[2], (u_char *)argv[3], DKIM_CANON_RELAXED,
	    DKIM_CANON_RELAXED, DKIM_SIGN_RSASHA256, -1, &st);
	if (dkim == NULL)
		return sign_fail("dkim_sign failed", NULL);

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	snprintf(hdr, sizeof(hdr), "From: Bench <bench@%s>", argv[3]);
	if (sign_header(dkim, heads, sizeof(heads), &used, hdr) != 0)
		return sign_fail("header", dkim);
	if (sign_header(dkim, heads, sizeof(heads), &used,
		"To: <user@dest.example>") != 0 ||
	    sign_header(dkim, heads, sizeof(heads), &used,
		"Subject: authready benchmark message") != 0)
		return sign_fail("header", dkim);
	snprintf(hdr, sizeof(hdr), "Date: %s", stamp);
	if (sign_header(dkim, heads, sizeof(heads), &used, hdr) != 0)
		return sign_fail("header", dkim);
	snprintf(hdr, sizeof(hdr), "Message-ID: <bench.%ld@%s>", (long)now,
	    argv[3]);
	if (sign_header(dkim, heads, sizeof(heads), &used, hdr) != 0 ||
	    dkim_eoh(dkim) != DKIM_STAT_OK)
		return sign_fail("header", dkim);

	/* The body is built twice the same way: signed, then written. */
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			fputs("DKIM-Signature: ", stdout);
			for (size_t i = 0; i < siglen; i++)
				if (sig[i] != '\r') /* folded with CRLF */
					fputc(sig[i], stdout);
			fputc('\n', stdout);
			fputs(heads, stdout);
			fputc('\n', stdout);
		}
		for (sent = used; sent < (size_t)octets;
		     sent += SIGN_LINE_LEN + 2) {
			for (size_t i = 0; i < SIGN_LINE_LEN; i++)
				line[i] = (char)('a' +
				    (sent / (SIGN_LINE_LEN + 2) + i) % 26);
			if (pass == 1) {
				fwrite(line, 1, SIGN_LINE_LEN, stdout);
				fputc('\n', stdout);
				continue;
			}
			line[SIGN_LINE_LEN] = '\r';
			line[SIGN_LINE_LEN + 1] = '\n';
			if (dkim_body(dkim, (u_char *)line,
				SIGN_LINE_LEN + 2) != DKIM_STAT_OK)
				return sign_fail("body", dkim);
		}
		if (pass == 0) {
			if (dkim_eom(dkim, NULL) != DKIM_STAT_OK ||
			    dkim_getsighdr_d(dkim, strlen("DKIM-Signature: "),
				&sig, &siglen) != DKIM_STAT_OK)
				return sign_fail("signing failed", dkim);
		}
	}
	if (fflush(stdout) != 0)
		return sign_fail("write failed", NULL);
	dkim_free(dkim);
	dkim_close(lib);
	return 0;
}
