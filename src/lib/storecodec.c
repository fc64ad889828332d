/*
 * storecodec.c - versioned binary codec for store values.
 *
 * SYNOPSIS
 *	See storecodec.h.
 *
 * DESCRIPTION
 *	Encoding writes through a bounded writer (struct wr) and decoding
 *	reads through a bounded reader (struct rd); both stop at the first
 *	problem and keep the first error sentence, so the field functions
 *	below read as a plain list of fields.  Decoders are chosen from a
 *	(version, kind) table; adding a format version means adding rows.
 *
 * DIAGNOSTICS
 *	-1 and a sentence in err; see storecodec.h.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "storecodec.h"

#include "errbuf.h"

#define STORECODEC_STR_LEN_MAX 0xffff /* 16-bit length prefix */

/* Bounded reader over an untrusted buffer. */
struct rd {
	const unsigned char *p;
	size_t len;
	size_t off;
	bool failed;
	char *err;
	size_t errlen;
};

/* Bounded writer into a caller buffer. */
struct wr {
	unsigned char *p;
	size_t size;
	size_t off;
	bool failed;
	char *err;
	size_t errlen;
};

/* seterr - keep the first error sentence only. */
static void __attribute__((format(printf, 4, 5)))
seterr(bool *failed, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (*failed)
		return;
	*failed = true;
	va_start(ap, fmt);
	errbuf_vfail(err, errlen, fmt, ap);
	va_end(ap);
}

/* rd_need - true when n more bytes are available for what. */
static bool
rd_need(struct rd *r, size_t n, const char *what)
{
	if (r->failed)
		return false;
	if (r->len - r->off < n) {
		seterr(&r->failed, r->err, r->errlen,
		       "record truncated: %s needs %zu bytes at offset %zu, "
		       "%zu left",
		       what, n, r->off, r->len - r->off);
		return false;
	}
	return true;
}

/* rd_uint - little-endian unsigned integer of n bytes (n <= 8). */
static uint64_t
rd_uint(struct rd *r, size_t n, const char *what)
{
	uint64_t v = 0;

	if (!rd_need(r, n, what))
		return 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)r->p[r->off + i] << (8 * i);
	r->off += n;
	return v;
}

/* rd_i64 - two's complement 64-bit integer. */
static int64_t
rd_i64(struct rd *r, const char *what)
{
	uint64_t v = rd_uint(r, 8, what);

	return v <= INT64_MAX ? (int64_t)v : -(int64_t)(UINT64_MAX - v) - 1;
}

/* rd_str - length-prefixed string into dst[size], NUL-terminated. */
static void
rd_str(struct rd *r, char *dst, size_t size, const char *what)
{
	size_t n = (size_t)rd_uint(r, 2, what);

	dst[0] = '\0';
	if (r->failed)
		return;
	if (n >= size) {
		seterr(&r->failed, r->err, r->errlen,
		       "record field %s is %zu bytes, at most %zu allowed",
		       what, n, size - 1);
		return;
	}
	if (!rd_need(r, n, what))
		return;
	if (memchr(r->p + r->off, '\0', n) != NULL) {
		seterr(&r->failed, r->err, r->errlen,
		       "record field %s contains a NUL byte", what);
		return;
	}
	memcpy(dst, r->p + r->off, n);
	dst[n] = '\0';
	r->off += n;
}

/* rd_range - fail unless lo <= v <= hi. */
static void
rd_range(struct rd *r, int64_t v, int64_t lo, int64_t hi, const char *what)
{
	if (!r->failed && (v < lo || v > hi))
		seterr(&r->failed, r->err, r->errlen,
		       "record field %s is %lld, outside %lld..%lld", what,
		       (long long)v, (long long)lo, (long long)hi);
}

/* rd_end - fail on trailing bytes. */
static int
rd_end(struct rd *r)
{
	if (!r->failed && r->off != r->len)
		seterr(&r->failed, r->err, r->errlen,
		       "record has %zu trailing bytes after offset %zu",
		       r->len - r->off, r->off);
	return r->failed ? -1 : 0;
}

