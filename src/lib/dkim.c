/*
 * dkim.c - DKIM key record validation and key match.
 *
 *
 * SYNOPSIS
 *	#include "dkim.h"
 *
 *	int dkim_key_parse(rec, len, key, err, errlen)
 *	const unsigned char *rec;
 *	size_t len;
 *	struct dkim_key *key;
 *	char *err;
 *	size_t errlen;
 *
 *	int dkim_key_match(exp, rec, len, err, errlen)
 *	const struct dkim_expect *exp;
 *	const unsigned char *rec;
 *	size_t len;
 *	char *err;
 *	size_t errlen;
 *
 *	void dkim_evaluate(ans, exp, res)
 *	const struct dns_answer *ans;
 *	const struct dkim_expect *exp;
 *	struct check_result *res;
 *
 * DESCRIPTION
 *	dkim_key_parse() checks one DKIM key record (the TXT value at
 *	SELECTOR._domainkey.DOMAIN, strings already concatenated): the
 *	tag-list syntax of RFC 6376 section 3.2 (duplicate tags, control
 *	bytes and malformed tags are errors; unknown tags are ignored), then
 *	the key tags of section 3.6.1: v= (first, "DKIM1"), k= (rsa, or
 *	ed25519 per RFC 8463), h= (must allow sha256, RFC 8301), s= (must
 *	allow email), t= (y, s), n= (ignored) and p=.  An RSA p= must be the
 *	base64 of a DER SubjectPublicKeyInfo of at least 1024 bits (RFC 8301
 *	section 3.2); a bare PKCS#1 RSAPublicKey is refused with a sentence
 *	saying so.  An ed25519 p= must be 32 raw octets.  An empty p= is a
 *	revoked key: dkim_key_parse() succeeds with key->revoked set.
 *
 *	dkim_key_match() tells whether a private key (PEM) belongs to the
 *	record.  RSA keys are compared by libopendkim's dkim_test_key(), fed
 *	the record through a key lookup callback so that libopendkim never
 *	queries DNS itself; ed25519 keys are compared through OpenSSL.  A
 *	private key of another type than the record's k= is a mismatch.
 *
 *	dkim_evaluate() turns the DNS answer for the key name into a
 *	check_result (missing, temperror, fail or pass, with one sentence).
 *
 * DIAGNOSTICS
 *	dkim_key_parse() returns 0, or -1 with one sentence in err.
 *	dkim_key_match() returns 1 (match), 0 (mismatch, reason in err) or
 *	-1 (error: unusable record, unreadable key, ..., reason in err).
 *
 * SEE ALSO
 *	RFC 6376 (DKIM), RFC 8301 (algorithm update), RFC 8463 (ed25519).
 */
#include "dkim.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <opendkim/dkim.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "dnsmsg.h"
#include "report.h"
#include "sanitize.h"

#define DKIM_TAGS_MAX 64           /* tags in one record */
#define DKIM_KEY_BYTES_MAX 4096    /* decoded p=; RSA-16384 SPKI is ~2.1k */
#define DKIM_RSA_BITS_MIN 1024     /* RFC 8301 section 3.2 */
#define DKIM_ED25519_BYTES 32      /* RFC 8463 section 4.2 */
#define DKIM_ED25519_SPKI_BYTES 44 /* the same key wrapped in an SPKI */
#define DKIM_PEM_MAX 65536         /* a private key file, in bytes */
#define DKIM_SHOW_MAX 40           /* record text quoted in a sentence */
#define DKIM_ERR_MAX 1024          /* a sentence before sanitizing */
#define DKIM_LABEL_MAX 256  /* selector or domain handed to libopendkim */
#define DKIM_LIBERR_MAX 256 /* libopendkim's error text */

struct dkim_tag {
	const unsigned char *name;
	size_t namelen;
	const unsigned char *val; /* without surrounding FWS */
	size_t vallen;
	size_t pos; /* offset of the name in the record */
};

struct dkim_taglist {
	size_t n;
	struct dkim_tag tags[DKIM_TAGS_MAX];
};

/* The decoded p= value. */
struct dkim_keybytes {
	size_t len;
	unsigned char data[DKIM_KEY_BYTES_MAX];
};

static const struct dkim_key_type_name {
	const char *name;
	enum dkim_key_type type;
	int evp_type;
	const char *label;   /* as shown to people */
	const char *article; /* the same, in a sentence */
} dkim_key_types[] = {
    {"rsa", DKIM_KEY_RSA, EVP_PKEY_RSA, "RSA", "an RSA"},
    {"ed25519", DKIM_KEY_ED25519, EVP_PKEY_ED25519, "ed25519", "an ed25519"},
};

#define DKIM_NKEY_TYPES (sizeof(dkim_key_types) / sizeof(*dkim_key_types))

/* dkim_err - format one sentence into err, if there is room for one. */
__attribute__((format(printf, 3, 4))) static void
dkim_err(char *err, size_t errlen, const char *fmt, ...)
{
	char raw[DKIM_ERR_MAX];
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	/* Sentences quote record text, which strangers wrote: the one
	 * funnel makes every one of them printable (TAB, CR, LF included). */
	sanitize_text(err, errlen, (const unsigned char *)raw, strlen(raw));
}

/* dkim_show_len - how much of a value to quote in a sentence. */
static int
dkim_show_len(size_t len)
{
	return (int)(len > DKIM_SHOW_MAX ? DKIM_SHOW_MAX : len);
}

/* dkim_is_wsp - RFC 5234 WSP. */
static bool
dkim_is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* dkim_is_fws - at i: WSP, or a CRLF that the byte check let through.
 * Runs for every byte of a key: the common answer comes first. */
