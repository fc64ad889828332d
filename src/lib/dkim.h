/*
 * dkim.h - DKIM key records (RFC 6376 section 3.6.1, RFC 8301, RFC 8463).
 *
 * SYNOPSIS
 *	#include "dkim.h"
 *
 *	The functions: see dkim.c.
 *
 * DESCRIPTION
 *	dkim_key_parse() validates the tag-list of one key record: syntax
 *	(section 3.2), v (must be first, "DKIM1"), k (rsa, ed25519), h, s, t, n,
 *	p (base64 of a SubjectPublicKeyInfo for RSA, of 32 raw octets for
 *	ed25519; empty means revoked).  RSA keys under 1024 bits are refused
 *	(RFC 8301 section 3.2).
 *
 *	dkim_evaluate() turns the DNS answer for SELECTOR._domainkey.DOMAIN into
 *	a check_result: exactly one key record, valid, not revoked and, when a
 *	private key was given, matching it.  RSA matching goes through
 *	libopendkim's dkim_test_key() with the record fed from our own answer
 *	via dkim_set_key_lookup(), so libopendkim never touches the network;
 *	ed25519 keys are compared through OpenSSL.
 */
#ifndef AUTHREADY_DKIM_H
#define AUTHREADY_DKIM_H

#include <stdbool.h>
#include <stddef.h>

struct dns_answer;
struct check_result;

enum dkim_key_type {
	DKIM_KEY_RSA,
	DKIM_KEY_ED25519,
};

struct dkim_key {
	enum dkim_key_type type;
	bool revoked;      /* p= empty */
	bool testing;      /* t=y */
	bool strict;       /* t=s */
	unsigned bits;     /* key size; 256 for ed25519 */
	char hashes[64];   /* h= as published, "" when absent */
	char services[64]; /* s= as published, "" when absent */
};

/* dkim_key_parse - 0 ok; -1 with a sentence in err. */
int dkim_key_parse(const unsigned char *rec, size_t len, struct dkim_key *key,
                   char *err, size_t errlen);

struct dkim_expect {
	const char *domain;   /* normalized signing domain */
	const char *selector; /* selector */
	const char *key_path; /* private key file, shown in messages */
	const char *key_pem;  /* its contents, or NULL: no match wanted */
	size_t key_pem_len;
};

/*
 * dkim_key_match - does the private key (PEM) match the key record?
 * 1 match, 0 mismatch, -1 error (unreadable key, ...) with err set.
 */
int dkim_key_match(const struct dkim_expect *exp, const unsigned char *rec,
                   size_t len, char *err, size_t errlen);

/* dkim_evaluate - fill res (name already set by the caller). */
void dkim_evaluate(const struct dns_answer *ans, const struct dkim_expect *exp,
                   struct check_result *res);

#endif
