/*
 * apitoken.c - authready-api's bearer tokens and the failure throttle.
 *
 * SYNOPSIS
 *	int apitoken_parse(buf, len, set, err, errlen);
 *	int apitoken_load(path, set, err, errlen);
 *	void apitoken_free(set);
 *	enum apitoken_scope apitoken_check(set, token, len);
 *	const char *apitoken_bearer(header, len);
 *	int64_t apitoken_wait_ms(t, addr, now_ms);
 *	void apitoken_failed(t, addr, now_ms);
 *	void apitoken_succeeded(t, addr);
 *
 * DESCRIPTION
 *	A token file line is "TOKEN SCOPE": a token of APITOKEN_MIN to
 *	APITOKEN_MAX printable octets without spaces, and read or write.
 *	Blank lines and lines starting with "#" are skipped.  The file is
 *	refused when its group or others may read or write it (it holds
 *	secrets, as StoreDSNPasswordFile does), and it is read through
 *	safefile_read().  Only the SHA-256 digest of each token is kept;
 *	apitoken_check() digests the presented token and compares it with
 *	every entry by CRYPTO_memcmp(), never stopping early, so the time
 *	taken says nothing about which octets matched.
 *
 *	The throttle is a fixed table of APITOKEN_THROTTLE_SLOTS addresses
 *	(open addressing over 8 slots; a full neighbourhood gives up its
 *	least recent address).  Past APITOKEN_THROTTLE_FREE failures an
 *	address waits 1 s, then twice as long at each further failure, up to
 *	APITOKEN_THROTTLE_MAX_MS; APITOKEN_THROTTLE_FORGET_MS without a
 *	failure forgets it.  The caller locks the table.
 *
 * DIAGNOSTICS
 *	apitoken_parse() and apitoken_load(): -1 with a sentence in err.
 */
#include "apitoken.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "safefile.h"

#define APITOKEN_PROBES 8

/* The scope words, by value. */
static const struct {
	const char *word;
	enum apitoken_scope scope;
} apitoken_scopes[] = {
    {"read", APITOKEN_READ},
    {"write", APITOKEN_WRITE},
};

static pthread_once_t apitoken_once = PTHREAD_ONCE_INIT;
static EVP_MD *apitoken_sha256;        /* fetched once: not per request */
static pthread_key_t apitoken_ctx_key; /* a digest context per thread */
static bool apitoken_ctx_keyed;

/* apitoken_ctx_free - a thread's digest context, at the thread's end. */
static void
apitoken_ctx_free(void *ctx)
{
	EVP_MD_CTX_free(ctx);
}

/* apitoken_fetch - the SHA-256 implementation, for every thread. */
static void
apitoken_fetch(void)
{
	apitoken_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	apitoken_ctx_keyed =
	    pthread_key_create(&apitoken_ctx_key, apitoken_ctx_free) == 0;
}

/* apitoken_ctx - the calling thread's digest context, made at its first
 * token (a request's check allocates nothing); NULL when out of memory. */
static EVP_MD_CTX *
apitoken_ctx(void)
{
	EVP_MD_CTX *ctx;

	if (!apitoken_ctx_keyed)
		return NULL;
	if ((ctx = pthread_getspecific(apitoken_ctx_key)) == NULL &&
	    (ctx = EVP_MD_CTX_new()) != NULL &&
	    pthread_setspecific(apitoken_ctx_key, ctx) != 0) {
		EVP_MD_CTX_free(ctx);
		ctx = NULL;
	}
	return ctx;
}

/* apitoken_digest - SHA-256 of text[0..len). */
static void
apitoken_digest(const char *text, size_t len, unsigned char out[32])
{
	const EVP_MD *md;
	EVP_MD_CTX *ctx;
	unsigned int n = 32;

	pthread_once(&apitoken_once, apitoken_fetch);
	md = apitoken_sha256 ? apitoken_sha256 : EVP_sha256();
	if ((ctx = apitoken_ctx()) != NULL) {
		if (EVP_DigestInit_ex2(ctx, md, NULL) != 1 ||
		    EVP_DigestUpdate(ctx, text, len) != 1 ||
		    EVP_DigestFinal_ex(ctx, out, &n) != 1)
			memset(out, 0, 32);
		return;
	}
	if (EVP_Digest(text, len, out, &n, md, NULL) != 1)
		memset(out, 0, 32);
}