static inline bool
dkim_is_fws(const unsigned char *rec, size_t len, size_t i)
{
	if (rec[i] > ' ')
		return false;
	if (dkim_is_wsp(rec[i]))
		return true;
	return (rec[i] == '\r' && i + 1 < len && rec[i + 1] == '\n') ||
	       (rec[i] == '\n' && i > 0 && rec[i - 1] == '\r');
}

/* dkim_word_eq - does (s, len) spell word exactly (case-sensitive)? */
static bool
dkim_word_eq(const unsigned char *s, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(s, word, len) == 0;
}

/* dkim_check_bytes - printable ASCII, WSP, or CRLF followed by WSP. */
static int
dkim_check_bytes(const unsigned char *rec, size_t len, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = rec[i];

		if ((c >= 0x20 && c < 0x7f) || c == '\t')
			continue;
		if (c == '\r' && i + 2 < len && rec[i + 1] == '\n' &&
		    dkim_is_wsp(rec[i + 2])) {
			i++;
			continue;
		}
		dkim_err(err, errlen,
		         "The record contains %s (0x%02x) at position %zu; a "
		         "DKIM key record must be printable ASCII text.",
		         c == 0      ? "a NUL byte"
		         : c >= 0x80 ? "a non-ASCII byte"
		                     : "a control character",
		         c, i + 1);
		return -1;
	}
	return 0;
}

/* dkim_skip_fws - advance past folding white space. */
static size_t
dkim_skip_fws(const unsigned char *rec, size_t len, size_t i)
{
	while (i < len && dkim_is_fws(rec, len, i))
		i++;
	return i;
}

/* dkim_tag_name - scan ALPHA *ALNUMPUNC at i; returns its length. */
static size_t
dkim_tag_name(const unsigned char *rec, size_t len, size_t i)
{
	size_t n = 0;

	if (i >= len || !isalpha(rec[i]))
		return 0;
	while (i + n < len && (isalnum(rec[i + n]) || rec[i + n] == '_'))
		n++;
	return n;
}

/* dkim_tag_find - the tag called name, or NULL. */
static const struct dkim_tag *
dkim_tag_find(const struct dkim_taglist *tl, const char *name)
{
	size_t i;

	for (i = 0; i < tl->n; i++)
		if (dkim_word_eq(tl->tags[i].name, tl->tags[i].namelen, name))
			return &tl->tags[i];
	return NULL;
}

/* dkim_tag_add - append a tag, refusing duplicates and overflow. */
static int
dkim_tag_add(struct dkim_taglist *tl, const struct dkim_tag *tag, char *err,
             size_t errlen)
{
	size_t i;

	for (i = 0; i < tl->n; i++) {
		if (tl->tags[i].namelen == tag->namelen &&
		    memcmp(tl->tags[i].name, tag->name, tag->namelen) == 0) {
			dkim_err(
			    err, errlen,
			    "The tag %.*s= appears twice (positions %zu and "
			    "%zu); each tag may appear only once "
			    "(RFC 6376 section 3.2).",
			    dkim_show_len(tag->namelen), tag->name,
			    tl->tags[i].pos + 1, tag->pos + 1);
			return -1;
		}
	}
	if (tl->n >= DKIM_TAGS_MAX) {
		dkim_err(err, errlen,
		         "The record has more than %d tags; a DKIM key record "
		         "needs only v=, k= and p=.",
		         DKIM_TAGS_MAX);
		return -1;
	}
	tl->tags[tl->n++] = *tag;
	return 0;
}

/* dkim_tag_value - scan a tag-value from i to ';' or the end. */
static size_t
dkim_tag_value(const unsigned char *rec, size_t len, size_t i,
               struct dkim_tag *tag)
{
	size_t end = i;

	tag->val = rec + i;
	for (; i < len && rec[i] != ';'; i++)
		if (!dkim_is_fws(rec, len, i))
			end = i + 1;
	tag->vallen = end - (size_t)(tag->val - rec);
	return i;
}

/* dkim_taglist_parse - RFC 6376 section 3.2 tag-list; bytes pre-checked. */
static int
dkim_taglist_parse(const unsigned char *rec, size_t len,
                   struct dkim_taglist *tl, char *err, size_t errlen)
{
	struct dkim_tag tag;
	size_t i = 0;

	tl->n = 0;
	for (;;) {
		i = dkim_skip_fws(rec, len, i);
		if (i == len && tl->n > 0)
			return 0;
		if (i == len) {
			dkim_err(err, errlen,
			         "The record is empty; a DKIM "
			         "key record needs at least p=.");
			return -1;
		}
		tag.pos = i;
		tag.name = rec + i;
		tag.namelen = dkim_tag_name(rec, len, i);
		if (tag.namelen == 0) {
			dkim_err(
			    err, errlen,
			    "Expected a tag name at position %zu but found "
			    "'%c'; the record must be tag=value pairs "
			    "separated by ';'.",
			    i + 1, rec[i]);
			return -1;
		}
		i = dkim_skip_fws(rec, len, i + tag.namelen);
		if (i == len || rec[i] != '=') {
			dkim_err(
			    err, errlen,
			    "The tag \"%.*s\" at position %zu has no '='; the "
			    "record must be tag=value pairs separated by ';'.",
			    dkim_show_len(tag.namelen), tag.name, tag.pos + 1);
			return -1;
		}
		i = dkim_skip_fws(rec, len, i + 1);
		i = dkim_tag_value(rec, len, i, &tag);
		if (dkim_tag_add(tl, &tag, err, errlen) != 0)
			return -1;
		if (i == len)
			return 0;
		i++; /* the ';' */
	}
}

/*
 * dkim_list_next - next item of a colon-separated tag value, FWS trimmed.
 * Returns 1 with an item, 0 at the end, -1 on an empty item.
 */
