/*
 * test_dkim.c - DKIM key record parsing, key match and evaluation.
 *
 * SYNOPSIS
 *	make check TESTS=tests/test_dkim
 *
 * DESCRIPTION
 *	Keys come from tests/keys (see tests/keys/README), found through
 *	$top_srcdir or, when run by hand, next to this source file.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "dkim.h"
#include "dnsmsg.h"
#include "fake_answer.h"
#include "report.h"

#define KEYNAME "sel._domainkey.example.com"
#define BIG (64 * 1024)

struct keyfile {
	char path[512];
	char *data;
	size_t len;
};

/* keys_path - where a fixture lives. */
static void
keys_path(char *buf, size_t buflen, const char *name)
{
	const char *top = getenv("top_srcdir");
	const char *slash;

	if (top != NULL && *top != '\0') {
		snprintf(buf, buflen, "%s/tests/keys/%s", top, name);
		return;
	}
	slash = strrchr(__FILE__, '/');
	snprintf(buf, buflen, "%.*skeys/%s",
	         slash != NULL ? (int)(slash - __FILE__ + 1) : 0, __FILE__,
	         name);
}

/* load - read a fixture whole; aborts the test if it is missing. */
static void
load(struct keyfile *kf, const char *name)
{
	FILE *f;
	long n;

	keys_path(kf->path, sizeof(kf->path), name);
	f = fopen(kf->path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", kf->path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	rewind(f);
	kf->data = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(kf->data);
	kf->len = fread(kf->data, 1, (size_t)n, f);
	ck_assert_uint_eq(kf->len, (size_t)n);
	kf->data[kf->len] = '\0';
	fclose(f);
	/* .p files end in a newline; the p= value does not. */
	while (kf->len > 0 && kf->data[kf->len - 1] == '\n')
		kf->data[--kf->len] = '\0';
}

static void
unload(struct keyfile *kf)
{
	free(kf->data);
	kf->data = NULL;
}

/* pval - the p= base64 of a fixture, malloced. */
static char *
pval(const char *name)
{
	struct keyfile kf;

	load(&kf, name);
	return kf.data;
}

/* record - "prefix" + p value of a fixture + "suffix". */
static char *
record(const char *prefix, const char *keyname, const char *suffix)
{
	char *p = pval(keyname), *r;
	size_t n = strlen(prefix) + strlen(p) + strlen(suffix) + 1;

	r = malloc(n);
	ck_assert_ptr_nonnull(r);
	snprintf(r, n, "%s%s%s", prefix, p, suffix);
	free(p);
	return r;
}

static int
parse(const char *rec, struct dkim_key *key, char *err, size_t errlen)
{
	return dkim_key_parse((const unsigned char *)rec, strlen(rec), key, err,
	                      errlen);
}

/* parse_fails - rec is refused, with a sentence containing want. */
static void
parse_fails(const char *rec, const char *want)
{
	struct dkim_key key;
	char err[512] = "";

	ck_assert_msg(parse(rec, &key, err, sizeof(err)) == -1,
	              "accepted: %.80s", rec);
	ck_assert_msg(strstr(err, want) != NULL, "error \"%s\" lacks \"%s\"",
	              err, want);
}

/* parse_ok - rec is accepted. */
static void
parse_ok(const char *rec, struct dkim_key *key)
{
	char err[512] = "";

	ck_assert_msg(parse(rec, key, err, sizeof(err)) == 0,
	              "refused %.80s: %s", rec, err);
}

/* ---- tag-list syntax ---- */

START_TEST(test_minimal_seed_form)
{
	struct dkim_key key;
	char *rec = record("p=", "rsa2048.p", "");

	parse_ok(rec, &key);
	ck_assert_int_eq(key.type, DKIM_KEY_RSA);
	ck_assert_uint_eq(key.bits, 2048);
	ck_assert(!key.revoked && !key.testing && !key.strict);
	ck_assert_str_eq(key.hashes, "");
	ck_assert_str_eq(key.services, "");
	free(rec);
}
END_TEST

START_TEST(test_seed_split_record)
{
	/* The seed publishes "p=aaaaaa" "bbbbb": dnsmsg joins the strings. */
	char *p = pval("rsa2048.p"), *rec;
	char first[256], *second;
	struct dkim_key key;
	size_t n;

	snprintf(first, sizeof(first), "p=%.*s", 253, p);
	second = p + 253;
	n = strlen(first) + strlen(second) + 1;
	rec = malloc(n);
	ck_assert_ptr_nonnull(rec);
	snprintf(rec, n, "%s%s", first, second);
	ck_assert_uint_eq(strlen(first), 255);
	parse_ok(rec, &key);
	ck_assert_uint_eq(key.bits, 2048);
	free(rec);
	free(p);
}
END_TEST

START_TEST(test_all_tags)
{
	struct dkim_key key;
	char *rec = record("v=DKIM1; k=rsa; h=sha256; s=email; t=s; "
	                   "n=rotated 2024; p=",
	                   "rsa2048.p", ";");

	parse_ok(rec, &key);
	ck_assert(key.strict && !key.testing);
	ck_assert_str_eq(key.hashes, "sha256");
	ck_assert_str_eq(key.services, "email");
	free(rec);
}
END_TEST

START_TEST(test_fws_everywhere)
{
	char *p = pval("rsa2048.p"), rec[1024];
	struct dkim_key key;

	/* FWS around tags, '=', ';', and inside the base64 of p=. */
	snprintf(rec, sizeof(rec),
	         "  v = DKIM1 ;\tk=rsa\t;\r\n p = %.100s \r\n\t%.100s %s ; ", p,
	         p + 100, p + 200);
	parse_ok(rec, &key);
	ck_assert_uint_eq(key.bits, 2048);
	free(p);
}
END_TEST

START_TEST(test_empty_and_blank)
{
	struct dkim_key key;
	char err[256] = "";

	parse_fails("", "empty");
	parse_fails("   \t ", "empty");
	ck_assert_int_eq(dkim_key_parse(NULL, 0, &key, err, sizeof(err)), -1);
	ck_assert(strstr(err, "empty") != NULL);
	parse_fails(";", "tag name at position 1");
}
END_TEST

START_TEST(test_empty_tag_spec)
{
	parse_fails("v=DKIM1;; p=", "tag name at position 9");
	parse_fails("; p=", "tag name at position 1");
}
END_TEST

START_TEST(test_tag_names)
{
	struct dkim_key key;

	parse_fails("1p=abc", "tag name at position 1");
	parse_fails("v=DKIM1; -x=1; p=", "tag name at position 10");
	parse_fails("v=DKIM1; k; p=", "\"k\" at position 10 has no '='");
	parse_fails("v=DKIM1; k rsa; p=", "has no '='");
	parse_fails("v=DKIM1; p", "has no '='");
	/* ALPHA *ALNUMPUNC names we do not know are ignored. */
	parse_ok("v=DKIM1; x_Tag9=anything at all; g=*; p=", &key);
	ck_assert(key.revoked);
}
END_TEST

START_TEST(test_duplicate_tags)
{
	char *rec = record("v=DKIM1; p=", "rsa2048.p", "; p=");

	parse_fails(rec, "p= appears twice");
	free(rec);
	parse_fails("k=rsa; k=rsa; p=", "k= appears twice (positions 1 and 8)");
	parse_fails("x=1; x=2; p=", "x= appears twice");
	/* Tag names are case-sensitive: P= is another (unknown) tag. */
	parse_fails("P=abc", "no p= tag");
}
END_TEST

START_TEST(test_too_many_tags)
{
	char rec[2048];
	size_t i, n = 0;
	struct dkim_key key;

	for (i = 0; i < 63; i++)
		n += (size_t)snprintf(rec + n, sizeof(rec) - n, "x%zu=1;", i);
	snprintf(rec + n, sizeof(rec) - n, "p=");
	parse_ok(rec, &key); /* 64 tags */
	snprintf(rec + n, sizeof(rec) - n, "y=1;p=");
	parse_fails(rec, "more than 64 tags");
}
END_TEST

/* ---- v= ---- */

START_TEST(test_v_rules)
{
	struct dkim_key key;

	parse_ok("v=DKIM1; p=", &key);
	parse_ok("p=", &key); /* v= is optional */
	parse_fails("k=rsa; v=DKIM1; p=", "must come first");
	parse_fails("p=; v=DKIM1", "must come first");
	parse_fails("v=DKIM2; p=", "v=DKIM2");
	parse_fails("v=dkim1; p=", "only version is DKIM1");
	parse_fails("v=; p=", "only version is DKIM1");
	parse_fails("v=DKIM1 p=", "only version is DKIM1");
}
END_TEST

/* ---- k= ---- */

START_TEST(test_k_rules)
{
	struct dkim_key key;
	char *rec;

	rec = record("k=rsa; p=", "rsa2048.p", "");
	parse_ok(rec, &key);
	ck_assert_int_eq(key.type, DKIM_KEY_RSA);
	free(rec);
	rec = record("k=ed25519; p=", "ed25519.p", "");
	parse_ok(rec, &key);
	ck_assert_int_eq(key.type, DKIM_KEY_ED25519);
	ck_assert_uint_eq(key.bits, 256);
	free(rec);
	parse_fails("k=dsa; p=", "k=dsa; the key type must be rsa or ed25519");
	parse_fails("k=RSA; p=", "k=RSA");
	parse_fails("k=; p=", "key type must be");
	/* An ed25519 key under the default k=rsa. */
	rec = record("p=", "ed25519.p", "");
	parse_fails(rec, "does not decode to an RSA public key");
	free(rec);
}
END_TEST

/* ---- h= ---- */

START_TEST(test_h_rules)
{
	struct dkim_key key;

	parse_ok("h=sha256; p=", &key);
	ck_assert_str_eq(key.hashes, "sha256");
	parse_ok("h=sha1:sha256; p=", &key);
	parse_ok("h=sha1 : sha256 :sha512; p=", &key);
	parse_fails("h=sha1; p=", "RFC 8301");
	parse_fails("h=md5:sha512; p=", "h=md5:sha512, which does not allow");
	parse_fails("h=SHA256; p=", "does not allow sha256");
	parse_fails("h=sha256:; p=", "empty entry");
	parse_fails("h=:sha256; p=", "empty entry");
	parse_fails("h=; p=", "empty entry");
}
END_TEST

START_TEST(test_h_long_is_capped)
{
	char rec[512];
	struct dkim_key key;

	snprintf(rec, sizeof(rec), "h=%s:sha256; p=",
	         "x1:x2:x3:x4:x5:x6:x7:x8:x9:x10:x11:x12:x13:x14:x15:x16:x17");
	parse_ok(rec, &key);
	ck_assert_uint_eq(strlen(key.hashes), sizeof(key.hashes) - 1);
	ck_assert(strncmp(key.hashes, "x1:x2:", 6) == 0);
}
END_TEST

/* ---- s= ---- */

START_TEST(test_s_rules)
{
	struct dkim_key key;

	parse_ok("s=email; p=", &key);
	ck_assert_str_eq(key.services, "email");
	parse_ok("s=*; p=", &key);
	parse_ok("s=tlsrpt:email; p=", &key);
	parse_ok("s = email : tlsrpt ; p=", &key);
	ck_assert_str_eq(key.services, "email : tlsrpt");
	parse_fails("s=tlsrpt; p=", "may not be used for email");
	parse_fails("s=foo:bar; p=", "s=foo:bar");
	parse_fails("s=Email; p=", "may not be used for email");
	parse_fails("s=email::*; p=", "empty entry");
}
END_TEST

/* ---- t= and n= ---- */

START_TEST(test_t_and_n)
{
	struct dkim_key key;

	parse_ok("t=y; p=", &key);
	ck_assert(key.testing && !key.strict);
	parse_ok("t=s:y; p=", &key);
	ck_assert(key.testing && key.strict);
	parse_ok("t=s; p=", &key);
	ck_assert(!key.testing && key.strict);
	parse_ok("t=x:future; p=", &key);
	ck_assert(!key.testing && !key.strict);
	parse_fails("t=y::s; p=", "empty entry");
	parse_ok("n=anything, even = signs and \"quotes\"; p=", &key);
}
END_TEST

/* ---- p= ---- */

START_TEST(test_p_missing_and_revoked)
{
	struct dkim_key key;

	parse_fails("v=DKIM1; k=rsa", "no p= tag");
	parse_fails("v=DKIM1; k=rsa;", "no p= tag");
	parse_ok("v=DKIM1; k=rsa; p=", &key);
	ck_assert(key.revoked);
	parse_ok("v=DKIM1; p= \t; t=y", &key);
	ck_assert(key.revoked && key.testing);
	parse_ok("k=ed25519; p=", &key);
	ck_assert(key.revoked);
}
END_TEST

START_TEST(test_bad_base64)
{
	parse_fails("p=MIIB!AAA", "unexpected '!' at position 5 of p=");
	parse_fails("p=MIIBIjAN-A", "not valid base64");
	parse_fails("p=MIIBI", "not a multiple of 4");
	parse_fails("p=AB=C", "unexpected 'C'");
	parse_fails("p=A===", "unexpected '='");
	parse_fails("p====", "unexpected '='");
	parse_fails("p=AAAA", "does not decode to an RSA public key");
	parse_fails("k=ed25519; p=AB==", "is 1 bytes");
}
END_TEST

START_TEST(test_rsa_sizes)
{
	struct dkim_key key;
	char *rec;

	rec = record("v=DKIM1; k=rsa; p=", "rsa512.p", "");
	parse_fails(rec, "RSA key of 512 bits; at least 1024 required "
	                 "(RFC 8301).");
	free(rec);
	rec = record("v=DKIM1; k=rsa; p=", "rsa1024.p", "");
	parse_ok(rec, &key);
	ck_assert_uint_eq(key.bits, 1024);
	free(rec);
}
END_TEST

START_TEST(test_rsa_trailing_garbage)
{
	/* A valid SPKI followed by four more bytes must not pass. */
	char *rec = record("p=", "rsa2048.p", "AAAA");

	parse_fails(rec, "does not decode to an RSA public key");
	free(rec);
}
END_TEST

/* b64 - base64 of bytes, malloced. */
static char *
b64(const unsigned char *data, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);

	ck_assert_ptr_nonnull(out);
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

/* load_pkey - a fixture private key through OpenSSL. */
static EVP_PKEY *
load_pkey(const char *name)
{
	struct keyfile kf;
	EVP_PKEY *pk;
	BIO *bio;

	load(&kf, name);
	bio = BIO_new_mem_buf(kf.data, (int)kf.len);
	pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	unload(&kf);
	ck_assert_ptr_nonnull(pk);
	return pk;
}

START_TEST(test_rsa_bare_pkcs1_refused)
{
	EVP_PKEY *pk = load_pkey("rsa2048.pem");
	unsigned char *der = NULL;
	char rec[1024], *p;
	int n;

	n = i2d_PublicKey(pk, &der); /* PKCS#1 RSAPublicKey */
	ck_assert_int_gt(n, 0);
	p = b64(der, (size_t)n);
	snprintf(rec, sizeof(rec), "v=DKIM1; k=rsa; p=%s", p);
	parse_fails(rec, "bare RSAPublicKey; publish the "
	                 "SubjectPublicKeyInfo form");
	free(p);
	OPENSSL_free(der);
	EVP_PKEY_free(pk);
}
END_TEST

START_TEST(test_rsa_record_with_other_spki)
{
	EVP_PKEY *pk = load_pkey("ed25519.pem");
	unsigned char *der = NULL;
	char rec[256], *p;
	int n;

	n = i2d_PUBKEY(pk, &der);
	ck_assert_int_eq(n, 44);
	p = b64(der, (size_t)n);
	snprintf(rec, sizeof(rec), "k=rsa; p=%s", p);
	parse_fails(rec, "holds a ED25519 key, but the record says k=rsa");
	snprintf(rec, sizeof(rec), "k=ed25519; p=%s", p);
	parse_fails(rec, "SubjectPublicKeyInfo of 44 bytes; publish only the "
	                 "32-byte raw key");
	free(p);
	OPENSSL_free(der);
	EVP_PKEY_free(pk);
}
END_TEST

START_TEST(test_ed25519_lengths)
{
	unsigned char raw[33];
	char rec[128], *p;

	memset(raw, 0x42, sizeof(raw));
	p = b64(raw, 31);
	snprintf(rec, sizeof(rec), "v=DKIM1; k=ed25519; p=%s", p);
	parse_fails(rec, "is 31 bytes; it must be the 32-byte raw key");
	free(p);
	p = b64(raw, 33);
	snprintf(rec, sizeof(rec), "v=DKIM1; k=ed25519; p=%s", p);
	parse_fails(rec, "is 33 bytes");
	free(p);
}
END_TEST

START_TEST(test_p_too_long)
{
	char *rec = malloc(BIG + 3);

	ck_assert_ptr_nonnull(rec);
	memcpy(rec, "p=", 2);
	memset(rec + 2, 'A', BIG);
	rec[BIG + 2] = '\0';
	parse_fails(rec, "longer than any DKIM key");
	free(rec);
}
END_TEST

/* ---- hostile bytes ---- */

static void
parse_bytes_fails(const char *rec, size_t len, const char *want)
{
	struct dkim_key key;
	char err[512] = "";

	ck_assert_int_eq(dkim_key_parse((const unsigned char *)rec, len, &key,
	                                err, sizeof(err)),
	                 -1);
	ck_assert_msg(strstr(err, want) != NULL, "error \"%s\" lacks \"%s\"",
	              err, want);
}

START_TEST(test_nul_and_controls)
{
	parse_bytes_fails("v=DKIM1;\0p=", 11, "NUL byte (0x00) at position 9");
	parse_bytes_fails("p=\0", 3, "position 3");
	parse_bytes_fails("v=DKIM1; \x01p=", 12,
	                  "control character (0x01) at position 10");
	parse_bytes_fails("v=DKIM1;\np=", 11, "(0x0a) at position 9");
	parse_bytes_fails("v=DKIM1;\rp=", 11, "(0x0d) at position 9");
	parse_bytes_fails("v=DKIM1;\r\np=", 12, "(0x0d) at position 9");
	parse_bytes_fails("v=DKIM1; p=\x7f", 12, "(0x7f) at position 12");
	parse_bytes_fails("v=DKIM1; n=caf\xc3\xa9; p=", 19,
	                  "non-ASCII byte (0xc3) at position 15");
	/* A NUL hidden after what strlen() would see. */
	parse_bytes_fails("p=\0garbage", 10, "NUL byte");
}
END_TEST

START_TEST(test_garbage_64k)
{
	unsigned char *buf = malloc(BIG);
	struct dkim_key key;
	char err[512];
	size_t i;
	uint32_t x = 2463534242u;

	ck_assert_ptr_nonnull(buf);
	/* Random bytes (xorshift), then printable garbage, then "a=b;" * N. */
	for (i = 0; i < BIG; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (unsigned char)x;
	}
	ck_assert_int_eq(dkim_key_parse(buf, BIG, &key, err, sizeof(err)), -1);
	for (i = 0; i < BIG; i++)
		buf[i] = (unsigned char)(0x21 + buf[i] % 94);
	buf[0] = 'p';
	ck_assert_int_eq(dkim_key_parse(buf, BIG, &key, err, sizeof(err)), -1);
	for (i = 0; i < BIG; i++)
		buf[i] = "a=b;"[i % 4];
	ck_assert_int_eq(dkim_key_parse(buf, BIG, &key, err, sizeof(err)), -1);
	ck_assert(strstr(err, "appears twice") != NULL);
	memset(buf, ' ', BIG);
	ck_assert_int_eq(dkim_key_parse(buf, BIG, &key, err, sizeof(err)), -1);
	ck_assert(strstr(err, "empty") != NULL);
	free(buf);
}
END_TEST

START_TEST(test_small_error_buffers)
{
	struct dkim_key key;
	char err[8];

	memset(err, 'X', sizeof(err));
	ck_assert_int_eq(parse("k=dsa; p=", &key, err, sizeof(err)), -1);
	ck_assert_uint_eq(strlen(err), sizeof(err) - 1);
	ck_assert_int_eq(parse("k=dsa; p=", &key, NULL, 0), -1);
	ck_assert_int_eq(parse("k=dsa; p=", &key, err, 0), -1);
}
END_TEST

/* ---- key match ---- */

/* match - dkim_key_match of a record against a fixture private key. */
static int
match(const char *rec, const char *keyname, char *err, size_t errlen)
{
	struct dkim_expect exp = {"example.com", "sel", NULL, NULL, 0};
	struct keyfile kf;
	int r;

	load(&kf, keyname);
	exp.key_path = kf.path;
	exp.key_pem = kf.data;
	exp.key_pem_len = kf.len;
	err[0] = '\0';
	r = dkim_key_match(&exp, (const unsigned char *)rec, strlen(rec), err,
	                   errlen);
	unload(&kf);
	return r;
}

/* match_pem - dkim_key_match against PEM text given inline. */
static int
match_pem(const char *rec, const char *pem, size_t pemlen, char *err,
          size_t errlen)
{
	struct dkim_expect exp = {"example.com", "sel", "k.pem", pem, pemlen};

	err[0] = '\0';
	return dkim_key_match(&exp, (const unsigned char *)rec, strlen(rec),
	                      err, errlen);
}

START_TEST(test_match_rsa)
{
	char err[512], *rec = record("v=DKIM1; k=rsa; p=", "rsa2048.p", "");

	ck_assert_int_eq(match(rec, "rsa2048.pem", err, sizeof(err)), 1);
	ck_assert_int_eq(match(rec, "rsa2048-other.pem", err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, "rsa2048-other.pem is not the key in p=") !=
	                  NULL,
	              "%s", err);
	free(rec);
	rec = record("p=", "rsa1024.p", "");
	ck_assert_int_eq(match(rec, "rsa1024.pem", err, sizeof(err)), 1);
	ck_assert_int_eq(match(rec, "rsa2048.pem", err, sizeof(err)), 0);
	free(rec);
}
END_TEST

START_TEST(test_match_rsa_folded_record)
{
	/* FWS inside p= must not confuse libopendkim's own parser. */
	char *p = pval("rsa2048.p"), rec[1024], err[512];

	snprintf(rec, sizeof(rec),
	         "v=DKIM1; k=rsa; h=sha256; s=email; "
	         "p=%.150s \t%.150s  %s ;",
	         p, p + 150, p + 300);
	ck_assert_int_eq(match(rec, "rsa2048.pem", err, sizeof(err)), 1);
	ck_assert_int_eq(match(rec, "rsa2048-other.pem", err, sizeof(err)), 0);
	/* Tags libopendkim must accept as we do: unknown hashes, services,
	 * flags and tags alongside the ones that matter. */
	snprintf(rec, sizeof(rec),
	         "v=DKIM1; h=sha1:sha256:sha512; "
	         "s=email:tlsrpt; t=y:s:z; g=*; x=y; n=a b c; p=%s",
	         p);
	ck_assert_int_eq(match(rec, "rsa2048.pem", err, sizeof(err)), 1);
	free(p);
}
END_TEST

START_TEST(test_match_ed25519)
{
	char err[512], *rec = record("v=DKIM1; k=ed25519; p=", "ed25519.p", "");

	ck_assert_int_eq(match(rec, "ed25519.pem", err, sizeof(err)), 1);
	ck_assert_int_eq(match(rec, "ed25519-other.pem", err, sizeof(err)), 0);
	ck_assert(strstr(err, "is not the key in p=") != NULL);
	free(rec);
}
END_TEST

START_TEST(test_match_wrong_type)
{
	char err[512], *rec;

	rec = record("v=DKIM1; k=rsa; p=", "rsa2048.p", "");
	ck_assert_int_eq(match(rec, "ed25519.pem", err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, "holds an ed25519 key, but the record "
	                          "publishes k=rsa") != NULL,
	              "%s", err);
	free(rec);
	rec = record("v=DKIM1; k=ed25519; p=", "ed25519.p", "");
	ck_assert_int_eq(match(rec, "rsa2048.pem", err, sizeof(err)), 0);
	ck_assert(strstr(err, "holds an RSA key, but the record publishes "
	                      "k=ed25519") != NULL);
	free(rec);
}
END_TEST

START_TEST(test_match_other_key_type)
{
	char err[512], *rec = record("p=", "rsa2048.p", "");
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem;
	long n;

	ck_assert_ptr_nonnull(pk);
	ck_assert_int_eq(
	    PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL), 1);
	n = BIO_get_mem_data(bio, &pem);
	ck_assert_int_eq(match_pem(rec, pem, (size_t)n, err, sizeof(err)), 0);
	ck_assert(strstr(err, "k.pem holds a key of another type") != NULL);
	BIO_free(bio);
	EVP_PKEY_free(pk);
	free(rec);
}
END_TEST