/* wr_uint - little-endian unsigned integer of n bytes. */
static void
wr_uint(struct wr *w, uint64_t v, size_t n)
{
	if (w->failed)
		return;
	if (w->size - w->off < n) {
		seterr(&w->failed, w->err, w->errlen,
		       "record buffer too small (%zu bytes)", w->size);
		return;
	}
	for (size_t i = 0; i < n; i++)
		w->p[w->off + i] = (unsigned char)(v >> (8 * i));
	w->off += n;
}

/* wr_str - field src[size] must hold a NUL; write its used bytes. */
static void
wr_str(struct wr *w, const char *src, size_t size, const char *what)
{
	size_t n = strnlen(src, size);

	if (w->failed)
		return;
	if (n == size || n > STORECODEC_STR_LEN_MAX) {
		seterr(&w->failed, w->err, w->errlen,
		       "field %s is not NUL-terminated within %zu bytes", what,
		       size);
		return;
	}
	wr_uint(w, n, 2);
	if (w->failed)
		return;
	if (w->size - w->off < n) {
		seterr(&w->failed, w->err, w->errlen,
		       "record buffer too small (%zu bytes)", w->size);
		return;
	}
	memcpy(w->p + w->off, src, n);
	w->off += n;
}

/* wr_check - fail unless lo <= v <= hi: never write what we cannot read. */
static void
wr_check(struct wr *w, int64_t v, int64_t lo, int64_t hi, const char *what)
{
	if (!w->failed && (v < lo || v > hi))
		seterr(&w->failed, w->err, w->errlen,
		       "field %s is %lld, outside %lld..%lld", what,
		       (long long)v, (long long)lo, (long long)hi);
}

/* wr_nonempty - keys must not be empty strings. */
static void
wr_nonempty(struct wr *w, const char *s, const char *what)
{
	if (!w->failed && s[0] == '\0')
		seterr(&w->failed, w->err, w->errlen, "field %s is empty",
		       what);
}

/* The version each kind is written in (and the newest read). */
static const unsigned kind_versions[] = {
    [STORECODEC_KIND_REG] = STORECODEC_VERSION,
    [STORECODEC_KIND_STATE] = STORECODEC_STATE_VERSION,
    [STORECODEC_KIND_HELD] = STORECODEC_HELD_VERSION,
};

/* wr_header - magic, the kind's current version, kind. */
static void
wr_header(struct wr *w, enum record_kind kind)
{
	wr_uint(w, RECORD_MAGIC0, 1);
	wr_uint(w, RECORD_MAGIC1, 1);
	wr_uint(w, kind_versions[kind], 1);
	wr_uint(w, (uint64_t)kind, 1);
}

/* wr_finish - report the length or the error. */
static int
wr_finish(struct wr *w, size_t *len)
{
	if (w->failed)
		return -1;
	*len = w->off;
	return 0;
}

/* Non-empty domain key: at least one byte besides the NUL. */
static void
rd_domain(struct rd *r, char *dst, size_t size, const char *what)
{
	rd_str(r, dst, size, what);
	if (!r->failed && dst[0] == '\0')
		seterr(&r->failed, r->err, r->errlen,
		       "record field %s is empty", what);
}