static int
dkim_list_next(const struct dkim_tag *tag, size_t *i,
               const unsigned char **item, size_t *itemlen)
{
	const unsigned char *v = tag->val;
	size_t start, end;

	if (*i > tag->vallen)
		return 0;
	start = dkim_skip_fws(v, tag->vallen, *i);
	end = start;
	while (end < tag->vallen && v[end] != ':')
		end++;
	*i = end + 1;
	*item = v + start;
	while (end > start && dkim_is_fws(v, tag->vallen, end - 1))
		end--;
	*itemlen = end - start;
	return *itemlen == 0 ? -1 : 1;
}

/* dkim_list_has - does the colon list hold any of the words? -1 if bad. */
static int
dkim_list_has(const struct dkim_tag *tag, const char *word1, const char *word2,
              char *err, size_t errlen)
{
	const unsigned char *item;
	size_t i = 0, itemlen;
	int found = 0, r;

	while ((r = dkim_list_next(tag, &i, &item, &itemlen)) != 0) {
		if (r < 0) {
			dkim_err(
			    err, errlen,
			    "The tag %.*s=%.*s has an empty entry; write the "
			    "values separated by single ':' characters.",
			    dkim_show_len(tag->namelen), tag->name,
			    dkim_show_len(tag->vallen), tag->val);
			return -1;
		}
		if (dkim_word_eq(item, itemlen, word1) ||
		    (word2 != NULL && dkim_word_eq(item, itemlen, word2)))
			found = 1;
	}
	return found;
}

/* dkim_check_v - v= absent, or first and exactly DKIM1. */
static int
dkim_check_v(const struct dkim_taglist *tl, char *err, size_t errlen)
{
	const struct dkim_tag *v = dkim_tag_find(tl, "v");

	if (v == NULL)
		return 0;
	if (v != &tl->tags[0]) {
		dkim_err(err, errlen,
		         "The tag v= must come first in the record (RFC 6376 "
		         "section 3.6.1); start the record with v=DKIM1.");
		return -1;
	}
	if (!dkim_word_eq(v->val, v->vallen, "DKIM1")) {
		dkim_err(err, errlen,
		         "The record has v=%.*s; the only version is DKIM1 "
		         "(or leave v= out).",
		         dkim_show_len(v->vallen), v->val);
		return -1;
	}
	return 0;
}

/* dkim_check_k - k= absent (rsa), rsa or ed25519. */
static int
dkim_check_k(const struct dkim_taglist *tl, struct dkim_key *key, char *err,
             size_t errlen)
{
	const struct dkim_tag *k = dkim_tag_find(tl, "k");
	size_t i;

	key->type = DKIM_KEY_RSA;
	if (k == NULL)
		return 0;
	for (i = 0; i < DKIM_NKEY_TYPES; i++) {
		if (dkim_word_eq(k->val, k->vallen, dkim_key_types[i].name)) {
			key->type = dkim_key_types[i].type;
			return 0;
		}
	}
	dkim_err(err, errlen,
	         "The record has k=%.*s; the key type must be rsa or ed25519.",
	         dkim_show_len(k->vallen), k->val);
	return -1;
}

/* dkim_copy_tag - keep a tag value as published, capped. */
static void
dkim_copy_tag(char *dst, size_t dstlen, const struct dkim_tag *tag)
{
	snprintf(dst, dstlen, "%.*s",
	         (int)(tag->vallen < dstlen ? tag->vallen : dstlen - 1),
	         tag->val);
}

/* dkim_check_h - h= absent, or a hash list that includes sha256. */
static int
dkim_check_h(const struct dkim_taglist *tl, struct dkim_key *key, char *err,
             size_t errlen)
{
	const struct dkim_tag *h = dkim_tag_find(tl, "h");
	int r;

	if (h == NULL)
		return 0;
	dkim_copy_tag(key->hashes, sizeof(key->hashes), h);
	if ((r = dkim_list_has(h, "sha256", NULL, err, errlen)) < 0)
		return -1;
	if (r == 0) {
		dkim_err(
		    err, errlen,
		    "The record has h=%.*s, which does not allow sha256; "
		    "sha1 is no longer accepted (RFC 8301), so use h=sha256 "
		    "or leave h= out.",
		    dkim_show_len(h->vallen), h->val);
		return -1;
	}
	return 0;
}

/* dkim_check_s - s= absent, or a service list that includes email or *. */
static int
dkim_check_s(const struct dkim_taglist *tl, struct dkim_key *key, char *err,
             size_t errlen)
{
	const struct dkim_tag *s = dkim_tag_find(tl, "s");
	int r;

	if (s == NULL)
		return 0;
	dkim_copy_tag(key->services, sizeof(key->services), s);
	if ((r = dkim_list_has(s, "email", "*", err, errlen)) < 0)
		return -1;
	if (r == 0) {
		dkim_err(
		    err, errlen,
		    "The record has s=%.*s, so the key may not be used for "
		    "email; use s=email or leave s= out.",
		    dkim_show_len(s->vallen), s->val);
		return -1;
	}
	return 0;
}

/* dkim_check_t - t= flags: y (testing), s (strict); others ignored. */
static int
dkim_check_t(const struct dkim_taglist *tl, struct dkim_key *key, char *err,
             size_t errlen)
{
	const struct dkim_tag *t = dkim_tag_find(tl, "t");
	int r;

	if (t == NULL)
		return 0;
	if ((r = dkim_list_has(t, "y", NULL, err, errlen)) < 0)
		return -1;
	key->testing = r > 0;
	key->strict = dkim_list_has(t, "s", NULL, err, errlen) > 0;
	return 0;
}

