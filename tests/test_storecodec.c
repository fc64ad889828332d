/*
 * test_storecodec.c - the store's binary codec: round trips at the limits,
 * size, and rejection of truncated, padded, foreign and mutated input.
 *
 * SYNOPSIS
 *	make check TESTS=tests/test_storecodec
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storecodec.h"

/* Offsets in a version 1 state record (see storecodec.c). */
#define OFF_VERSION 2
#define OFF_KIND 3
#define OFF_STATE 4
#define OFF_DOMAIN_LEN STORECODEC_STATE_FIXED
/* ... and in a registry record. */
#define OFF_REG_POLICY 12
#define OFF_REG_DOMAIN_LEN 13

/* fill - a string of n copies of c into dst. */
static void
fill(char *dst, size_t n, char c)
{
	memset(dst, c, n);
	dst[n] = '\0';
}

/* full_reg - every field at its maximum. */
static void
full_reg(struct domain_reg *reg)
{
	memset(reg, 0, sizeof(*reg));
	fill(reg->domain, DOMAIN_MAX, 'd');
	fill(reg->mail_from, DOMAIN_MAX, 'm');
	fill(reg->mx_host, DOMAIN_MAX, 'x');
	fill(reg->spf_include, DOMAIN_MAX, 's');
	fill(reg->contact, DOMAIN_CONTACT_MAX - 1, 'c');
	reg->nselectors = DOMAIN_SELECTORS_MAX;
	for (int i = 0; i < DOMAIN_SELECTORS_MAX; i++) {
		fill(reg->selectors[i].name, DOMAIN_SELECTOR_MAX - 1,
		     (char)('a' + i));
		fill(reg->selectors[i].key_path, DOMAIN_KEY_PATH_MAX - 1,
		     (char)('A' + i));
	}
	reg->negress = DOMAIN_EGRESS_MAX;
	for (int i = 0; i < DOMAIN_EGRESS_MAX; i++)
		fill(reg->egress[i], DOMAIN_IP_TEXT_MAX - 1, (char)('0' + i));
	reg->dmarc_min_policy = DMARC_POLICY_REJECT;
	reg->added = INT64_MIN;
}

/* full_state - every field at its maximum. */
static void
full_state(struct domain_state *st)
{
	memset(st, 0, sizeof(*st));
	fill(st->domain, DOMAIN_MAX, 'e');
	st->state = READINESS_FAILED;
	st->since = INT64_MAX;
	st->first_seen = INT64_MIN;
	st->last_check = -1;
	st->last_success = 0;
	st->next_check = 1700000000;
	st->dns_errors = UINT32_MAX;
	st->pending_checks = 7;
	st->notify_attempts = UINT32_MAX - 1;
	st->notified = -1;
	st->last_used = INT64_MIN;
	fill(st->org, DOMAIN_MAX, 'o');
	st->nrecords = DOMAIN_RECORDS_MAX;
	for (int i = 0; i < DOMAIN_RECORDS_MAX; i++) {
		st->records[i].type = (uint8_t)(i % 4);
		st->records[i].status = (uint8_t)(3 - i % 4);
		fill(st->records[i].name, DOMAIN_MAX, (char)('a' + i));
		fill(st->records[i].detail, DOMAIN_RECORD_DETAIL_MAX - 1,
		     (char)('A' + i));
	}
}

/* small_state - three records with realistic text. */
static void
small_state(struct domain_state *st)
{
	static const char *const names[] = {"mail.example.com",
	                                    "s1._domainkey.example.com",
	                                    "_dmarc.example.com"};

	memset(st, 0, sizeof(*st));
	snprintf(st->domain, sizeof(st->domain), "example.com");
	st->state = READINESS_VERIFIED;
	st->since = 1700000000;
	st->next_check = 1700003600;
	st->last_success = 1700000000;
	st->dns_errors = 2;
	st->nrecords = 3;
	for (int i = 0; i < 3; i++) {
		st->records[i].type = (uint8_t)i;
		st->records[i].status = CHECK_PASS;
		snprintf(st->records[i].name, sizeof(st->records[i].name), "%s",
		         names[i]);
		snprintf(st->records[i].detail, sizeof(st->records[i].detail),
		         "record published as expected");
	}
}

/* The peek copies the first record that is not a pass, so the milter
 * needs no second read. */