/* encode_reg_v1 - the registry entry, current format. */
static void
encode_reg_v1(struct wr *w, const struct domain_reg *reg)
{
	wr_check(w, reg->nselectors, 0, DOMAIN_SELECTORS_MAX, "nselectors");
	wr_check(w, reg->negress, 0, DOMAIN_EGRESS_MAX, "negress");
	wr_check(w, reg->dmarc_min_policy, DMARC_POLICY_UNSET,
	         DMARC_POLICY_REJECT, "dmarc_min_policy");
	wr_nonempty(w, reg->domain, "domain");
	wr_header(w, STORECODEC_KIND_REG);
	wr_uint(w, (uint64_t)reg->added, 8);
	wr_uint(w, (uint8_t)(int8_t)reg->dmarc_min_policy, 1);
	wr_str(w, reg->domain, sizeof(reg->domain), "domain");
	wr_str(w, reg->mail_from, sizeof(reg->mail_from), "mail_from");
	wr_str(w, reg->mx_host, sizeof(reg->mx_host), "mx_host");
	wr_str(w, reg->spf_include, sizeof(reg->spf_include), "spf_include");
	wr_str(w, reg->contact, sizeof(reg->contact), "contact");
	if (w->failed)
		return;
	wr_uint(w, reg->nselectors, 1);
	for (uint32_t i = 0; i < reg->nselectors; i++) {
		const struct domain_selector *s = &reg->selectors[i];

		wr_str(w, s->name, sizeof(s->name), "selector name");
		wr_str(w, s->key_path, sizeof(s->key_path), "key_path");
	}
	wr_uint(w, reg->negress, 1);
	for (uint32_t i = 0; i < reg->negress; i++)
		wr_str(w, reg->egress[i], sizeof(reg->egress[i]), "egress");
}

/* decode_reg_v1 - inverse of encode_reg_v1. */
static void
decode_reg_v1(struct rd *r, void *out)
{
	struct domain_reg *reg = out;
	uint64_t n;

	reg->added = rd_i64(r, "added");
	reg->dmarc_min_policy = (int8_t)rd_uint(r, 1, "dmarc_min_policy");
	rd_range(r, reg->dmarc_min_policy, DMARC_POLICY_UNSET,
	         DMARC_POLICY_REJECT, "dmarc_min_policy");
	rd_domain(r, reg->domain, sizeof(reg->domain), "domain");
	rd_str(r, reg->mail_from, sizeof(reg->mail_from), "mail_from");
	rd_str(r, reg->mx_host, sizeof(reg->mx_host), "mx_host");
	rd_str(r, reg->spf_include, sizeof(reg->spf_include), "spf_include");
	rd_str(r, reg->contact, sizeof(reg->contact), "contact");
	n = rd_uint(r, 1, "nselectors");
	rd_range(r, (int64_t)n, 0, DOMAIN_SELECTORS_MAX, "nselectors");
	if (r->failed)
		return;
	reg->nselectors = (uint32_t)n;
	for (uint32_t i = 0; i < reg->nselectors; i++) {
		struct domain_selector *s = &reg->selectors[i];

		rd_str(r, s->name, sizeof(s->name), "selector name");
		rd_str(r, s->key_path, sizeof(s->key_path), "key_path");
	}
	n = rd_uint(r, 1, "negress");
	rd_range(r, (int64_t)n, 0, DOMAIN_EGRESS_MAX, "negress");
	if (r->failed)
		return;
	reg->negress = (uint32_t)n;
	for (uint32_t i = 0; i < reg->negress; i++)
		rd_str(r, reg->egress[i], sizeof(reg->egress[i]), "egress");
}

/* encode_state_v1 - fixed block first, then strings and records (the
 * header says version 2: only encode_state_v2 calls this). */
