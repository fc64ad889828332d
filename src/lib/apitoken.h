/*
 * apitoken.h - authready-api's bearer tokens and the failure throttle.
 *
 * SYNOPSIS
 *	#include "apitoken.h"
 *
 *	The functions: see apitoken.c.
 *
 * DESCRIPTION
 *	APITokenFile holds one "TOKEN SCOPE" a line (scope read or write).
 *	Tokens are kept as SHA-256 digests and a presented one is compared
 *	with every digest in constant time.  The throttle remembers failed
 *	authentications per client address in a bounded table and tells how
 *	long an address must wait.
 */
#ifndef AUTHREADY_APITOKEN_H
#define AUTHREADY_APITOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define APITOKEN_MIN 16          /* octets of a token, at least */
#define APITOKEN_MAX 256         /* and at most */
#define APITOKEN_COUNT_MAX 1024  /* tokens in a file */
#define APITOKEN_FILE_MAX 524288 /* octets of a token file */
#define APITOKEN_ERR_MAX 4352

#define APITOKEN_THROTTLE_SLOTS 4096       /* client addresses remembered */
#define APITOKEN_THROTTLE_FREE 5           /* failures before any wait */
#define APITOKEN_THROTTLE_MAX_MS 60000     /* the longest wait */
#define APITOKEN_THROTTLE_FORGET_MS 600000 /* a quiet address is forgiven */
#define APITOKEN_ADDR_MAX 16               /* octets of an address key */

enum apitoken_scope {
	APITOKEN_NONE = 0,
	APITOKEN_READ = 1,
	APITOKEN_WRITE = 2, /* read too */
};

struct apitoken_entry {
	unsigned char digest[32];
	enum apitoken_scope scope;
};

struct apitoken_set {
	struct apitoken_entry *tokens;
	size_t count;
};

struct apitoken_slot {
	unsigned char addr[APITOKEN_ADDR_MAX];
	bool used;
	uint32_t failures;
	int64_t last_ms;  /* the last failure */
	int64_t until_ms; /* no authentication before this */
};

struct apitoken_throttle {
	struct apitoken_slot slots[APITOKEN_THROTTLE_SLOTS];
};

/* apitoken_parse - the text of a token file into set; 0, or -1 with
 * "line N: why" in err (the token never quoted). */
int apitoken_parse(const char *buf, size_t len, struct apitoken_set *set,
                   char *err, size_t errlen);

/* apitoken_load - the file at path: a regular file that neither group
 * nor others can read or write; 0, or -1 with err. */
int apitoken_load(const char *path, struct apitoken_set *set, char *err,
                  size_t errlen);

/* apitoken_free - release a set. */
void apitoken_free(struct apitoken_set *set);

/* apitoken_check - the scope of the presented token; APITOKEN_NONE when
 * it is not in set.  Every entry is compared, in constant time. */
enum apitoken_scope apitoken_check(const struct apitoken_set *set,
                                   const char *token, size_t len);

/* apitoken_bearer - the token of an Authorization header value
 * ("Bearer TOKEN", scheme in any case); NULL when there is none. */
const char *apitoken_bearer(const char *header, size_t *len);

/* apitoken_wait_ms - how long addr must wait before it may try again;
 * 0 now. */
int64_t apitoken_wait_ms(struct apitoken_throttle *t,
                         const unsigned char addr[APITOKEN_ADDR_MAX],
                         int64_t now_ms);

/* apitoken_failed - note a failure of addr at now_ms. */
void apitoken_failed(struct apitoken_throttle *t,
                     const unsigned char addr[APITOKEN_ADDR_MAX],
                     int64_t now_ms);

/* apitoken_succeeded - addr authenticated: its failures are forgotten. */
void apitoken_succeeded(struct apitoken_throttle *t,
                        const unsigned char addr[APITOKEN_ADDR_MAX]);

#endif