START_TEST(test_state_peek_problem)
{
	static struct domain_state st;
	static unsigned char buf[STORECODEC_STATE_MAX];
	struct storecodec_state_summary sum;
	char err[256];
	size_t len;

	small_state(&st);
	ck_assert_int_eq(storecodec_state_encode(&st, buf, sizeof(buf), &len,
	                                         err, sizeof(err)),
	                 0);
	ck_assert_int_eq(
	    storecodec_state_peek(buf, len, &sum, err, sizeof(err)), 0);
	ck_assert(!sum.problem); /* every record passes */
	ck_assert(sum.dkim_pass);
	st.state = READINESS_PENDING;
	st.records[0].type = CHECK_DKIM;
	st.records[0].status = CHECK_MISSING;
	ck_assert_int_eq(storecodec_state_encode(&st, buf, sizeof(buf), &len,
	                                         err, sizeof(err)),
	                 0);
	ck_assert_int_eq(
	    storecodec_state_peek(buf, len, &sum, err, sizeof(err)), 0);
	ck_assert(sum.problem);
	ck_assert_uint_eq(sum.problem_type, CHECK_DKIM);
	ck_assert_uint_eq(sum.problem_status, CHECK_MISSING);
	ck_assert_str_eq(sum.problem_name, "mail.example.com");
	/* after records that pass */
	st.records[0].status = CHECK_PASS;
	st.records[2].status = CHECK_FAIL;
	ck_assert_int_eq(storecodec_state_encode(&st, buf, sizeof(buf), &len,
	                                         err, sizeof(err)),
	                 0);
	ck_assert_int_eq(
	    storecodec_state_peek(buf, len, &sum, err, sizeof(err)), 0);
	ck_assert(sum.problem);
	ck_assert_uint_eq(sum.problem_type, 2);
	ck_assert_uint_eq(sum.problem_status, CHECK_FAIL);
	ck_assert_str_eq(sum.problem_name, "_dmarc.example.com");
	/* a DKIM record that passed, before or after the problem */
	ck_assert(sum.dkim_pass); /* records[0], a DKIM record now */
	st.records[0].type = CHECK_SPF;
	st.records[1].status = CHECK_MISSING;
	ck_assert_int_eq(storecodec_state_encode(&st, buf, sizeof(buf), &len,
	                                         err, sizeof(err)),
	                 0);
	ck_assert_int_eq(
	    storecodec_state_peek(buf, len, &sum, err, sizeof(err)), 0);
	ck_assert_str_eq(sum.problem_name, "s1._domainkey.example.com");
	ck_assert(!sum.dkim_pass);
	st.records[0].status = CHECK_FAIL;
	st.records[1].status = CHECK_PASS;
	ck_assert_int_eq(storecodec_state_encode(&st, buf, sizeof(buf), &len,
	                                         err, sizeof(err)),
	                 0);
	ck_assert_int_eq(
	    storecodec_state_peek(buf, len, &sum, err, sizeof(err)), 0);
	ck_assert(sum.problem && sum.dkim_pass);
	ck_assert_uint_eq(sum.problem_type, CHECK_SPF);
	st.records[0].status = st.records[1].status = CHECK_PASS;
	st.nrecords = 0;
	ck_assert_int_eq(storecodec_state_encode(&st, buf, sizeof(buf), &len,
	                                         err, sizeof(err)),
	                 0);
	ck_assert_int_eq(
	    storecodec_state_peek(buf, len, &sum, err, sizeof(err)), 0);
	ck_assert(!sum.problem);
}
END_TEST

START_TEST(test_reg_round_trip_limits)
{
	static struct domain_reg in, out;
	static unsigned char buf[STORECODEC_REG_MAX];
	char err[256];
	size_t len;

	full_reg(&in);
	ck_assert_int_eq(storecodec_reg_encode(&in, buf, sizeof(buf), &len, err,
	                                       sizeof(err)),
	                 0);
	ck_assert_uint_eq(len, STORECODEC_REG_MAX);
	ck_assert_int_eq(
	    storecodec_reg_decode(buf, len, &out, err, sizeof(err)), 0);
	ck_assert_int_eq(memcmp(&in, &out, sizeof(in)), 0);

	/* The smallest: only the domain; global policy; negative time. */
	memset(&in, 0, sizeof(in));
	snprintf(in.domain, sizeof(in.domain), "a");
	in.dmarc_min_policy = DMARC_POLICY_UNSET;
	in.added = -5;
	ck_assert_int_eq(storecodec_reg_encode(&in, buf, sizeof(buf), &len, err,
	                                       sizeof(err)),
	                 0);
	ck_assert_int_eq(
	    storecodec_reg_decode(buf, len, &out, err, sizeof(err)), 0);
	ck_assert_int_eq(memcmp(&in, &out, sizeof(in)), 0);
	ck_assert_int_eq(out.dmarc_min_policy, -1);
	ck_assert_int_eq(out.added, -5);
}
END_TEST