static void
encode_state_v1(struct wr *w, const struct domain_state *st)
{
	wr_check(w, st->state, READINESS_UNKNOWN, READINESS_FAILED, "state");
	wr_check(w, st->nrecords, 0, DOMAIN_RECORDS_MAX, "nrecords");
	wr_nonempty(w, st->domain, "domain");
	for (uint32_t i = 0; i < st->nrecords && !w->failed; i++) {
		wr_check(w, st->records[i].type, CHECK_SPF, CHECK_MX,
		         "record type");
		wr_check(w, st->records[i].status, CHECK_PASS, CHECK_TEMPERROR,
		         "record status");
	}
	wr_header(w, STORECODEC_KIND_STATE);
	wr_uint(w, (uint64_t)st->state, 1);
	wr_uint(w, (uint64_t)st->since, 8);
	wr_uint(w, (uint64_t)st->first_seen, 8);
	wr_uint(w, (uint64_t)st->last_check, 8);
	wr_uint(w, (uint64_t)st->last_success, 8);
	wr_uint(w, (uint64_t)st->next_check, 8);
	wr_uint(w, st->dns_errors, 4);
	wr_uint(w, st->pending_checks, 4);
	wr_uint(w, st->notify_attempts, 4);
	wr_uint(w, (uint32_t)st->notified, 4);
	wr_str(w, st->domain, sizeof(st->domain), "domain");
	wr_uint(w, st->nrecords, 1);
	for (uint32_t i = 0; i < st->nrecords && !w->failed; i++) {
		const struct domain_record_status *rs = &st->records[i];

		wr_uint(w, rs->type, 1);
		wr_uint(w, rs->status, 1);
		wr_str(w, rs->name, sizeof(rs->name), "record name");
		wr_str(w, rs->detail, sizeof(rs->detail), "record detail");
	}
}

/* encode_state_v2 - the fields of version 1, then the time of last use. */
static void
encode_state_v2(struct wr *w, const struct domain_state *st)
{
	encode_state_v1(w, st);
	wr_uint(w, (uint64_t)st->last_used, 8);
}

/* encode_state_v3 - the fields of version 2, then the org domain. */
static void
encode_state_v3(struct wr *w, const struct domain_state *st)
{
	encode_state_v2(w, st);
	wr_str(w, st->org, sizeof(st->org), "org");
}

/* encode_state_v4 - the fields of version 3, then the DMARC record's
 * alignment modes (0 unknown, 'r' or 's'). */
static void
encode_state_v4(struct wr *w, const struct domain_state *st)
{
	if (st->adkim != 0 && st->adkim != 'r' && st->adkim != 's')
		seterr(&w->failed, w->err, w->errlen, "adkim is not r or s");
	if (st->aspf != 0 && st->aspf != 'r' && st->aspf != 's')
		seterr(&w->failed, w->err, w->errlen, "aspf is not r or s");
	encode_state_v3(w, st);
	wr_uint(w, (uint8_t)st->adkim, 1);
	wr_uint(w, (uint8_t)st->aspf, 1);
}

/* rd_mode - an alignment mode byte: 0 (unknown), 'r' or 's'. */
static char
rd_mode(struct rd *r, const char *what)
{
	char c = (char)rd_uint(r, 1, what);

	if (!r->failed && c != 0 && c != 'r' && c != 's')
		seterr(&r->failed, r->err, r->errlen,
		       "record field %s is 0x%02x, want 0, r or s", what,
		       (unsigned char)c);
	return r->failed ? 0 : c;
}

/* decode_state_fixed_v1 - the part storecodec_state_peek() also reads (the
 * same in version 2). */
static void
decode_state_fixed_v1(struct rd *r, struct domain_state *st)
{
	st->state = (int32_t)rd_uint(r, 1, "state");
	rd_range(r, st->state, READINESS_UNKNOWN, READINESS_FAILED, "state");
	st->since = rd_i64(r, "since");
	st->first_seen = rd_i64(r, "first_seen");
	st->last_check = rd_i64(r, "last_check");
	st->last_success = rd_i64(r, "last_success");
	st->next_check = rd_i64(r, "next_check");
	st->dns_errors = (uint32_t)rd_uint(r, 4, "dns_errors");
	st->pending_checks = (uint32_t)rd_uint(r, 4, "pending_checks");
	st->notify_attempts = (uint32_t)rd_uint(r, 4, "notify_attempts");
	st->notified = (int32_t)(uint32_t)rd_uint(r, 4, "notified");
}