/* dkim_b64_value - the 6-bit value of a base64 character, or -1. */
static int
dkim_b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* dkim_b64_decode - strict base64 with FWS allowed anywhere. */
static int
dkim_b64_decode(const struct dkim_tag *p, struct dkim_keybytes *out, char *err,
                size_t errlen)
{
	uint32_t acc = 0;
	size_t i, nchars = 0, npad = 0;
	int v;

	out->len = 0;
	for (i = 0; i < p->vallen; i++) {
		unsigned char c = p->val[i];

		if (dkim_is_fws(p->val, p->vallen, i))
			continue;
		if (c == '=' && nchars % 4 >= 2 && npad < 2) {
			npad++;
			nchars++;
			continue;
		}
		if ((v = dkim_b64_value(c)) < 0 || npad > 0) {
			dkim_err(err, errlen,
			         "The p= value is not valid base64: unexpected "
			         "'%c' at position %zu of p=.",
			         c, i + 1);
			return -1;
		}
		acc = (acc << 6) | (uint32_t)v;
		if (++nchars % 4 == 0) {
			if (out->len + 3 > sizeof(out->data))
				goto toolong;
			out->data[out->len++] = (unsigned char)(acc >> 16);
			out->data[out->len++] = (unsigned char)(acc >> 8);
			out->data[out->len++] = (unsigned char)acc;
			acc = 0;
		}
	}
	if (nchars % 4 != 0) {
		dkim_err(
		    err, errlen,
		    "The p= value is not valid base64: its length is not a "
		    "multiple of 4 (was it cut short?).");
		return -1;
	}
	if (npad > 0) {
		/* acc holds 4 - npad sextets of the last quantum. */
		acc <<= 6 * npad;
		if (out->len + 3 - npad > sizeof(out->data))
			goto toolong;
		out->data[out->len++] = (unsigned char)(acc >> 16);
		if (npad == 1)
			out->data[out->len++] = (unsigned char)(acc >> 8);
	}
	return 0;
toolong:
	dkim_err(err, errlen,
	         "The p= value is longer than any DKIM key (over %d bytes "
	         "decoded).",
	         DKIM_KEY_BYTES_MAX);
	return -1;
}

/* dkim_check_rsa - p= is a DER SubjectPublicKeyInfo of an RSA key. */
/*
 * DER, just enough of it (X.690) to read an RSA SubjectPublicKeyInfo
 * without OpenSSL 3's decoder framework, which costs more than the whole
 * rest of a readiness check and serializes threads on its locks.
 */
struct dkim_der {
	const unsigned char *p; /* contents */
	size_t len;
};

/* dkim_der_next - one TLV of tag at *pos in [buf, buf+len); definite
 * lengths, minimal long form up to 4 octets.  0 ok, -1 malformed. */
static int
dkim_der_next(const unsigned char *buf, size_t len, size_t *pos,
              unsigned char tag, struct dkim_der *out)
{
	size_t i = *pos, n, k, nbytes;

	if (i + 2 > len || buf[i] != tag)
		return -1;
	n = buf[i + 1];
	i += 2;
	if (n & 0x80) {
		nbytes = n & 0x7f;
		if (nbytes == 0 || nbytes > 4 || i + nbytes > len ||
		    buf[i] == 0)
			return -1;
		for (n = 0, k = 0; k < nbytes; k++)
			n = (n << 8) | buf[i + k];
		if (n < 0x80)
			return -1; /* not minimal */
		i += nbytes;
	}
	if (n > len - i)
		return -1;
	out->p = buf + i;
	out->len = n;
	*pos = i + n;
	return 0;
}

/* dkim_der_uint - a positive INTEGER's significant octets. */
static int
dkim_der_uint(const unsigned char *buf, size_t len, size_t *pos,
              struct dkim_der *out)
{
	if (dkim_der_next(buf, len, pos, 0x02, out) != 0 || out->len == 0 ||
	    (out->p[0] & 0x80))
		return -1; /* empty or negative */
	if (out->p[0] == 0 && out->len > 1) {
		if (!(out->p[1] & 0x80))
			return -1; /* not minimal */
		out->p++;
		out->len--;
	}
	return out->p[0] == 0 ? -1 : 0;
}

/* Algorithm OIDs we can name (contents octets). */
static const struct {
	const char *name;
	size_t len;
	unsigned char oid[10];
} dkim_der_algs[] = {
    {"rsaEncryption",
     9,
     {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01}},
    {"ED25519", 3, {0x2b, 0x65, 0x70}},
    {"EC", 7, {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01}},
    {"DSA", 7, {0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01}},
};

/* dkim_der_alg - the name of an algorithm OID, or NULL. */
static const char *
dkim_der_alg(const struct dkim_der *oid)
{
	size_t i;

	for (i = 0; i < sizeof(dkim_der_algs) / sizeof(*dkim_der_algs); i++)
		if (dkim_der_algs[i].len == oid->len &&
		    memcmp(dkim_der_algs[i].oid, oid->p, oid->len) == 0)
			return dkim_der_algs[i].name;
	return NULL;
}

/* dkim_der_rsapub - RSAPublicKey ::= SEQUENCE { n, e }; the bits of n. */
static int
dkim_der_rsapub(const unsigned char *buf, size_t len, unsigned *bits)
{
	struct dkim_der seq, n, e;
	size_t pos = 0, in = 0;
	unsigned top, b;

	if (dkim_der_next(buf, len, &pos, 0x30, &seq) != 0 || pos != len ||
	    dkim_der_uint(seq.p, seq.len, &in, &n) != 0 ||
	    dkim_der_uint(seq.p, seq.len, &in, &e) != 0 || in != seq.len ||
	    e.len > 8 || !(e.p[e.len - 1] & 1) || (e.len == 1 && e.p[0] < 3))
		return -1;
	for (top = n.p[0], b = 0; top != 0; top >>= 1)
		b++;
	*bits = (unsigned)(n.len - 1) * 8 + b;
	return 0;
}