START_TEST(test_state_round_trip_limits)
{
	static struct domain_state in, out;
	static unsigned char buf[STORECODEC_STATE_MAX];
	struct storecodec_state_summary sum;
	char err[256];
	size_t len;

	full_state(&in);
	ck_assert_int_eq(storecodec_state_encode(&in, buf, sizeof(buf), &len,
	                                         err, sizeof(err)),
	                 0);
	ck_assert_uint_eq(len, STORECODEC_STATE_MAX);
	ck_assert_int_eq(
	    storecodec_state_decode(buf, len, &out, err, sizeof(err)), 0);
	ck_assert_int_eq(memcmp(&in, &out, sizeof(in)), 0);
	ck_assert_int_eq(
	    storecodec_state_peek(buf, len, &sum, err, sizeof(err)), 0);
	ck_assert_int_eq(sum.state, READINESS_FAILED);
	ck_assert(sum.since == INT64_MAX);
	ck_assert(sum.next_check == 1700000000);
	ck_assert(sum.last_success == 0);
	ck_assert_uint_eq(sum.dns_errors, UINT32_MAX);
	ck_assert_uint_eq(sum.domain_len, DOMAIN_MAX);
	ck_assert_int_eq(memcmp(sum.domain, in.domain, DOMAIN_MAX), 0);
}
END_TEST

START_TEST(test_reg_peek)
{
	static struct domain_reg in;
	static unsigned char buf[STORECODEC_REG_MAX];
	struct storecodec_reg_summary sum;
	char err[256];
	size_t len, cut;

	full_reg(&in);
	ck_assert_int_eq(storecodec_reg_encode(&in, buf, sizeof(buf), &len, err,
	                                       sizeof(err)),
	                 0);
	ck_assert_int_eq(storecodec_reg_peek(buf, len, &sum, err, sizeof(err)),
	                 0);
	ck_assert_str_eq(sum.mail_from, in.mail_from);
	ck_assert_uint_eq(sum.domain_len, DOMAIN_MAX);
	ck_assert_int_eq(memcmp(sum.domain, in.domain, DOMAIN_MAX), 0);

	/* Every cut inside the fields peek reads is truncation; the rest
	 * of the record is not its business. */
	cut = OFF_REG_DOMAIN_LEN + 2 + DOMAIN_MAX + 2 + DOMAIN_MAX;
	for (size_t n = 0; n < cut; n++) {
		ck_assert_int_eq(
		    storecodec_reg_peek(buf, n, &sum, err, sizeof(err)), -1);
		ck_assert_str_eq(sum.mail_from, "");
		ck_assert_ptr_null(sum.domain);
	}
	ck_assert_int_eq(storecodec_reg_peek(buf, cut, &sum, err, sizeof(err)),
	                 0);
	ck_assert_int_eq(storecodec_reg_peek(NULL, 0, &sum, err, sizeof(err)),
	                 -1);

	buf[OFF_REG_POLICY] = DMARC_POLICY_REJECT + 1;
	ck_assert_int_eq(storecodec_reg_peek(buf, len, &sum, err, sizeof(err)),
	                 -1);
	ck_assert_ptr_nonnull(strstr(err, "dmarc_min_policy"));
	buf[OFF_REG_POLICY] = DMARC_POLICY_REJECT;

	buf[OFF_KIND] = STORECODEC_KIND_STATE;
	ck_assert_int_eq(storecodec_reg_peek(buf, len, &sum, err, sizeof(err)),
	                 -1);
	ck_assert_ptr_nonnull(strstr(err, "state record, expected registry"));
	buf[OFF_KIND] = STORECODEC_KIND_REG;

	buf[OFF_REG_DOMAIN_LEN] = 0; /* empty domain */
	buf[OFF_REG_DOMAIN_LEN + 1] = 0;
	ck_assert_int_eq(storecodec_reg_peek(buf, len, &sum, err, sizeof(err)),
	                 -1);
	ck_assert_ptr_nonnull(strstr(err, "want 1..253"));
}
END_TEST

START_TEST(test_state_compact)
{
	static struct domain_state in, out;
	unsigned char buf[STORECODEC_STATE_MAX];
	char err[256];
	size_t len;

	small_state(&in);
	ck_assert_int_eq(storecodec_state_encode(&in, buf, sizeof(buf), &len,
	                                         err, sizeof(err)),
	                 0);
	/* Used bytes only: far below sizeof(struct domain_state). */
	ck_assert_uint_lt(len, 300);
	ck_assert_uint_gt(sizeof(struct domain_state), 6000);
	ck_assert_int_eq(
	    storecodec_state_decode(buf, len, &out, err, sizeof(err)), 0);
	ck_assert_int_eq(memcmp(&in, &out, sizeof(in)), 0);

	/* Three records with long details stay near 1 KB. */
	for (int i = 0; i < 3; i++)
		fill(in.records[i].detail, 250, 'z');
	ck_assert_int_eq(storecodec_state_encode(&in, buf, sizeof(buf), &len,
	                                         err, sizeof(err)),
	                 0);
	ck_assert_uint_lt(len, 1100);
}
END_TEST