/* decode_state_v1 - inverse of encode_state_v1. */
static void
decode_state_v1(struct rd *r, void *out)
{
	struct domain_state *st = out;
	uint64_t n;

	decode_state_fixed_v1(r, st);
	rd_domain(r, st->domain, sizeof(st->domain), "domain");
	n = rd_uint(r, 1, "nrecords");
	rd_range(r, (int64_t)n, 0, DOMAIN_RECORDS_MAX, "nrecords");
	if (r->failed)
		return;
	st->nrecords = (uint32_t)n;
	for (uint32_t i = 0; i < st->nrecords && !r->failed; i++) {
		struct domain_record_status *rs = &st->records[i];

		rs->type = (uint8_t)rd_uint(r, 1, "record type");
		rd_range(r, rs->type, CHECK_SPF, CHECK_MX, "record type");
		rs->status = (uint8_t)rd_uint(r, 1, "record status");
		rd_range(r, rs->status, CHECK_PASS, CHECK_TEMPERROR,
		         "record status");
		rd_str(r, rs->name, sizeof(rs->name), "record name");
		rd_str(r, rs->detail, sizeof(rs->detail), "record detail");
	}
}

/* decode_state_v2 - inverse of encode_state_v2; a version 1 record
 * decodes with last_used 0 (unknown). */
static void
decode_state_v2(struct rd *r, void *out)
{
	struct domain_state *st = out;

	decode_state_v1(r, st);
	st->last_used = rd_i64(r, "last_used");
}

/* decode_state_v3 - inverse of encode_state_v3; older records decode
 * with org "" (unknown). */
static void
decode_state_v3(struct rd *r, void *out)
{
	struct domain_state *st = out;

	decode_state_v2(r, st);
	rd_str(r, st->org, sizeof(st->org), "org");
}

/* decode_state_v4 - inverse of encode_state_v4; older records decode
 * with adkim and aspf 0 (unknown). */
static void
decode_state_v4(struct rd *r, void *out)
{
	struct domain_state *st = out;

	decode_state_v3(r, st);
	st->adkim = rd_mode(r, "adkim");
	st->aspf = rd_mode(r, "aspf");
}

/* encode_held_v2 - one held-message index entry: version 1's fields,
 * then the door and the envelope sender. */
static void
encode_held_v2(struct wr *w, const struct held_msg *msg)
{
	wr_nonempty(w, msg->domain, "domain");
	wr_nonempty(w, msg->queue_id, "queue_id");
	if (!w->failed && msg->door > HELD_DOOR_INET)
		seterr(&w->failed, w->err, w->errlen,
		       "field door is %u, want 0..%d", msg->door,
		       HELD_DOOR_INET);
	wr_header(w, STORECODEC_KIND_HELD);
	wr_uint(w, (uint64_t)msg->held_at, 8);
	wr_str(w, msg->domain, sizeof(msg->domain), "domain");
	wr_str(w, msg->queue_id, sizeof(msg->queue_id), "queue_id");
	wr_str(w, msg->reason, sizeof(msg->reason), "reason");
	wr_uint(w, msg->door, 1);
	wr_str(w, msg->sender, sizeof(msg->sender), "sender");
}

/* decode_held_v1 - a version 1 entry: no door, no sender. */
static void
decode_held_v1(struct rd *r, void *out)
{
	struct held_msg *msg = out;

	msg->held_at = rd_i64(r, "held_at");
	rd_domain(r, msg->domain, sizeof(msg->domain), "domain");
	rd_domain(r, msg->queue_id, sizeof(msg->queue_id), "queue_id");
	rd_str(r, msg->reason, sizeof(msg->reason), "reason");
	msg->door = HELD_DOOR_UNKNOWN;
}

/* decode_held_v2 - inverse of encode_held_v2. */
static void
decode_held_v2(struct rd *r, void *out)
{
	struct held_msg *msg = out;

	decode_held_v1(r, out);
	msg->door = (uint8_t)rd_uint(r, 1, "door");
	rd_range(r, msg->door, HELD_DOOR_UNKNOWN, HELD_DOOR_INET, "door");
	rd_str(r, msg->sender, sizeof(msg->sender), "sender");
}