/*
 * dkim_der_spki - SubjectPublicKeyInfo ::= SEQUENCE { AlgorithmIdentifier,
 * BIT STRING }.  0 RSA (bits set); 1 another algorithm (*alg names it,
 * or NULL); -1 not an SPKI.
 */
static int
dkim_der_spki(const unsigned char *buf, size_t len, unsigned *bits,
              const char **alg)
{
	struct dkim_der spki, algid, oid, key, params;
	size_t pos = 0, in = 0, ai = 0;

	if (dkim_der_next(buf, len, &pos, 0x30, &spki) != 0 || pos != len ||
	    dkim_der_next(spki.p, spki.len, &in, 0x30, &algid) != 0 ||
	    dkim_der_next(algid.p, algid.len, &ai, 0x06, &oid) != 0 ||
	    dkim_der_next(spki.p, spki.len, &in, 0x03, &key) != 0 ||
	    in != spki.len || key.len < 1 || key.p[0] != 0)
		return -1;
	*alg = dkim_der_alg(&oid);
	if (*alg == NULL || strcmp(*alg, "rsaEncryption") != 0)
		return 1;
	/* rsaEncryption parameters: NULL, or absent. */
	if (ai != algid.len &&
	    (dkim_der_next(algid.p, algid.len, &ai, 0x05, &params) != 0 ||
	     params.len != 0 || ai != algid.len))
		return -1;
	return dkim_der_rsapub(key.p + 1, key.len - 1, bits) == 0 ? 0 : -1;
}

static int
dkim_check_rsa(const struct dkim_keybytes *kb, struct dkim_key *key, char *err,
               size_t errlen)
{
	const char *alg = NULL;
	unsigned bits = 0;
	int rc;

	rc = dkim_der_spki(kb->data, kb->len, &bits, &alg);
	if (rc < 0) {
		dkim_err(
		    err, errlen,
		    dkim_der_rsapub(kb->data, kb->len, &bits) == 0
		        ? "The p= value is a bare RSAPublicKey; publish the "
		          "SubjectPublicKeyInfo form instead (openssl rsa "
		          "-pubout)."
		        : "The p= value does not decode to an RSA public key "
		          "(a DER SubjectPublicKeyInfo, as openssl rsa -pubout "
		          "writes it).");
		return -1;
	}
	if (rc > 0) {
		dkim_err(err, errlen,
		         "The p= value holds a %s key, but the record says "
		         "k=rsa.",
		         alg != NULL ? alg : "non-RSA");
		return -1;
	}
	if (bits < DKIM_RSA_BITS_MIN) {
		dkim_err(err, errlen,
		         "RSA key of %u bits; at least %d required (RFC 8301).",
		         bits, DKIM_RSA_BITS_MIN);
		return -1;
	}
	key->bits = bits;
	return 0;
}

/* dkim_check_ed25519 - p= is 32 raw octets (RFC 8463 section 4.2). */
static int
dkim_check_ed25519(const struct dkim_keybytes *kb, struct dkim_key *key,
                   char *err, size_t errlen)
{
	if (kb->len == DKIM_ED25519_BYTES) {
		key->bits = 256;
		return 0;
	}
	dkim_err(err, errlen,
	         kb->len == DKIM_ED25519_SPKI_BYTES
	             ? "The ed25519 p= value is a SubjectPublicKeyInfo of %zu "
	               "bytes; "
	               "publish only the 32-byte raw key (RFC 8463)."
	             : "The ed25519 p= value is %zu bytes; it must be the "
	               "32-byte raw "
	               "key (RFC 8463).",
	         kb->len);
	return -1;
}

/* dkim_check_p - p= present; empty means revoked; else decode and check. */
static int
dkim_check_p(const struct dkim_taglist *tl, struct dkim_key *key,
             struct dkim_keybytes *kb, char *err, size_t errlen)
{
	const struct dkim_tag *p = dkim_tag_find(tl, "p");

	kb->len = 0;
	if (p == NULL) {
		dkim_err(err, errlen,
		         "The record has no p= tag; a DKIM key record must "
		         "publish the public key in p=.");
		return -1;
	}
	if (p->vallen == 0) {
		key->revoked = true;
		return 0;
	}
	if (dkim_b64_decode(p, kb, err, errlen) != 0)
		return -1;
	if (key->type == DKIM_KEY_ED25519)
		return dkim_check_ed25519(kb, key, err, errlen);
	return dkim_check_rsa(kb, key, err, errlen);
}

/* dkim_key_parse_bytes - dkim_key_parse(), also yielding the key octets. */
static int
dkim_key_parse_bytes(const unsigned char *rec, size_t len, struct dkim_key *key,
                     struct dkim_keybytes *kb, char *err, size_t errlen)
{
	struct dkim_taglist tl;

	memset(key, 0, sizeof(*key));
	kb->len = 0;
	if (rec == NULL)
		len = 0;
	if (dkim_check_bytes(rec, len, err, errlen) != 0 ||
	    dkim_taglist_parse(rec, len, &tl, err, errlen) != 0 ||
	    dkim_check_v(&tl, err, errlen) != 0 ||
	    dkim_check_k(&tl, key, err, errlen) != 0 ||
	    dkim_check_h(&tl, key, err, errlen) != 0 ||
	    dkim_check_s(&tl, key, err, errlen) != 0 ||
	    dkim_check_t(&tl, key, err, errlen) != 0 ||
	    dkim_check_p(&tl, key, kb, err, errlen) != 0)
		return -1;
	return 0;
}

int
dkim_key_parse(const unsigned char *rec, size_t len, struct dkim_key *key,
               char *err, size_t errlen)
{
	struct dkim_keybytes kb;

	return dkim_key_parse_bytes(rec, len, key, &kb, err, errlen);
}