START_TEST(test_held_round_trip)
{
	static struct held_msg in, out;
	static struct domain_state st;
	unsigned char buf[STORECODEC_HELD_MAX];
	char err[256];
	size_t len;

	memset(&in, 0, sizeof(in));
	fill(in.domain, DOMAIN_MAX, 'h');
	fill(in.queue_id, HELD_QUEUE_ID_MAX - 1, 'Q');
	fill(in.reason, HELD_REASON_MAX - 1, 'r');
	fill(in.sender, HELD_SENDER_MAX - 1, 's');
	in.door = HELD_DOOR_INET;
	in.held_at = INT64_MAX;
	ck_assert_int_eq(storecodec_held_encode(&in, buf, sizeof(buf), &len,
	                                        err, sizeof(err)),
	                 0);
	ck_assert_uint_eq(len, STORECODEC_HELD_MAX);
	ck_assert_uint_eq(buf[OFF_VERSION], STORECODEC_HELD_VERSION);
	ck_assert_int_eq(
	    storecodec_held_decode(buf, len, &out, err, sizeof(err)), 0);
	ck_assert_int_eq(memcmp(&in, &out, sizeof(in)), 0);
	/* A held record is not a state. */
	ck_assert_int_eq(
	    storecodec_state_decode(buf, len, &st, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "held record, expected state"));
}
END_TEST

/* A held entry of version 1 (before doors) still reads: door unknown, no
 * sender; a door out of range does not. */
START_TEST(test_held_versions)
{
	static const unsigned char v1[] = {
	    0x41, 0xd7, 0x01, 0x03,                   /* header, v1 */
	    5,    0,    0,    0,    0,   0,   0,   0, /* held_at */
	    11,   0,    'e',  'x',  'a', 'm', 'p', 'l', 'e',
	    '.',  'c',  'o',  'm',  2,   0,   'Q', '1', /* queue_id */
	    1,    0,    'r'};                           /* reason */
	static struct held_msg in, out;
	unsigned char buf[STORECODEC_HELD_MAX];
	char err[256];
	size_t len;

	ck_assert_int_eq(
	    storecodec_held_decode(v1, sizeof(v1), &out, err, sizeof(err)), 0);
	ck_assert_str_eq(out.queue_id, "Q1");
	ck_assert_int_eq(out.held_at, 5);
	ck_assert_uint_eq(out.door, HELD_DOOR_UNKNOWN);
	ck_assert_str_eq(out.sender, "");

	memset(&in, 0, sizeof(in));
	snprintf(in.domain, sizeof(in.domain), "example.com");
	snprintf(in.queue_id, sizeof(in.queue_id), "Q1");
	snprintf(in.sender, sizeof(in.sender), "a@example.com");
	in.door = HELD_DOOR_UNIX;
	ck_assert_int_eq(storecodec_held_encode(&in, buf, sizeof(buf), &len,
	                                        err, sizeof(err)),
	                 0);
	/* the door is the octet before the sender (2 + 13 octets) */
	ck_assert_uint_eq(buf[len - 16], HELD_DOOR_UNIX);
	buf[len - 16] = 3;
	ck_assert_int_eq(
	    storecodec_held_decode(buf, len, &out, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "door"));
	in.door = 3;
	ck_assert_int_eq(storecodec_held_encode(&in, buf, sizeof(buf), &len,
	                                        err, sizeof(err)),
	                 -1);
	/* a version 3 held entry is from a newer program */
	in.door = HELD_DOOR_UNIX;
	ck_assert_int_eq(storecodec_held_encode(&in, buf, sizeof(buf), &len,
	                                        err, sizeof(err)),
	                 0);
	buf[OFF_VERSION] = STORECODEC_HELD_VERSION + 1;
	ck_assert_int_eq(
	    storecodec_held_decode(buf, len, &out, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "newer"));
}
END_TEST

/* encode_small - a valid small state record into buf. */
static size_t
encode_small(unsigned char *buf, size_t size)
{
	static struct domain_state st;
	char err[256];
	size_t len;

	small_state(&st);
	ck_assert_int_eq(
	    storecodec_state_encode(&st, buf, size, &len, err, sizeof(err)), 0);
	return len;
}

/* expect_state_error - decoding fails with err containing want. */
static void
expect_state_error(const unsigned char *buf, size_t len, const char *want)
{
	static struct domain_state st;
	char err[256] = "";

	ck_assert_int_eq(
	    storecodec_state_decode(buf, len, &st, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, want) != NULL, "error \"%s\" lacks \"%s\"",
	              err, want);
	ck_assert_int_eq(st.nrecords, 0); /* nothing half-filled */
	ck_assert_str_eq(st.domain, "");
}