START_TEST(test_match_bad_pem)
{
	char err[512], *rec = record("p=", "rsa2048.p", "");
	static const char garbage[] =
	    "-----BEGIN PRIVATE KEY-----\n"
	    "bm90IGEga2V5\n-----END PRIVATE KEY-----\n";
	struct keyfile pub;
	char *huge;

	ck_assert_int_eq(
	    match_pem(rec, garbage, sizeof(garbage) - 1, err, sizeof(err)), -1);
	ck_assert(strstr(err, "k.pem is not a readable PEM private key") !=
	          NULL);
	ck_assert_int_eq(match_pem(rec, "hello", 5, err, sizeof(err)), -1);
	ck_assert(strstr(err, "not a readable PEM") != NULL);
	ck_assert_int_eq(match_pem(rec, "", 0, err, sizeof(err)), -1);
	ck_assert(strstr(err, "k.pem is empty") != NULL);
	huge = calloc(1, 100000);
	ck_assert_ptr_nonnull(huge);
	ck_assert_int_eq(match_pem(rec, huge, 100000, err, sizeof(err)), -1);
	ck_assert(strstr(err, "too large") != NULL);
	free(huge);
	/* A public key where the private one belongs. */
	load(&pub, "rsa2048.p");
	ck_assert_int_eq(match_pem(rec, pub.data, pub.len, err, sizeof(err)),
	                 -1);
	unload(&pub);
	free(rec);
}
END_TEST