/* apitoken_line - one line "TOKEN SCOPE" into e; 0, 1 to skip, -1 bad. */
static int
apitoken_line(const char *line, size_t len, struct apitoken_entry *e,
              const char **why)
{
	size_t i = 0, tok, toklen, w, wlen, k;

	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i == len || line[i] == '#')
		return 1;
	for (tok = i; i < len && line[i] > ' ' && line[i] < 0x7f; i++)
		continue;
	toklen = i - tok;
	if (i < len && line[i] != ' ' && line[i] != '\t') {
		*why = "the token has a character that is not printable ASCII";
		return -1;
	}
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	for (w = i; i < len && line[i] != ' ' && line[i] != '\t'; i++)
		continue;
	wlen = i - w;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (toklen < APITOKEN_MIN || toklen > APITOKEN_MAX) {
		*why = "a token has 16 to 256 characters";
		return -1;
	}
	if (wlen == 0 || i != len) {
		*why = "expected TOKEN SCOPE (read or write)";
		return -1;
	}
	for (k = 0; k < sizeof(apitoken_scopes) / sizeof(*apitoken_scopes); k++)
		if (strlen(apitoken_scopes[k].word) == wlen &&
		    strncasecmp(apitoken_scopes[k].word, line + w, wlen) == 0)
			break;
	if (k == sizeof(apitoken_scopes) / sizeof(*apitoken_scopes)) {
		*why = "the scope is read or write";
		return -1;
	}
	apitoken_digest(line + tok, toklen, e->digest);
	e->scope = apitoken_scopes[k].scope;
	return 0;
}

int
apitoken_parse(const char *buf, size_t len, struct apitoken_set *set, char *err,
               size_t errlen)
{
	struct apitoken_entry e;
	const char *why = NULL;
	size_t pos = 0, lineno = 0, end, cap = 0;
	int rc;

	memset(set, 0, sizeof(*set));
	while (pos < len) {
		lineno++;
		for (end = pos; end < len && buf[end] != '\n'; end++)
			continue;
		rc = apitoken_line(buf + pos,
		                   end > pos && buf[end - 1] == '\r'
		                       ? end - pos - 1
		                       : end - pos,
		                   &e, &why);
		pos = end + 1;
		if (rc == 1)
			continue;
		if (rc < 0 || set->count == APITOKEN_COUNT_MAX) {
			snprintf(err, errlen, "line %zu: %s", lineno,
			         rc < 0 ? why : "too many tokens");
			apitoken_free(set);
			return -1;
		}
		if (set->count == cap) {
			struct apitoken_entry *grown;

			cap = cap ? cap * 2 : 8;
			grown = realloc(set->tokens, cap * sizeof(*grown));
			if (grown == NULL) {
				snprintf(err, errlen, "out of memory");
				apitoken_free(set);
				return -1;
			}
			set->tokens = grown;
		}
		set->tokens[set->count++] = e;
	}
	if (set->count == 0) {
		snprintf(err, errlen, "no tokens");
		return -1;
	}
	return 0;
}