/* Decoders by (version, kind); a new format version adds rows. */
static const struct decoder {
	unsigned version;
	enum record_kind kind;
	void (*decode)(struct rd *, void *);
} decoders[] = {
    {1, STORECODEC_KIND_REG, decode_reg_v1},
    {1, STORECODEC_KIND_STATE, decode_state_v1},
    {2, STORECODEC_KIND_STATE, decode_state_v2},
    {3, STORECODEC_KIND_STATE, decode_state_v3},
    {4, STORECODEC_KIND_STATE, decode_state_v4},
    {1, STORECODEC_KIND_HELD, decode_held_v1},
    {2, STORECODEC_KIND_HELD, decode_held_v2},
};

static const char *const kind_names[] = {
    [STORECODEC_KIND_REG] = "registry",
    [STORECODEC_KIND_STATE] = "state",
    [STORECODEC_KIND_HELD] = "held",
};

/* decodable - a row of decoders[] reads (version, kind). */
static bool
decodable(unsigned version, unsigned kind)
{
	for (size_t i = 0; i < sizeof(decoders) / sizeof(decoders[0]); i++)
		if (decoders[i].version == version && decoders[i].kind == kind)
			return true;
	return false;
}

/* rd_header - magic, known version, any known kind. */
static void
rd_header(struct rd *r, unsigned *version, unsigned *kind)
{
	unsigned m0, m1;

	*version = *kind = 0;
	if (!rd_need(r, STORECODEC_HEADER_LEN, "header"))
		return;
	m0 = (unsigned)rd_uint(r, 1, "magic");
	m1 = (unsigned)rd_uint(r, 1, "magic");
	*version = (unsigned)rd_uint(r, 1, "version");
	*kind = (unsigned)rd_uint(r, 1, "kind");
	if (m0 != RECORD_MAGIC0 || m1 != RECORD_MAGIC1)
		seterr(&r->failed, r->err, r->errlen,
		       "not an authready record (magic %02x%02x)", m0, m1);
	else if (*version == 0)
		seterr(&r->failed, r->err, r->errlen,
		       "record format version 0 is not valid");
	else if (*kind < STORECODEC_KIND_REG || *kind > STORECODEC_KIND_HELD)
		seterr(&r->failed, r->err, r->errlen,
		       "record kind %u is unknown", *kind);
	else if (*version > kind_versions[*kind])
		seterr(&r->failed, r->err, r->errlen,
		       "record format version %u is newer than this program "
		       "understands (%u)",
		       *version, kind_versions[*kind]);
}

/* decode - header, kind check, table dispatch, no trailing bytes. */
static int
decode(const unsigned char *buf, size_t len, enum record_kind want, void *out,
       size_t outsize, char *err, size_t errlen)
{
	struct rd r = {buf, len, 0, false, err, errlen};
	unsigned version, kind;

	memset(out, 0, outsize);
	if (buf == NULL)
		r.len = 0;
	rd_header(&r, &version, &kind);
	if (!r.failed && kind != want)
		seterr(&r.failed, err, errlen,
		       "record is a %s record, expected %s", kind_names[kind],
		       kind_names[want]);
	for (size_t i = 0;
	     !r.failed && i < sizeof(decoders) / sizeof(decoders[0]); i++) {
		if (decoders[i].version == version &&
		    decoders[i].kind == want) {
			decoders[i].decode(&r, out);
			if (rd_end(&r) == 0)
				return 0;
		}
	}
	if (!r.failed)
		seterr(&r.failed, err, errlen,
		       "no decoder for %s records of version %u",
		       kind_names[want], version);
	memset(out, 0, outsize);
	return -1;
}

int
storecodec_header(const unsigned char *buf, size_t len, unsigned *version,
                  unsigned *kind, char *err, size_t errlen)
{
	struct rd r = {buf, buf == NULL ? 0 : len, 0, false, err, errlen};

	rd_header(&r, version, kind);
	return r.failed ? -1 : 0;
}