/* dkim_type_by_key - the table row for a record's k=. */
static const struct dkim_key_type_name *
dkim_type_by_key(enum dkim_key_type type)
{
	size_t i;

	for (i = 0; i < DKIM_NKEY_TYPES; i++)
		if (dkim_key_types[i].type == type)
			return &dkim_key_types[i];
	return NULL;
}

/* dkim_type_by_evp - the table row for an OpenSSL key type, or NULL. */
static const struct dkim_key_type_name *
dkim_type_by_evp(int evp_type)
{
	size_t i;

	for (i = 0; i < DKIM_NKEY_TYPES; i++)
		if (dkim_key_types[i].evp_type == evp_type)
			return &dkim_key_types[i];
	return NULL;
}

/* dkim_path - the key file name, printable, for sentences. */
static const char *
dkim_path(const struct dkim_expect *exp, char *buf, size_t buflen)
{
	const char *path = exp != NULL ? exp->key_path : NULL;

	if (path == NULL || *path == '\0')
		return "the private key";
	sanitize_text(buf, buflen, (const unsigned char *)path, strlen(path));
	return buf;
}

/* dkim_pem_nopass - never prompt for a passphrase; note that one was due. */
static int
dkim_pem_nopass(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	*(bool *)u = true;
	return -1;
}

/* dkim_pem_load - the private key in exp, or NULL with err set. */
static EVP_PKEY *
dkim_pem_load(const struct dkim_expect *exp, const char *path, char *err,
              size_t errlen)
{
	EVP_PKEY *pk = NULL;
	bool encrypted = false;
	BIO *bio;

	if (exp->key_pem_len == 0 || exp->key_pem_len > DKIM_PEM_MAX) {
		dkim_err(
		    err, errlen, "%s is %s; expected a PEM private key.", path,
		    exp->key_pem_len == 0 ? "empty"
		                          : "too large to be a private key");
		return NULL;
	}
	bio = BIO_new_mem_buf(exp->key_pem, (int)exp->key_pem_len);
	if (bio != NULL)
		pk = PEM_read_bio_PrivateKey(bio, NULL, dkim_pem_nopass,
		                             &encrypted);
	BIO_free(bio);
	ERR_clear_error();
	if (pk == NULL)
		dkim_err(err, errlen,
		         encrypted ? "%s is encrypted with a passphrase; "
		                     "authready needs the "
		                     "key unencrypted, as the signer reads it."
		                   : "%s is not a readable PEM private key.",
		         path);
	return pk;
}

/* dkim_match_ed25519 - compare the raw public key with p=. */
static int
dkim_match_ed25519(EVP_PKEY *pk, const struct dkim_keybytes *kb,
                   const char *path, char *err, size_t errlen)
{
	unsigned char pub[DKIM_ED25519_BYTES];
	size_t publen = sizeof(pub);

	if (EVP_PKEY_get_raw_public_key(pk, pub, &publen) != 1 ||
	    publen != sizeof(pub)) {
		ERR_clear_error();
		dkim_err(err, errlen,
		         "The public half of %s could not be computed.", path);
		return -1;
	}
	if (kb->len == publen && memcmp(pub, kb->data, publen) == 0)
		return 1;
	dkim_err(err, errlen, "the public half of %s is not the key in p=.",
	         path);
	return 0;
}

/*
 * The record handed to libopendkim's key lookup callback.  The callback
 * gets no user pointer from the library handle (dkim_set_user_context()
 * works on a DKIM handle, and dkim_test_key() makes its own one inside),
 * so the record travels in a thread-local pointer, set only for the
 * duration of one dkim_test_key() call on this thread.
 */
struct dkim_feed {
	const unsigned char *rec;
	size_t len;
	size_t buflen; /* libopendkim's buffer, when the record overflows it */
};

static _Thread_local struct dkim_feed *dkim_feed_current;

/*
 * dkim_feed_lookup - libopendkim key lookup: copy the record we hold.
 *
 * Failures return DKIM_CBSTAT_TRYAGAIN, never DKIM_CBSTAT_ERROR: in
 * libopendkim 2.11 the latter becomes DKIM_STAT_CBERROR, for which
 * dkim_getresultstr() returns NULL, and dkim_test_key() then passes that
 * NULL to strlcpy() and crashes.  DKIM_CBSTAT_DEFAULT would fall back to
 * DNS, which dkim_dns_refuse() blocks anyway.
 */
static DKIM_CBSTAT
dkim_feed_lookup(DKIM *dkim, DKIM_SIGINFO *sig, u_char *buf, size_t buflen)
{
	struct dkim_feed *feed = dkim_feed_current;

	(void)dkim;
	(void)sig;
	if (feed == NULL || buflen == 0)
		return DKIM_CBSTAT_TRYAGAIN;
	if (feed->len >= buflen) {
		feed->buflen = buflen;
		return DKIM_CBSTAT_TRYAGAIN;
	}
	memcpy(buf, feed->rec, feed->len);
	buf[feed->len] = '\0';
	return DKIM_CBSTAT_CONTINUE;
}

/* dkim_dns_refuse - libopendkim DNS query start: never query. */
static int
dkim_dns_refuse(void *srv, int type, unsigned char *query, unsigned char *buf,
                size_t buflen, void **qh)
{
	(void)srv;
	(void)type;
	(void)query;
	(void)buf;
	(void)buflen;
	(void)qh;
	return DKIM_DNS_ERROR;
}

/* dkim_label - a selector or domain libopendkim can put in a signature. */
static char *
dkim_label(char *buf, size_t buflen, const char *name, const char *dflt)
{
	size_t i, len = name != NULL ? strlen(name) : 0;

	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) &&
		    strchr("-._", name[i]) == NULL)
			break;
	/* Only the lookup callback sees it; any sane name does. */
	snprintf(buf, buflen, "%s",
	         len == 0 || i < len || len >= buflen ? dflt : name);
	return buf;
}