START_TEST(test_match_encrypted_pem)
{
	char err[512], *rec = record("p=", "rsa2048.p", "");
	EVP_PKEY *pk = load_pkey("rsa2048.pem");
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem;
	long n;

	ck_assert_int_eq(
	    PEM_write_bio_PKCS8PrivateKey(bio, pk, EVP_aes_128_cbc(), NULL, 0,
	                                  NULL, (void *)"secret"),
	    1);
	n = BIO_get_mem_data(bio, &pem);
	ck_assert_int_eq(match_pem(rec, pem, (size_t)n, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "encrypted with a passphrase") != NULL, "%s",
	              err);
	BIO_free(bio);
	EVP_PKEY_free(pk);
	free(rec);
}
END_TEST

START_TEST(test_match_unusable_records)
{
	char err[512], *rec;
	struct dkim_expect none = {"example.com", "sel", "k.pem", NULL, 0};

	ck_assert_int_eq(match("v=DKIM1; p=", "rsa2048.pem", err, sizeof(err)),
	                 -1);
	ck_assert(strstr(err, "revoked") != NULL);
	ck_assert_int_eq(match("k=dsa; p=", "rsa2048.pem", err, sizeof(err)),
	                 -1);
	ck_assert(strstr(err, "k=dsa") != NULL);
	rec = record("p=", "rsa512.p", "");
	ck_assert_int_eq(match(rec, "rsa512.pem", err, sizeof(err)), -1);
	ck_assert(strstr(err, "RSA key of 512 bits") != NULL);
	free(rec);
	ck_assert_int_eq(dkim_key_match(&none, (const unsigned char *)"p=", 2,
	                                err, sizeof(err)),
	                 -1);
	ck_assert_int_eq(dkim_key_match(NULL, (const unsigned char *)"p=", 2,
	                                err, sizeof(err)),
	                 -1);
}
END_TEST