/*
 * Version 4 states end with the DMARC alignment modes (adkim, aspf; a
 * version 3 state decodes with 0, unknown), version 3 states with the
 * organizational domain (org), version 2
 * with last_used; a version 2 state is the same record without org and
 * decodes with org "" (unknown); a version 1 state (written by the
 * programs before it) is the same record without last_used either, and
 * stays readable: it decodes, and peeks, with last_used 0.  Each kind has its
 * own version: a registry entry is still written as version 1 (a downgraded
 * program keeps its registry) and one that claims version 2 is refused;
 * a held entry is written as version 2 (door and sender), whatever the
 * state's version.
 */
START_TEST(test_state_versions)
{
	static struct domain_state in, out;
	static struct domain_reg reg;
	static struct held_msg held;
	unsigned char buf[STORECODEC_STATE_MAX], rbuf[STORECODEC_REG_MAX];
	struct storecodec_state_summary sum;
	struct storecodec_reg_summary rsum;
	char err[256];
	size_t len, rlen;
	unsigned v, k;

	small_state(&in);
	in.last_used = 1700000123;
	snprintf(in.org, sizeof(in.org), "example.com");
	in.adkim = 's';
	in.aspf = 'r';
	ck_assert_int_eq(storecodec_state_encode(&in, buf, sizeof(buf), &len,
	                                         err, sizeof(err)),
	                 0);
	ck_assert_int_eq(storecodec_header(buf, len, &v, &k, err, sizeof(err)),
	                 0);
	ck_assert_uint_eq(v, STORECODEC_STATE_VERSION);
	ck_assert_uint_eq(v, 4);
	ck_assert_int_eq(
	    storecodec_state_decode(buf, len, &out, err, sizeof(err)), 0);
	ck_assert(out.last_used == 1700000123);
	ck_assert_str_eq(out.org, "example.com");
	ck_assert_int_eq(out.adkim, 's');
	ck_assert_int_eq(out.aspf, 'r');
	ck_assert_int_eq(memcmp(&in, &out, sizeof(in)), 0);
	/* the peek reads past the records: org and modes for alignment */
	ck_assert_int_eq(
	    storecodec_state_peek(buf, len, &sum, err, sizeof(err)), 0);
	ck_assert_str_eq(sum.org, "example.com");
	ck_assert_int_eq(sum.adkim, 's');
	ck_assert_int_eq(sum.aspf, 'r');
	/* a mode byte other than 0, r or s is refused, by both */
	buf[len - 1] = 'x';
	expect_state_error(buf, len, "aspf");
	ck_assert_int_eq(
	    storecodec_state_peek(buf, len, &sum, err, sizeof(err)), -1);
	buf[len - 1] = 'r';

	/* The same state as version 3 wrote it: no modes (unknown). */
	buf[OFF_VERSION] = 3;
	len -= 2;
	ck_assert_int_eq(
	    storecodec_state_decode(buf, len, &out, err, sizeof(err)), 0);
	ck_assert_int_eq(out.adkim, 0);
	ck_assert_int_eq(out.aspf, 0);
	in.adkim = in.aspf = 0;
	ck_assert_int_eq(memcmp(&in, &out, sizeof(in)), 0);
	ck_assert_int_eq(
	    storecodec_state_peek(buf, len, &sum, err, sizeof(err)), 0);
	ck_assert_str_eq(sum.org, "example.com");
	ck_assert_int_eq(sum.adkim, 0);
	expect_state_error(buf, len + 2, "trailing");
	buf[OFF_VERSION] = 4;
	expect_state_error(buf, len, "truncated");
	buf[OFF_VERSION] = 3;

	/* The same state as version 2 wrote it: no org (unknown). */
	buf[OFF_VERSION] = 2;
	len -= 2 + strlen("example.com");
	ck_assert_int_eq(
	    storecodec_state_decode(buf, len, &out, err, sizeof(err)), 0);
	ck_assert_str_eq(out.org, "");
	memset(in.org, 0, sizeof(in.org));
	ck_assert_int_eq(memcmp(&in, &out, sizeof(in)), 0);
	/* A version 2 record with version 3's tail, and the reverse. */
	expect_state_error(buf, len + 2, "trailing");
	buf[OFF_VERSION] = 3;
	expect_state_error(buf, len, "truncated");

	/* The same state as version 1 wrote it. */
	buf[OFF_VERSION] = 1;
	len -= 8;
	ck_assert_int_eq(
	    storecodec_state_decode(buf, len, &out, err, sizeof(err)), 0);
	ck_assert(out.last_used == 0);
	in.last_used = 0;
	ck_assert_int_eq(memcmp(&in, &out, sizeof(in)), 0);
	ck_assert_int_eq(
	    storecodec_state_peek(buf, len, &sum, err, sizeof(err)), 0);
	ck_assert_int_eq(sum.state, READINESS_VERIFIED);
	/* A version 1 record with version 2's tail, and the reverse. */
	expect_state_error(buf, len + 8, "trailing");
	buf[OFF_VERSION] = 2;
	expect_state_error(buf, len, "truncated");

	memset(&reg, 0, sizeof(reg));
	snprintf(reg.domain, sizeof(reg.domain), "example.com");
	reg.dmarc_min_policy = DMARC_POLICY_UNSET;
	ck_assert_int_eq(storecodec_reg_encode(&reg, rbuf, sizeof(rbuf), &rlen,
	                                       err, sizeof(err)),
	                 0);
	ck_assert_int_eq(
	    storecodec_header(rbuf, rlen, &v, &k, err, sizeof(err)), 0);
	ck_assert_uint_eq(v, STORECODEC_VERSION);
	ck_assert_uint_eq(v, 1);
	rbuf[OFF_VERSION] = 2;
	ck_assert_int_eq(
	    storecodec_reg_decode(rbuf, rlen, &reg, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "newer"));
	ck_assert_int_eq(
	    storecodec_reg_peek(rbuf, rlen, &rsum, err, sizeof(err)), -1);

	memset(&held, 0, sizeof(held));
	snprintf(held.domain, sizeof(held.domain), "example.com");
	snprintf(held.queue_id, sizeof(held.queue_id), "Q1");
	ck_assert_int_eq(storecodec_held_encode(&held, rbuf, sizeof(rbuf),
	                                        &rlen, err, sizeof(err)),
	                 0);
	ck_assert_int_eq(
	    storecodec_header(rbuf, rlen, &v, &k, err, sizeof(err)), 0);
	ck_assert_uint_eq(v, STORECODEC_HELD_VERSION);
	ck_assert_uint_eq(v, 2);
}
END_TEST