int
storecodec_reg_encode(const struct domain_reg *reg, unsigned char *buf,
                      size_t size, size_t *len, char *err, size_t errlen)
{
	struct wr w = {buf, size, 0, false, err, errlen};

	encode_reg_v1(&w, reg);
	return wr_finish(&w, len);
}

int
storecodec_reg_decode(const unsigned char *buf, size_t len,
                      struct domain_reg *reg, char *err, size_t errlen)
{
	return decode(buf, len, STORECODEC_KIND_REG, reg, sizeof(*reg), err,
	              errlen);
}

int
storecodec_state_encode(const struct domain_state *st, unsigned char *buf,
                        size_t size, size_t *len, char *err, size_t errlen)
{
	struct wr w = {buf, size, 0, false, err, errlen};

	encode_state_v4(&w, st);
	return wr_finish(&w, len);
}

int
storecodec_state_decode(const unsigned char *buf, size_t len,
                        struct domain_state *st, char *err, size_t errlen)
{
	return decode(buf, len, STORECODEC_KIND_STATE, st, sizeof(*st), err,
	              errlen);
}

/* peek_header - magic, a known version, and the kind a peek wants; the
 * version (0 when the header fails). */
static unsigned
peek_header(struct rd *r, enum record_kind want)
{
	unsigned version, kind;

	rd_header(r, &version, &kind);
	if (!r->failed && kind != want)
		seterr(&r->failed, r->err, r->errlen,
		       "record is a %s record, expected %s", kind_names[kind],
		       kind_names[want]);
	/* Every version of a state shares the fixed block; what follows
	 * the records differs (peek_tail).  A registry entry has only
	 * version 1. */
	if (!r->failed && !decodable(version, kind))
		seterr(&r->failed, r->err, r->errlen,
		       "no decoder for %s records of version %u",
		       kind_names[want], version);
	return r->failed ? 0 : version;
}

/* peek_domain - the framing of the domain string, left in place: its
 * offset and length; false when the record fails. */
static bool
peek_domain(struct rd *r, size_t *off, size_t *len)
{
	size_t n = (size_t)rd_uint(r, 2, "domain");

	if (!r->failed && (n == 0 || n > DOMAIN_MAX))
		seterr(&r->failed, r->err, r->errlen,
		       "record field domain is %zu bytes, want 1..%d", n,
		       DOMAIN_MAX);
	if (!rd_need(r, n, "domain"))
		return false;
	*off = r->off;
	*len = n;
	r->off += n;
	return true;
}

/* peek_skip - step over a string of at most max bytes, unread. */
static void
peek_skip(struct rd *r, size_t max, const char *what)
{
	size_t n = (size_t)rd_uint(r, 2, what);

	if (!r->failed && n > max)
		seterr(&r->failed, r->err, r->errlen,
		       "record field %s is %zu bytes, at most %zu allowed",
		       what, n, max);
	if (rd_need(r, n, what))
		r->off += n;
}

/* peek_records - the first record that is not a pass, copied, the
 * types of every record by status, and whether a DKIM record passed;
 * every record's framing is checked.  False when the record fails. */