START_TEST(test_match_record_over_libopendkim_buffer)
{
	char err[512], n[1200], *rec;

	memset(n, 'x', sizeof(n) - 1);
	n[sizeof(n) - 1] = '\0';
	rec = malloc(4096);
	ck_assert_ptr_nonnull(rec);
	{
		char *p = pval("rsa2048.p");

		snprintf(rec, 4096, "v=DKIM1; n=%s; p=%s", n, p);
		free(p);
	}
	ck_assert_int_eq(match(rec, "rsa2048.pem", err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "libopendkim") != NULL, "%s", err);
	free(rec);
}
END_TEST

START_TEST(test_match_odd_names)
{
	/* Names libopendkim could not put in a signature fall back safely. */
	struct dkim_expect exp = {"ex;ample.com", "s=x; d=evil", NULL, NULL, 0};
	char err[512], *rec = record("p=", "rsa2048.p", "");
	struct keyfile kf;

	load(&kf, "rsa2048.pem");
	exp.key_path = kf.path;
	exp.key_pem = kf.data;
	exp.key_pem_len = kf.len;
	ck_assert_int_eq(dkim_key_match(&exp, (const unsigned char *)rec,
	                                strlen(rec), err, sizeof(err)),
	                 1);
	exp.domain = NULL;
	exp.selector = "";
	ck_assert_int_eq(dkim_key_match(&exp, (const unsigned char *)rec,
	                                strlen(rec), err, sizeof(err)),
	                 1);
	unload(&kf);
	free(rec);
}
END_TEST