/* dkim_match_rsa - libopendkim's dkim_test_key() on our record. */
static int
dkim_match_rsa(const struct dkim_expect *exp, const unsigned char *rec,
               size_t len, const char *path, char *err, size_t errlen)
{
	struct dkim_feed feed = {rec, len, 0};
	char sel[DKIM_LABEL_MAX], dom[DKIM_LABEL_MAX];
	char liberr[DKIM_LIBERR_MAX] = "", shown[DKIM_LIBERR_MAX];
	DKIM_LIB *lib;
	int r;

	if ((lib = dkim_init(NULL, NULL)) == NULL) {
		dkim_err(err, errlen, "libopendkim could not be initialized.");
		return -1;
	}
	(void)dkim_set_key_lookup(lib, dkim_feed_lookup);
	dkim_dns_set_query_start(lib, dkim_dns_refuse);
	dkim_label(sel, sizeof(sel), exp->selector, "selector");
	dkim_label(dom, sizeof(dom), exp->domain, "domain.invalid");

	/*
	 * dkim_test_key() only reads the PEM (BIO_new_mem_buf).  The key was
	 * loaded once already with a passphrase callback that never prompts,
	 * so an encrypted key cannot reach OpenSSL's terminal prompt here.
	 */
	dkim_feed_current = &feed;
	r = dkim_test_key(lib, sel, dom, (char *)(uintptr_t)exp->key_pem,
	                  exp->key_pem_len, NULL, liberr, sizeof(liberr));
	dkim_feed_current = NULL;
	dkim_close(lib);
	ERR_clear_error();

	if (r == 0)
		return 1;
	if (r == 1) {
		dkim_err(err, errlen,
		         "the public half of %s is not the key in p=.", path);
		return 0;
	}
	sanitize_text(shown, sizeof(shown), (const unsigned char *)liberr,
	              strnlen(liberr, sizeof(liberr)));
	if (feed.buflen != 0)
		dkim_err(
		    err, errlen,
		    "The record is %zu bytes, more than the %zu that "
		    "libopendkim (OpenDKIM) reads; verifiers using it would "
		    "cut the key short.",
		    len, feed.buflen - 1);
	else
		dkim_err(err, errlen,
		         "libopendkim could not compare the keys: %s.", shown);
	return -1;
}

int
dkim_key_match(const struct dkim_expect *exp, const unsigned char *rec,
               size_t len, char *err, size_t errlen)
{
	const struct dkim_key_type_name *want, *have;
	struct dkim_keybytes kb;
	struct dkim_key key;
	char pathbuf[REPORT_DETAIL_MAX / 4];
	const char *path = dkim_path(exp, pathbuf, sizeof(pathbuf));
	EVP_PKEY *pk;
	int r;

	if (exp == NULL || exp->key_pem == NULL) {
		dkim_err(err, errlen, "No private key was given to compare.");
		return -1;
	}
	if (dkim_key_parse_bytes(rec, len, &key, &kb, err, errlen) != 0)
		return -1;
	if (key.revoked) {
		dkim_err(err, errlen,
		         "The key is revoked (empty p=); there "
		         "is no public key to compare with %s.",
		         path);
		return -1;
	}
	if ((pk = dkim_pem_load(exp, path, err, errlen)) == NULL)
		return -1;
	want = dkim_type_by_key(key.type);
	have = dkim_type_by_evp(EVP_PKEY_get_base_id(pk));
	if (have != want) {
		dkim_err(err, errlen,
		         "%s holds %s key, but the record "
		         "publishes k=%s.",
		         path,
		         have != NULL ? have->article : "a key of another type",
		         want->name);
		r = 0;
	} else if (key.type == DKIM_KEY_ED25519) {
		r = dkim_match_ed25519(pk, &kb, path, err, errlen);
	} else {
		r = dkim_match_rsa(exp, rec, len, path, err, errlen);
	}
	EVP_PKEY_free(pk);
	return r;
}

/* dkim_looks_like_key - is this TXT value meant as a DKIM key record? */
static bool
dkim_looks_like_key(const unsigned char *rec, size_t len)
{
	struct dkim_taglist tl;
	const struct dkim_tag *v;
	size_t i = 0;

	if (dkim_check_bytes(rec, len, NULL, 0) == 0 &&
	    dkim_taglist_parse(rec, len, &tl, NULL, 0) == 0) {
		if ((v = dkim_tag_find(&tl, "v")) != NULL)
			return v->vallen >= 4 && memcmp(v->val, "DKIM", 4) == 0;
		return dkim_tag_find(&tl, "p") != NULL ||
		       dkim_tag_find(&tl, "k") != NULL;
	}
	while (i < len && dkim_is_wsp(rec[i]))
		i++;
	if (len - i >= 2 && memcmp(rec + i, "v=", 2) == 0)
		return len - i >= 6 && memcmp(rec + i, "v=DKIM", 6) == 0;
	for (; i + 1 < len; i++)
		if (rec[i] == 'p' && rec[i + 1] == '=')
			return true;
	return false;
}

/* dkim_expected - what should be published, for the report. */
static void
dkim_expected(const struct dkim_expect *exp, struct check_result *res)
{
	char pathbuf[REPORT_EXPECTED_MAX / 2];
	const struct dkim_key_type_name *t = NULL;
	EVP_PKEY *pk;

	if (exp == NULL || exp->key_pem == NULL) {
		snprintf(res->expected, sizeof(res->expected),
		         "a valid DKIM key record");
		return;
	}
	if ((pk = dkim_pem_load(exp, "", NULL, 0)) != NULL) {
		t = dkim_type_by_evp(EVP_PKEY_get_base_id(pk));
		EVP_PKEY_free(pk);
	}
	snprintf(res->expected, sizeof(res->expected),
	         "DKIM key (v=DKIM1; %s%s%sp=...) matching %s",
	         t != NULL ? "k=" : "", t != NULL ? t->name : "",
	         t != NULL ? "; " : "",
	         dkim_path(exp, pathbuf, sizeof(pathbuf)));
}