static bool
peek_records(struct rd *r, struct storecodec_state_summary *sum)
{
	uint64_t n = rd_uint(r, 1, "nrecords");
	uint8_t type, status;

	sum->problem_name[0] = '\0';
	rd_range(r, (int64_t)n, 0, DOMAIN_RECORDS_MAX, "nrecords");
	for (uint64_t i = 0; i < n && !r->failed; i++) {
		type = (uint8_t)rd_uint(r, 1, "record type");
		rd_range(r, type, CHECK_SPF, CHECK_MX, "record type");
		status = (uint8_t)rd_uint(r, 1, "record status");
		rd_range(r, status, CHECK_PASS, CHECK_TEMPERROR,
		         "record status");
		if (r->failed)
			break;
		if (status == CHECK_PASS)
			sum->pass_types |= (uint8_t)(1u << type);
		else
			sum->problem_types |= (uint8_t)(1u << type);
		if (status == CHECK_PASS && type == CHECK_DKIM)
			sum->dkim_pass = true;
		if (status == CHECK_PASS || sum->problem) {
			peek_skip(r, DOMAIN_BUF - 1, "record name");
		} else {
			rd_str(r, sum->problem_name, sizeof(sum->problem_name),
			       "record name");
			sum->problem = !r->failed;
			sum->problem_type = type;
			sum->problem_status = status;
		}
		peek_skip(r, DOMAIN_RECORD_DETAIL_MAX - 1, "record detail");
	}
	if (!sum->problem)
		sum->problem_name[0] = '\0';
	return !r->failed;
}

/* peek_tail - what follows the records in version: last_used (2),
 * the org (3), the alignment modes (4). */
static void
peek_tail(struct rd *r, unsigned version, struct storecodec_state_summary *sum)
{
	if (version >= 2)
		(void)rd_i64(r, "last_used");
	if (version >= 3)
		rd_str(r, sum->org, sizeof(sum->org), "org");
	if (version >= 4) {
		sum->adkim = rd_mode(r, "adkim");
		sum->aspf = rd_mode(r, "aspf");
	}
}

int
storecodec_state_peek(const unsigned char *buf, size_t len,
                      struct storecodec_state_summary *sum, char *err,
                      size_t errlen)
{
	struct rd r = {buf, buf == NULL ? 0 : len, 0, false, err, errlen};
	struct domain_state st; /* fixed fields only; strings untouched */
	unsigned version;
	size_t off, n;

	memset(sum, 0, sizeof(*sum));
	version = peek_header(&r, STORECODEC_KIND_STATE);
	decode_state_fixed_v1(&r, &st);
	if (!peek_domain(&r, &off, &n) || !peek_records(&r, sum))
		return -1;
	peek_tail(&r, version, sum);
	if (r.failed) {
		memset(sum, 0, sizeof(*sum));
		return -1;
	}
	sum->state = st.state;
	sum->dns_errors = st.dns_errors;
	sum->since = st.since;
	sum->next_check = st.next_check;
	sum->last_success = st.last_success;
	sum->domain = buf + off;
	sum->domain_len = n;
	return 0;
}

int
storecodec_reg_peek(const unsigned char *buf, size_t len,
                    struct storecodec_reg_summary *sum, char *err,
                    size_t errlen)
{
	struct rd r = {buf, buf == NULL ? 0 : len, 0, false, err, errlen};
	size_t off, n;
	int64_t policy;

	memset(sum, 0, sizeof(*sum));
	(void)peek_header(&r, STORECODEC_KIND_REG);
	(void)rd_i64(&r, "added");
	policy = (int8_t)rd_uint(&r, 1, "dmarc_min_policy");
	rd_range(&r, policy, DMARC_POLICY_UNSET, DMARC_POLICY_REJECT,
	         "dmarc_min_policy");
	if (!peek_domain(&r, &off, &n))
		return -1;
	rd_str(&r, sum->mail_from, sizeof(sum->mail_from), "mail_from");
	if (r.failed) {
		memset(sum, 0, sizeof(*sum));
		return -1;
	}
	sum->domain = buf + off;
	sum->domain_len = n;
	return 0;
}

int
storecodec_held_encode(const struct held_msg *msg, unsigned char *buf,
                       size_t size, size_t *len, char *err, size_t errlen)
{
	struct wr w = {buf, size, 0, false, err, errlen};

	encode_held_v2(&w, msg);
	return wr_finish(&w, len);
}

int
storecodec_held_decode(const unsigned char *buf, size_t len,
                       struct held_msg *msg, char *err, size_t errlen)
{
	return decode(buf, len, STORECODEC_KIND_HELD, msg, sizeof(*msg), err,
	              errlen);
}