struct thread_job {
	const char *rec;
	const char *key;
	int want;
	int fails;
};

static void *
match_thread(void *arg)
{
	struct thread_job *job = arg;
	char err[512];
	int i;

	for (i = 0; i < 20; i++)
		if (match(job->rec, job->key, err, sizeof(err)) != job->want)
			job->fails++;
	return NULL;
}

START_TEST(test_match_threads)
{
	/* The record reaches libopendkim per thread; threads must not mix. */
	char *a = record("p=", "rsa2048.p", ""),
	     *b = record("p=", "rsa2048-other.p", "");
	struct thread_job jobs[4] = {
	    {a, "rsa2048.pem", 1, 0},
	    {b, "rsa2048-other.pem", 1, 0},
	    {a, "rsa2048-other.pem", 0, 0},
	    {b, "rsa2048.pem", 0, 0},
	};
	pthread_t t[4];
	int i;

	for (i = 0; i < 4; i++)
		ck_assert_int_eq(
		    pthread_create(&t[i], NULL, match_thread, &jobs[i]), 0);
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(jobs[i].fails, 0);
	}
	free(a);
	free(b);
}
END_TEST

/* ---- evaluate ---- */

/* eval - dkim_evaluate on an answer built from values. */
static void
eval(struct check_result *res, enum dns_outcome outcome, size_t n,
     const char *const *values, const struct dkim_expect *exp)
{
	struct dns_answer ans;

	fake_answer(&ans, KEYNAME, DNS_TYPE_TXT, outcome, n, values);
	memset(res, 0, sizeof(*res));
	snprintf(res->name, sizeof(res->name), "%s", KEYNAME);
	res->type = CHECK_SPF; /* must be overwritten */
	dkim_evaluate(&ans, exp, res);
	dns_answer_free(&ans);
}