/* dkim_describe - "RSA 2048-bit key" or "ed25519 key". */
static void
dkim_describe(const struct dkim_key *key, char *buf, size_t buflen)
{
	if (key->type == DKIM_KEY_RSA)
		snprintf(buf, buflen, "RSA %u-bit key", key->bits);
	else
		snprintf(buf, buflen, "%s key",
		         dkim_type_by_key(key->type)->label);
}

/* dkim_eval_match - compare with the private key; false if res is set. */
static bool
dkim_eval_match(const struct dns_rr *rr, const struct dkim_expect *exp,
                struct check_result *res)
{
	char err[REPORT_DETAIL_MAX / 2], pathbuf[REPORT_DETAIL_MAX / 4];
	const char *path = dkim_path(exp, pathbuf, sizeof(pathbuf));

	switch (dkim_key_match(exp, rr->data, rr->len, err, sizeof(err))) {
	case 1:
		return true;
	case 0:
		check_result_set(
		    res, CHECK_FAIL,
		    "The published key does not match %s: %s Publish the "
		    "public key of %s in p=.",
		    path, err, path);
		return false;
	default:
		check_result_set(
		    res, CHECK_FAIL,
		    "The published key could not be compared with %s: %s", path,
		    err);
		return false;
	}
}

/* dkim_eval_record - the one TXT record at the key name. */
static void
dkim_eval_record(const struct dns_rr *rr, const struct dkim_expect *exp,
                 const char *name, struct check_result *res)
{
	char err[REPORT_DETAIL_MAX / 2], what[64],
	    pathbuf[REPORT_DETAIL_MAX / 4];
	bool match = exp != NULL && exp->key_pem != NULL;
	struct dkim_key key;

	if (!dkim_looks_like_key(rr->data, rr->len)) {
		check_result_set(
		    res, CHECK_FAIL,
		    "The TXT record at %s is not a DKIM key record; publish "
		    "the DKIM key (v=DKIM1; k=...; p=...) there.",
		    name);
		return;
	}
	if (dkim_key_parse(rr->data, rr->len, &key, err, sizeof(err)) != 0) {
		check_result_set(res, CHECK_FAIL,
		                 "The DKIM key record is invalid: %s", err);
		return;
	}
	if (key.revoked) {
		check_result_set(
		    res, CHECK_FAIL,
		    "The key is revoked (empty p=); publish the current "
		    "public key in p= at %s.",
		    name);
		return;
	}
	if (match && !dkim_eval_match(rr, exp, res))
		return;
	dkim_describe(&key, what, sizeof(what));
	check_result_set(
	    res, CHECK_PASS, "%s%s%s%s.", what, match ? ", matches " : "",
	    match ? dkim_path(exp, pathbuf, sizeof(pathbuf)) : "",
	    key.testing ? "; the record has t=y (testing mode), so "
	                  "receivers may treat signed mail as unsigned: remove "
	                  "t=y once "
	                  "signing works"
	                : "");
}

/* dkim_eval_several - more than one TXT record at the key name. */
static void
dkim_eval_several(const struct dns_answer *ans, const char *name,
                  struct check_result *res)
{
	size_t i, nkeys = 0;

	for (i = 0; i < ans->count; i++)
		if (dkim_looks_like_key(ans->rrs[i].data, ans->rrs[i].len))
			nkeys++;
	check_result_set(
	    res, CHECK_FAIL,
	    "%zu TXT records at %s; publish exactly one DKIM key record "
	    "(%s; RFC 6376 section 3.6.2.2 leaves the result undefined).",
	    ans->count, name,
	    nkeys > 1    ? "several look like keys"
	    : nkeys == 1 ? "remove the records that are not the key"
	                 : "none of them is a DKIM key");
}

void
dkim_evaluate(const struct dns_answer *ans, const struct dkim_expect *exp,
              struct check_result *res)
{
	const char *name = res->name[0] != '\0' ? res->name : ans->qname;
	char why[sizeof(ans->error)];

	res->type = CHECK_DKIM;
	res->seen[0] = '\0';
	dkim_expected(exp, res);
	if (ans->outcome == DNS_NXDOMAIN || ans->outcome == DNS_NODATA ||
	    (ans->outcome == DNS_OK && ans->count == 0)) {
		check_result_set(res, CHECK_MISSING,
		                 "Publish the DKIM key as a TXT record at %s.",
		                 name);
		return;
	}
	if (ans->outcome != DNS_OK) {
		/* Every other outcome is DNS trouble; see dnsmsg.h. */
		sanitize_text(why, sizeof(why),
		              (const unsigned char *)ans->error,
		              strnlen(ans->error, sizeof(ans->error)));
		check_result_set(res, CHECK_TEMPERROR,
		                 "The DNS lookup of %s failed (%s%s%s)%s.",
		                 name, dns_outcome_name(ans->outcome),
		                 why[0] ? ": " : "", why,
		                 dns_outcome_is_temporary(ans->outcome)
		                     ? "; it will be retried"
		                     : "");
		return;
	}
	check_result_seen(res, ans->rrs[0].data, ans->rrs[0].len);
	if (ans->count > 1)
		dkim_eval_several(ans, name, res);
	else
		dkim_eval_record(&ans->rrs[0], exp, name, res);
}