START_TEST(test_truncated_and_trailing)
{
	unsigned char buf[STORECODEC_STATE_MAX + 1];
	size_t len = encode_small(buf, sizeof(buf) - 1);

	for (size_t i = 0; i < len; i++)
		expect_state_error(buf, i, "truncated");
	buf[len] = 0;
	expect_state_error(buf, len + 1, "trailing");
	expect_state_error(NULL, 0, "truncated");
}
END_TEST

START_TEST(test_header_rejections)
{
	unsigned char buf[STORECODEC_STATE_MAX];
	size_t len = encode_small(buf, sizeof(buf));
	struct storecodec_state_summary sum;
	char err[256];
	unsigned v, k;

	ck_assert_int_eq(storecodec_header(buf, len, &v, &k, err, sizeof(err)),
	                 0);
	ck_assert_uint_eq(v, STORECODEC_STATE_VERSION);
	ck_assert_uint_eq(k, STORECODEC_KIND_STATE);

	buf[OFF_VERSION] = 0;
	expect_state_error(buf, len, "version 0 is not valid");
	ck_assert_int_eq(
	    storecodec_state_peek(buf, len, &sum, err, sizeof(err)), -1);
	buf[OFF_VERSION] = STORECODEC_STATE_VERSION + 1;
	expect_state_error(buf, len, "newer than this program");
	ck_assert_int_eq(
	    storecodec_state_peek(buf, len, &sum, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "newer"));
	buf[OFF_VERSION] = 255;
	expect_state_error(buf, len, "newer");
	buf[OFF_VERSION] = STORECODEC_STATE_VERSION;

	buf[OFF_KIND] = 9;
	expect_state_error(buf, len, "kind 9 is unknown");
	/* A registry header (each kind has its own version). */
	buf[OFF_KIND] = STORECODEC_KIND_REG;
	buf[OFF_VERSION] = STORECODEC_VERSION;
	expect_state_error(buf, len, "registry record, expected state");
	ck_assert_int_eq(
	    storecodec_state_peek(buf, len, &sum, err, sizeof(err)), -1);
	buf[OFF_KIND] = STORECODEC_KIND_STATE;
	buf[OFF_VERSION] = STORECODEC_STATE_VERSION;

	buf[0] = 'v'; /* e.g. a text value from another program */
	expect_state_error(buf, len, "not an authready record");
	expect_state_error((const unsigned char *)"v=spf1 -all", 11,
	                   "not an authready record");
}
END_TEST