#define has(s, sub)                                                            \
	ck_assert_msg(strstr((s), (sub)) != NULL, "\"%s\" lacks \"%s\"", (s),  \
	              (sub))

START_TEST(test_eval_missing)
{
	struct check_result res;

	eval(&res, DNS_NXDOMAIN, 0, NULL, NULL);
	ck_assert_int_eq(res.type, CHECK_DKIM);
	ck_assert_int_eq(res.status, CHECK_MISSING);
	ck_assert_str_eq(
	    res.detail, "Publish the DKIM key as a TXT record at " KEYNAME ".");
	ck_assert_str_eq(res.expected, "a valid DKIM key record");
	ck_assert_str_eq(res.seen, "");
	eval(&res, DNS_NODATA, 0, NULL, NULL);
	ck_assert_int_eq(res.status, CHECK_MISSING);
}
END_TEST

START_TEST(test_eval_temperror)
{
	static const enum dns_outcome outs[] = {DNS_SERVFAIL,   DNS_TIMEOUT,
	                                        DNS_REFUSED,    DNS_FORMERR,
	                                        DNS_CNAME_LOOP, DNS_ERROR};
	struct check_result res;
	struct dns_answer ans;
	size_t i;

	for (i = 0; i < sizeof(outs) / sizeof(*outs); i++) {
		eval(&res, outs[i], 0, NULL, NULL);
		ck_assert_int_eq(res.status, CHECK_TEMPERROR);
		has(res.detail, dns_outcome_name(outs[i]));
		has(res.detail, KEYNAME);
	}
	dns_answer_init(&ans, KEYNAME, DNS_TYPE_TXT, DNS_TIMEOUT,
	                "no reply from 127.0.0.1\x01");
	memset(&res, 0, sizeof(res));
	dkim_evaluate(&ans, NULL, &res);
	ck_assert_int_eq(res.status, CHECK_TEMPERROR);
	has(res.detail, "timeout: no reply from 127.0.0.1\\x01");
	has(res.detail, KEYNAME); /* name taken from the answer */
	dns_answer_free(&ans);
}
END_TEST

START_TEST(test_eval_pass_no_key)
{
	struct check_result res;
	char *rec = record("v=DKIM1; k=rsa; p=", "rsa2048.p", "");
	const char *v[] = {rec};

	eval(&res, DNS_OK, 1, v, NULL);
	ck_assert_int_eq(res.status, CHECK_PASS);
	ck_assert_str_eq(res.detail, "RSA 2048-bit key.");
	ck_assert(strncmp(res.seen, "v=DKIM1; k=rsa; p=MII", 21) == 0);
	free(rec);
}
END_TEST

/* expect_file - a dkim_expect for a fixture; free kf after. */
static struct dkim_expect
expect_file(struct keyfile *kf, const char *name)
{
	struct dkim_expect exp = {"example.com", "sel", NULL, NULL, 0};

	load(kf, name);
	exp.key_path = name;
	exp.key_pem = kf->data;
	exp.key_pem_len = kf->len;
	return exp;
}

START_TEST(test_eval_match_and_mismatch)
{
	struct check_result res;
	struct keyfile kf;
	char *rec = record("v=DKIM1; k=rsa; p=", "rsa2048.p", "");
	const char *v[] = {rec};
	struct dkim_expect exp = expect_file(&kf, "rsa2048.pem");

	eval(&res, DNS_OK, 1, v, &exp);
	ck_assert_int_eq(res.status, CHECK_PASS);
	ck_assert_str_eq(res.detail, "RSA 2048-bit key, matches rsa2048.pem.");
	ck_assert_str_eq(
	    res.expected,
	    "DKIM key (v=DKIM1; k=rsa; p=...) matching rsa2048.pem");
	unload(&kf);
	exp = expect_file(&kf, "rsa2048-other.pem");
	eval(&res, DNS_OK, 1, v, &exp);
	ck_assert_int_eq(res.status, CHECK_FAIL);
	has(res.detail, "The published key does not match rsa2048-other.pem");
	unload(&kf);
	exp = expect_file(&kf, "ed25519.pem");
	eval(&res, DNS_OK, 1, v, &exp);
	ck_assert_int_eq(res.status, CHECK_FAIL);
	has(res.detail, "does not match ed25519.pem: ed25519.pem holds an "
	                "ed25519 key, but the record publishes k=rsa.");
	ck_assert_str_eq(
	    res.expected,
	    "DKIM key (v=DKIM1; k=ed25519; p=...) matching ed25519.pem");
	unload(&kf);
	free(rec);
}
END_TEST