int
apitoken_load(const char *path, struct apitoken_set *set, char *err,
              size_t errlen)
{
	char why[SAFEFILE_ERR_MAX], msg[APITOKEN_ERR_MAX], *text;
	struct stat sb;
	size_t len = 0;
	int rc;

	memset(set, 0, sizeof(*set));
	if (safefile_read(path, APITOKEN_FILE_MAX, 0, &text, &len, &sb, why,
	                  sizeof(why)) != 0) {
		snprintf(err, errlen, "APITokenFile %s", why);
		return -1;
	}
	if ((sb.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		explicit_bzero(text, len);
		free(text);
		snprintf(err, errlen,
		         "APITokenFile %s: its group or others may read or "
		         "write it (mode %03o); chmod 600 it",
		         path, (unsigned)(sb.st_mode & 0777));
		return -1;
	}
	rc = apitoken_parse(text, len, set, msg, sizeof(msg));
	explicit_bzero(text, len);
	free(text);
	if (rc != 0)
		snprintf(err, errlen, "APITokenFile %s: %s", path, msg);
	return rc;
}

void
apitoken_free(struct apitoken_set *set)
{
	if (set->tokens != NULL)
		explicit_bzero(set->tokens, set->count * sizeof(*set->tokens));
	free(set->tokens);
	set->tokens = NULL;
	set->count = 0;
}

enum apitoken_scope
apitoken_check(const struct apitoken_set *set, const char *token, size_t len)
{
	unsigned char d[32];
	enum apitoken_scope scope = APITOKEN_NONE;
	size_t i;

	apitoken_digest(token, len, d);
	for (i = 0; i < set->count; i++) {
		/* No early exit: every entry costs the same. */
		int same = CRYPTO_memcmp(d, set->tokens[i].digest, 32) == 0;

		scope |= same ? set->tokens[i].scope : APITOKEN_NONE;
	}
	if (len < APITOKEN_MIN || len > APITOKEN_MAX)
		return APITOKEN_NONE;
	return (scope & APITOKEN_WRITE) ? APITOKEN_WRITE : scope;
}

const char *
apitoken_bearer(const char *header, size_t *len)
{
	const char *p;

	if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0)
		return NULL;
	for (p = header + 7; *p == ' '; p++)
		continue;
	*len = strlen(p);
	while (*len > 0 && (p[*len - 1] == ' ' || p[*len - 1] == '\t'))
		(*len)--;
	return *len > 0 ? p : NULL;
}

/* apitoken_hash - FNV-1a of an address key. */
static size_t
apitoken_hash(const unsigned char addr[APITOKEN_ADDR_MAX])
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < APITOKEN_ADDR_MAX; i++)
		h = (h ^ addr[i]) * 16777619u;
	return h % APITOKEN_THROTTLE_SLOTS;
}

/* apitoken_find - addr's slot; with make, a slot for it (the least
 * recent of the neighbourhood when all are used); NULL otherwise. */
static struct apitoken_slot *
apitoken_find(struct apitoken_throttle *t,
              const unsigned char addr[APITOKEN_ADDR_MAX], bool make)
{
	struct apitoken_slot *victim = NULL;
	size_t h = apitoken_hash(addr), i;

	for (i = 0; i < APITOKEN_PROBES; i++) {
		struct apitoken_slot *s =
		    &t->slots[(h + i) % APITOKEN_THROTTLE_SLOTS];

		if (s->used && memcmp(s->addr, addr, APITOKEN_ADDR_MAX) == 0)
			return s;
		if (victim == NULL || !s->used ||
		    (victim->used && s->last_ms < victim->last_ms))
			victim = victim != NULL && !victim->used ? victim : s;
	}
	if (!make)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	memcpy(victim->addr, addr, APITOKEN_ADDR_MAX);
	victim->used = true;
	return victim;
}

int64_t
apitoken_wait_ms(struct apitoken_throttle *t,
                 const unsigned char addr[APITOKEN_ADDR_MAX], int64_t now_ms)
{
	struct apitoken_slot *s = apitoken_find(t, addr, false);

	if (s == NULL || s->until_ms <= now_ms)
		return 0;
	return s->until_ms - now_ms;
}

void
apitoken_failed(struct apitoken_throttle *t,
                const unsigned char addr[APITOKEN_ADDR_MAX], int64_t now_ms)
{
	struct apitoken_slot *s = apitoken_find(t, addr, true);
	int64_t wait;
	uint32_t over;

	if (s->failures > 0 &&
	    now_ms - s->last_ms > APITOKEN_THROTTLE_FORGET_MS)
		s->failures = 0;
	if (s->failures < UINT32_MAX)
		s->failures++;
	s->last_ms = now_ms;
	if (s->failures <= APITOKEN_THROTTLE_FREE)
		return;
	over = s->failures - APITOKEN_THROTTLE_FREE - 1;
	wait = over >= 16 ? APITOKEN_THROTTLE_MAX_MS : (int64_t)1000 << over;
	if (wait > APITOKEN_THROTTLE_MAX_MS)
		wait = APITOKEN_THROTTLE_MAX_MS;
	s->until_ms = now_ms + wait;
}

void
apitoken_succeeded(struct apitoken_throttle *t,
                   const unsigned char addr[APITOKEN_ADDR_MAX])
{
	struct apitoken_slot *s = apitoken_find(t, addr, false);

	if (s != NULL)
		memset(s, 0, sizeof(*s));
}