START_TEST(test_field_rejections)
{
	unsigned char buf[STORECODEC_STATE_MAX], orig[STORECODEC_STATE_MAX];
	size_t len = encode_small(orig, sizeof(orig));
	struct storecodec_state_summary sum;
	char err[256];
	size_t dl = strlen("example.com");
	size_t nrec = OFF_DOMAIN_LEN + 2 + dl;

	memcpy(buf, orig, len);
	buf[OFF_STATE] = READINESS_FAILED + 1;
	expect_state_error(buf, len, "field state is 5");
	ck_assert_int_eq(
	    storecodec_state_peek(buf, len, &sum, err, sizeof(err)), -1);

	memcpy(buf, orig, len);
	buf[OFF_DOMAIN_LEN] = 0xff; /* 255 > DOMAIN_MAX */
	buf[OFF_DOMAIN_LEN + 1] = 0;
	expect_state_error(buf, len, "at most 253");
	ck_assert_int_eq(
	    storecodec_state_peek(buf, len, &sum, err, sizeof(err)), -1);

	memcpy(buf, orig, len);
	buf[OFF_DOMAIN_LEN] = 0;
	buf[OFF_DOMAIN_LEN + 1] = 0x01; /* 256 */
	expect_state_error(buf, len, "at most");

	memcpy(buf, orig, len);
	buf[OFF_DOMAIN_LEN + 2 + 3] = '\0';
	expect_state_error(buf, len, "NUL");

	memcpy(buf, orig, len);
	buf[nrec] = DOMAIN_RECORDS_MAX + 1;
	expect_state_error(buf, len, "nrecords is 13");

	memcpy(buf, orig, len);
	buf[nrec + 1] = CHECK_MX + 1; /* first record's type */
	expect_state_error(buf, len, "record type is 4");

	memcpy(buf, orig, len);
	buf[nrec + 2] = CHECK_TEMPERROR + 1;
	expect_state_error(buf, len, "record status is 4");

	/* Empty domain: a key can never be empty. */
	memcpy(buf, orig, OFF_DOMAIN_LEN);
	buf[OFF_DOMAIN_LEN] = 0;
	buf[OFF_DOMAIN_LEN + 1] = 0;
	memcpy(buf + OFF_DOMAIN_LEN + 2, orig + nrec, len - nrec);
	expect_state_error(buf, len - dl, "domain is empty");
	ck_assert_int_eq(
	    storecodec_state_peek(buf, len - dl, &sum, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_reg_rejections)
{
	static struct domain_reg reg, out;
	unsigned char buf[STORECODEC_REG_MAX];
	char err[256];
	size_t len;

	memset(&reg, 0, sizeof(reg));
	snprintf(reg.domain, sizeof(reg.domain), "example.com");
	ck_assert_int_eq(storecodec_reg_encode(&reg, buf, sizeof(buf), &len,
	                                       err, sizeof(err)),
	                 0);
	buf[OFF_REG_POLICY] = 3;
	ck_assert_int_eq(
	    storecodec_reg_decode(buf, len, &out, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "dmarc_min_policy is 3"));
	buf[OFF_REG_POLICY] = 0xfe; /* -2 */
	ck_assert_int_eq(
	    storecodec_reg_decode(buf, len, &out, err, sizeof(err)), -1);
	buf[OFF_REG_POLICY] = 0;
	buf[len - 2] = DOMAIN_SELECTORS_MAX + 1; /* nselectors */
	ck_assert_int_eq(
	    storecodec_reg_decode(buf, len, &out, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "nselectors is 9"));
	buf[len - 2] = 0;
	buf[len - 1] = DOMAIN_EGRESS_MAX + 1;
	ck_assert_int_eq(
	    storecodec_reg_decode(buf, len, &out, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "negress is 17"));
	buf[len - 1] = 1; /* claims one egress, none follows */
	ck_assert_int_eq(
	    storecodec_reg_decode(buf, len, &out, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "truncated"));
	buf[len - 1] = 0;
	ck_assert_int_eq(
	    storecodec_reg_decode(buf, len, &out, err, sizeof(err)), 0);
	ck_assert_uint_eq(buf[OFF_REG_DOMAIN_LEN], strlen("example.com"));
}
END_TEST

START_TEST(test_encode_rejections)
{
	static struct domain_state st;
	static struct domain_reg reg;
	static struct held_msg msg;
	unsigned char buf[STORECODEC_MAX];
	char err[256];
	size_t len;

	small_state(&st);
	st.nrecords = DOMAIN_RECORDS_MAX + 1;
	ck_assert_int_eq(storecodec_state_encode(&st, buf, sizeof(buf), &len,
	                                         err, sizeof(err)),
	                 -1);
	small_state(&st);
	st.state = -1;
	ck_assert_int_eq(storecodec_state_encode(&st, buf, sizeof(buf), &len,
	                                         err, sizeof(err)),
	                 -1);
	small_state(&st);
	st.records[1].status = 9;
	ck_assert_int_eq(storecodec_state_encode(&st, buf, sizeof(buf), &len,
	                                         err, sizeof(err)),
	                 -1);
	small_state(&st);
	memset(st.records[2].detail, 'x', sizeof(st.records[2].detail));
	ck_assert_int_eq(storecodec_state_encode(&st, buf, sizeof(buf), &len,
	                                         err, sizeof(err)),
	                 -1);
	ck_assert_ptr_nonnull(strstr(err, "not NUL-terminated"));
	small_state(&st);
	st.domain[0] = '\0';
	ck_assert_int_eq(storecodec_state_encode(&st, buf, sizeof(buf), &len,
	                                         err, sizeof(err)),
	                 -1);
	small_state(&st);
	for (size_t size = 0; size < 100; size++)
		ck_assert_int_eq(storecodec_state_encode(&st, buf, size, &len,
		                                         err, sizeof(err)),
		                 -1);

	memset(&reg, 0, sizeof(reg));
	snprintf(reg.domain, sizeof(reg.domain), "example.com");
	reg.nselectors = DOMAIN_SELECTORS_MAX + 1;
	ck_assert_int_eq(storecodec_reg_encode(&reg, buf, sizeof(buf), &len,
	                                       err, sizeof(err)),
	                 -1);
	reg.nselectors = 0;
	reg.dmarc_min_policy = 5;
	ck_assert_int_eq(storecodec_reg_encode(&reg, buf, sizeof(buf), &len,
	                                       err, sizeof(err)),
	                 -1);

	memset(&msg, 0, sizeof(msg));
	snprintf(msg.domain, sizeof(msg.domain), "example.com");
	ck_assert_int_eq(storecodec_held_encode(&msg, buf, sizeof(buf), &len,
	                                        err, sizeof(err)),
	                 -1);
	ck_assert_ptr_nonnull(strstr(err, "queue_id is empty"));
}
END_TEST

/* Random mutation: never a crash; anything accepted is canonical. */
START_TEST(test_mutations)
{
	static struct domain_state st;
	unsigned char orig[STORECODEC_STATE_MAX], buf[STORECODEC_STATE_MAX + 8];
	unsigned char again[STORECODEC_STATE_MAX];
	struct storecodec_state_summary sum;
	size_t len = encode_small(orig, sizeof(orig)), mlen, alen;
	char err[256];
	unsigned seed = 12345;
	int accepted = 0;

	/* a cut past the end reads these 8 bytes: defined (valgrind) */
	memset(buf, 0, sizeof(buf));
	for (int iter = 0; iter < 200000; iter++) {
		memcpy(buf, orig, len);
		mlen = len;
		for (int n = 1 + rand_r(&seed) % 3; n > 0; n--)
			buf[rand_r(&seed) % len] = (unsigned char)rand_r(&seed);
		if (rand_r(&seed) % 8 == 0)
			mlen = (size_t)rand_r(&seed) % (len + 8);
		if (storecodec_state_decode(buf, mlen, &st, err, sizeof(err)) !=
		    0) {
			ck_assert(err[0] != '\0');
			continue;
		}
		accepted++;
		ck_assert_int_eq(storecodec_state_encode(&st, again,
		                                         sizeof(again), &alen,
		                                         err, sizeof(err)),
		                 0);
		ck_assert_uint_eq(alen, mlen);
		ck_assert_int_eq(memcmp(again, buf, mlen), 0);
		/* Whatever decodes also peeks, with the same fields. */
		ck_assert_int_eq(
		    storecodec_state_peek(buf, mlen, &sum, err, sizeof(err)),
		    0);
		ck_assert_int_eq(sum.state, st.state);
		ck_assert(sum.next_check == st.next_check);
	}
	ck_assert_int_gt(accepted, 0);
}
END_TEST

static Suite *
record_suite(void)
{
	Suite *s = suite_create("storecodec");
	TCase *tc = tcase_create("codec");

	tcase_add_test(tc, test_reg_round_trip_limits);
	tcase_add_test(tc, test_state_round_trip_limits);
	tcase_add_test(tc, test_reg_peek);
	tcase_add_test(tc, test_state_peek_problem);
	tcase_add_test(tc, test_state_compact);
	tcase_add_test(tc, test_held_round_trip);
	tcase_add_test(tc, test_held_versions);
	tcase_add_test(tc, test_state_versions);
	tcase_add_test(tc, test_truncated_and_trailing);
	tcase_add_test(tc, test_header_rejections);
	tcase_add_test(tc, test_field_rejections);
	tcase_add_test(tc, test_reg_rejections);
	tcase_add_test(tc, test_encode_rejections);
	tcase_add_test(tc, test_mutations);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(record_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