START_TEST(test_eval_ed25519)
{
	struct check_result res;
	struct keyfile kf;
	char *rec = record("v=DKIM1; k=ed25519; p=", "ed25519.p", "");
	const char *v[] = {rec};
	struct dkim_expect exp = expect_file(&kf, "ed25519.pem");

	eval(&res, DNS_OK, 1, v, NULL);
	ck_assert_int_eq(res.status, CHECK_PASS);
	ck_assert_str_eq(res.detail, "ed25519 key.");
	eval(&res, DNS_OK, 1, v, &exp);
	ck_assert_int_eq(res.status, CHECK_PASS);
	ck_assert_str_eq(res.detail, "ed25519 key, matches ed25519.pem.");
	unload(&kf);
	exp = expect_file(&kf, "ed25519-other.pem");
	eval(&res, DNS_OK, 1, v, &exp);
	ck_assert_int_eq(res.status, CHECK_FAIL);
	unload(&kf);
	free(rec);
}
END_TEST

START_TEST(test_eval_unreadable_key)
{
	struct check_result res;
	char *rec = record("p=", "rsa2048.p", "");
	const char *v[] = {rec};
	struct dkim_expect exp = {"example.com", "sel", "/etc/dkim/x.pem",
	                          "garbage", 7};

	eval(&res, DNS_OK, 1, v, &exp);
	ck_assert_int_eq(res.status, CHECK_FAIL);
	has(res.detail, "could not be compared with /etc/dkim/x.pem: "
	                "/etc/dkim/x.pem is not a readable PEM private key.");
	ck_assert_str_eq(res.expected,
	                 "DKIM key (v=DKIM1; p=...) matching /etc/dkim/x.pem");
	free(rec);
}
END_TEST

START_TEST(test_eval_testing_mode)
{
	struct check_result res;
	char *rec = record("v=DKIM1; t=y; p=", "rsa2048.p", "");
	const char *v[] = {rec};

	eval(&res, DNS_OK, 1, v, NULL);
	ck_assert_int_eq(res.status, CHECK_PASS);
	has(res.detail, "RSA 2048-bit key; the record has t=y (testing mode)");
	free(rec);
}
END_TEST

START_TEST(test_eval_revoked)
{
	struct check_result res;
	const char *v[] = {"v=DKIM1; k=rsa; p="};

	eval(&res, DNS_OK, 1, v, NULL);
	ck_assert_int_eq(res.status, CHECK_FAIL);
	has(res.detail, "The key is revoked (empty p=)");
	ck_assert_str_eq(res.seen, "v=DKIM1; k=rsa; p=");
}
END_TEST

START_TEST(test_eval_invalid)
{
	struct check_result res;
	char *rec = record("v=DKIM1; k=rsa; p=", "rsa512.p", "");
	const char *v[] = {rec};
	const char *v2[] = {"k=rsa; v=DKIM1; p="};

	eval(&res, DNS_OK, 1, v, NULL);
	ck_assert_int_eq(res.status, CHECK_FAIL);
	ck_assert_str_eq(res.detail,
	                 "The DKIM key record is invalid: RSA key "
	                 "of 512 bits; at least 1024 required (RFC 8301).");
	eval(&res, DNS_OK, 1, v2, NULL);
	ck_assert_int_eq(res.status, CHECK_FAIL);
	has(res.detail, "must come first");
	free(rec);
}
END_TEST

START_TEST(test_eval_not_a_key)
{
	struct check_result res;
	const char *spf[] = {"v=spf1 include:amazonses.com ~all"};
	const char *dmarc[] = {"v=DMARC1; p=none"};
	const char *text[] = {"google-site-verification=abc"};

	eval(&res, DNS_OK, 1, spf, NULL);
	ck_assert_int_eq(res.status, CHECK_FAIL);
	has(res.detail, "The TXT record at " KEYNAME " is not a DKIM key");
	ck_assert_str_eq(res.seen, "v=spf1 include:amazonses.com ~all");
	eval(&res, DNS_OK, 1, dmarc, NULL);
	ck_assert_int_eq(res.status, CHECK_FAIL);
	has(res.detail, "is not a DKIM key");
	eval(&res, DNS_OK, 1, text, NULL);
	ck_assert_int_eq(res.status, CHECK_FAIL);
	has(res.detail, "is not a DKIM key");
}
END_TEST

START_TEST(test_eval_several)
{
	struct check_result res;
	char *a = record("v=DKIM1; p=", "rsa2048.p", "");
	char *b = record("v=DKIM1; p=", "rsa2048-other.p", "");
	const char *two[] = {a, b};
	const char *mixed[] = {"v=spf1 -all", a};
	const char *none[] = {"x", "y", "z"};

	eval(&res, DNS_OK, 2, two, NULL);
	ck_assert_int_eq(res.status, CHECK_FAIL);
	has(res.detail, "2 TXT records at " KEYNAME "; publish exactly one "
	                "DKIM key record (several look like keys");
	ck_assert(strncmp(res.seen, "v=DKIM1; p=MII", 14) == 0);
	eval(&res, DNS_OK, 2, mixed, NULL);
	ck_assert_int_eq(res.status, CHECK_FAIL);
	has(res.detail, "remove the records that are not the key");
	ck_assert_str_eq(res.seen, "v=spf1 -all");
	eval(&res, DNS_OK, 3, none, NULL);
	ck_assert_int_eq(res.status, CHECK_FAIL);
	has(res.detail, "3 TXT records");
	free(a);
	free(b);
}
END_TEST

START_TEST(test_eval_hostile_record)
{
	struct check_result res;
	struct dns_answer ans;
	unsigned char *big = malloc(BIG);

	ck_assert_ptr_nonnull(big);
	fake_answer(&ans, KEYNAME, DNS_TYPE_TXT, DNS_OK, 0, NULL);
	fake_answer_add_txt(&ans, (const unsigned char *)"v=DKIM1;\0p=\x1b[31m",
	                    16);
	memset(&res, 0, sizeof(res));
	dkim_evaluate(&ans, NULL, &res);
	ck_assert_int_eq(res.status, CHECK_FAIL);
	has(res.detail, "NUL byte (0x00) at position 9");
	has(res.seen, "v=DKIM1;\\x00p=\\x1b[31m");
	dns_answer_free(&ans);

	memset(big, 'p', BIG);
	big[1] = '=';
	fake_answer(&ans, KEYNAME, DNS_TYPE_TXT, DNS_OK, 0, NULL);
	fake_answer_add_txt(&ans, big, BIG);
	memset(&res, 0, sizeof(res));
	dkim_evaluate(&ans, NULL, &res);
	ck_assert_int_eq(res.status, CHECK_FAIL);
	ck_assert_uint_lt(strlen(res.seen), sizeof(res.seen));
	ck_assert_uint_lt(strlen(res.detail), sizeof(res.detail));
	dns_answer_free(&ans);
	free(big);
}
END_TEST

/* Error sentences quote record text: it must come out printable. */
START_TEST(test_error_text_printable)
{
	static const char *const recs[] = {
	    "v=DKIM1; k=rs\ta; p=",    "v=DKIM1; k=rsa\r\n; p=",
	    "v=DKIM1; h=sha1\t:x; p=", "v=DKIM1; s=*\r\n\t:; p=",
	    "v=DKIM1\t\r\n; p=",
	};
	char err[512];
	struct dkim_key key;
	size_t i, k;

	for (i = 0; i < sizeof(recs) / sizeof(*recs); i++) {
		err[0] = '\0';
		dkim_key_parse((const unsigned char *)recs[i], strlen(recs[i]),
		               &key, err, sizeof(err));
		for (k = 0; err[k] != '\0'; k++)
			ck_assert_msg((unsigned char)err[k] >= 0x20 &&
			                  (unsigned char)err[k] < 0x7f,
			              "record %zu: byte 0x%02x in \"%s\"", i,
			              (unsigned char)err[k], err);
	}
}
END_TEST
static Suite *
dkim_suite(void)
{
	Suite *s = suite_create("dkim");
	TCase *tc;

	tc = tcase_create("syntax");
	tcase_add_test(tc, test_minimal_seed_form);
	tcase_add_test(tc, test_seed_split_record);
	tcase_add_test(tc, test_all_tags);
	tcase_add_test(tc, test_fws_everywhere);
	tcase_add_test(tc, test_empty_and_blank);
	tcase_add_test(tc, test_empty_tag_spec);
	tcase_add_test(tc, test_tag_names);
	tcase_add_test(tc, test_duplicate_tags);
	tcase_add_test(tc, test_too_many_tags);
	suite_add_tcase(s, tc);

	tc = tcase_create("tags");
	tcase_add_test(tc, test_v_rules);
	tcase_add_test(tc, test_k_rules);
	tcase_add_test(tc, test_h_rules);
	tcase_add_test(tc, test_h_long_is_capped);
	tcase_add_test(tc, test_s_rules);
	tcase_add_test(tc, test_t_and_n);
	tcase_add_test(tc, test_p_missing_and_revoked);
	tcase_add_test(tc, test_bad_base64);
	tcase_add_test(tc, test_rsa_sizes);
	tcase_add_test(tc, test_rsa_trailing_garbage);
	tcase_add_test(tc, test_rsa_bare_pkcs1_refused);
	tcase_add_test(tc, test_rsa_record_with_other_spki);
	tcase_add_test(tc, test_ed25519_lengths);
	tcase_add_test(tc, test_p_too_long);
	suite_add_tcase(s, tc);

	tc = tcase_create("hostile");
	tcase_add_test(tc, test_nul_and_controls);
	tcase_add_test(tc, test_garbage_64k);
	tcase_add_test(tc, test_small_error_buffers);
	suite_add_tcase(s, tc);

	tc = tcase_create("match");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_match_rsa);
	tcase_add_test(tc, test_match_rsa_folded_record);
	tcase_add_test(tc, test_match_ed25519);
	tcase_add_test(tc, test_match_wrong_type);
	tcase_add_test(tc, test_match_other_key_type);
	tcase_add_test(tc, test_match_bad_pem);
	tcase_add_test(tc, test_match_encrypted_pem);
	tcase_add_test(tc, test_match_unusable_records);
	tcase_add_test(tc, test_match_record_over_libopendkim_buffer);
	tcase_add_test(tc, test_match_odd_names);
	tcase_add_test(tc, test_match_threads);
	suite_add_tcase(s, tc);

	tc = tcase_create("evaluate");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_eval_missing);
	tcase_add_test(tc, test_eval_temperror);
	tcase_add_test(tc, test_eval_pass_no_key);
	tcase_add_test(tc, test_eval_match_and_mismatch);
	tcase_add_test(tc, test_eval_ed25519);
	tcase_add_test(tc, test_eval_unreadable_key);
	tcase_add_test(tc, test_eval_testing_mode);
	tcase_add_test(tc, test_eval_revoked);
	tcase_add_test(tc, test_eval_invalid);
	tcase_add_test(tc, test_eval_not_a_key);
	tcase_add_test(tc, test_eval_several);
	tcase_add_test(tc, test_eval_hostile_record);
	tcase_add_test(tc, test_error_text_printable);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(dkim_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
