/*
 * storecodec.h - versioned binary codec for the values kept in the store.
 *
 * SYNOPSIS
 *	#include "storecodec.h"
 *
 *	int storecodec_reg_encode(const struct domain_reg *reg,
 *	    unsigned char *buf, size_t size, size_t *len,
 *	    char *err, size_t errlen);
 *	int storecodec_reg_decode(const unsigned char *buf, size_t len,
 *	    struct domain_reg *reg, char *err, size_t errlen);
 *	int storecodec_state_encode(const struct domain_state *st, ...);
 *	int storecodec_state_decode(const unsigned char *buf, size_t len,
 *	    struct domain_state *st, char *err, size_t errlen);
 *	int storecodec_state_peek(const unsigned char *buf, size_t len,
 *	    struct storecodec_state_summary *sum, char *err, size_t errlen);
 *	int storecodec_reg_peek(const unsigned char *buf, size_t len,
 *	    struct storecodec_reg_summary *sum, char *err, size_t errlen);
 *	int storecodec_held_encode(const struct held_msg *msg, ...);
 *	int storecodec_held_decode(const unsigned char *buf, size_t len,
 *	    struct held_msg *msg, char *err, size_t errlen);
 *	int storecodec_header(const unsigned char *buf, size_t len,
 *	    unsigned *version, unsigned *kind, char *err, size_t errlen);
 *
 * DESCRIPTION
 *	Pure functions: no I/O, no allocation, no global state.  Every
 *	record starts with a four-byte header:
 *
 *	    offset 0  0x41 'A'    magic
 *	    offset 1  0xD7        magic (not ASCII, so text is never a record)
 *	    offset 2  version     the kind's: STORECODEC_VERSION (1) for a
 *	                          registry entry, STORECODEC_STATE_VERSION (4),
 *	                          STORECODEC_HELD_VERSION (2)
 *	    offset 3  kind        STORECODEC_KIND_REG, _STATE or _HELD
 *
 *	Integers follow in little-endian byte order with fixed widths;
 *	strings are a 16-bit length and that many bytes, no NUL.  Only the
 *	used bytes of a field are written, so a state with three records
 *	takes a few hundred bytes, not sizeof(struct domain_state).
 *
 *	A state begins with a fixed block (state, times, counters) so that
 *	storecodec_state_peek() can answer the milter from the first
 *	STORECODEC_STATE_FIXED bytes without decoding the per-record results
 *	(it copies the first problem's name and notes each record's type
 *	and status, stepping over the other strings);
 *	peek still validates what it reads and the record's total framing
 *	is not checked by it (store_check and storecodec_state_decode do).
 *
 * VERSIONS
 *	Each kind has its own current version, which writers always write:
 *	STORECODEC_VERSION (1) for registry entries, so a downgraded program
 *	still reads the registry; STORECODEC_STATE_VERSION (4) for states,
 *	which gained last_used in version 2 (when mail last used an
 *	unregistered domain; a version 1 state decodes with last_used 0,
 *	unknown), org in version 3 (the organizational domain the DMARC
 *	tree walk found; older states decode with org "", unknown) and
 *	adkim and aspf in version 4 (the DMARC record's alignment modes,
 *	one byte each: 'r', 's', or 0 unknown, which older states decode
 *	with); and
 *	STORECODEC_HELD_VERSION (2) for held entries, which gained the door
 *	the entry came through and the envelope sender (a version 1 held
 *	entry decodes with door HELD_DOOR_UNKNOWN and no sender).  Readers
 *	accept every (version, kind) listed in their decoder table and
 *	reject version 0, which was never written, and anything newer
 *	than they know for that kind with an error that says so.  A new
 *	version keeps the older decoders, fills fields they lack with
 *	their neutral value (0, "" or -1 as domain.h documents), and the
 *	record is rewritten in the new version the next time it is
 *	stored; there is no bulk migration.  A downgraded program sees
 *	newer records as corrupt (logged, re-checked, overwritten), never
 *	misreads them.
 *
 * DIAGNOSTICS
 *	Every function returns 0 on success, or -1 with one sentence in err:
 *	truncated input, trailing bytes, bad magic, unknown version, wrong
 *	kind, a length larger than the field it fills, a count above its
 *	maximum, an enum out of range, a NUL inside a string.
 */
#ifndef AUTHREADY_STORECODEC_H
#define AUTHREADY_STORECODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain.h"

#define RECORD_MAGIC0 0x41
#define RECORD_MAGIC1 0xD7
#define STORECODEC_VERSION 1       /* registry entries */
#define STORECODEC_STATE_VERSION 4 /* states (last_used, org, modes) */
#define STORECODEC_HELD_VERSION 2  /* held entries (door and sender) */
#define STORECODEC_HEADER_LEN 4

enum record_kind {
	STORECODEC_KIND_REG = 1,
	STORECODEC_KIND_STATE = 2,
	STORECODEC_KIND_HELD = 3,
};

/* Held-message index (quarantine): one entry per held queue file. */
#define HELD_QUEUE_ID_MAX 64 /* NUL included; Postfix long IDs fit */
#define HELD_REASON_MAX 256
#define HELD_SENDER_MAX 384 /* NUL included; local@domain, no <> */

/* Which milter door the entry came through (see release.h). */
enum held_door {
	HELD_DOOR_UNKNOWN = 0, /* a version 1 entry: written before doors */
	HELD_DOOR_UNIX = 1,    /* a unix socket: only the MTA can connect */
	HELD_DOOR_INET = 2,    /* a TCP socket: any local user can connect */
};

struct held_msg {
	char domain[DOMAIN_BUF];
	char queue_id[HELD_QUEUE_ID_MAX];
	int64_t held_at; /* unix time */
	char reason[HELD_REASON_MAX];
	uint8_t door;                 /* enum held_door */
	char sender[HELD_SENDER_MAX]; /* envelope sender; "" unknown */
};

/* What the milter needs at MAIL FROM; see storecodec_state_peek(). */
struct storecodec_state_summary {
	int32_t state; /* enum domain_readiness */
	uint32_t dns_errors;
	int64_t since;
	int64_t next_check;
	int64_t last_success;
	/* The domain inside the record, for a check against the key; points
	 * into the peeked buffer, not NUL-terminated. */
	const unsigned char *domain;
	size_t domain_len;
	/* The first record that is not a pass, copied: problem is false
	 * when there is none. */
	bool problem;
	uint8_t problem_type;   /* enum check_type */
	uint8_t problem_status; /* enum check_status */
	char problem_name[DOMAIN_BUF];
	/* The types of the stored records, a bit (1 << enum check_type)
	 * each: those with a pass, and those with anything else. */
	uint8_t pass_types;
	uint8_t problem_types;
	/* For the header From's alignment (version 3 and 4 fields; "" and
	 * 0 in older records): the organizational domain the checker's
	 * tree walk found, the DMARC record's modes, and whether a DKIM
	 * record (a selector of the domain) passed. */
	char org[DOMAIN_BUF];
	char adkim, aspf; /* 'r', 's'; 0 unknown */
	bool dkim_pass;
};

/* What the milter needs from a registry entry: its MAIL FROM setting. */
struct storecodec_reg_summary {
	char mail_from[DOMAIN_BUF]; /* "" the global MailFrom */
	/* The domain inside the record; points into the peeked buffer, not
	 * NUL-terminated. */
	const unsigned char *domain;
	size_t domain_len;
};

/*
 * Size limits.  A string costs 2 + its length; the fixed part of a state
 * is the header, one byte of state, five 64-bit times and four 32-bit
 * counters; the domain string follows it, and version 2 ends with one
 * more 64-bit time.
 */
#define STORECODEC_STR_COST(bufsize) (2 + (bufsize)-1)
#define STORECODEC_STATE_FIXED (STORECODEC_HEADER_LEN + 1 + 5 * 8 + 4 * 4)
#define STORECODEC_STATE_MAX                                                   \
	(STORECODEC_STATE_FIXED + STORECODEC_STR_COST(DOMAIN_BUF) + 1 +        \
	 DOMAIN_RECORDS_MAX *                                                  \
	     (2 + STORECODEC_STR_COST(DOMAIN_BUF) +                            \
	      STORECODEC_STR_COST(DOMAIN_RECORD_DETAIL_MAX)) +                 \
	 8 + STORECODEC_STR_COST(DOMAIN_BUF) + 2)
#define STORECODEC_REG_MAX                                                     \
	(STORECODEC_HEADER_LEN + 8 + 1 + 4 * STORECODEC_STR_COST(DOMAIN_BUF) + \
	 STORECODEC_STR_COST(DOMAIN_CONTACT_MAX) + 1 +                         \
	 DOMAIN_SELECTORS_MAX * (STORECODEC_STR_COST(DOMAIN_SELECTOR_MAX) +    \
	                         STORECODEC_STR_COST(DOMAIN_KEY_PATH_MAX)) +   \
	 1 + DOMAIN_EGRESS_MAX * STORECODEC_STR_COST(DOMAIN_IP_TEXT_MAX))
#define STORECODEC_HELD_MAX                                                    \
	(STORECODEC_HEADER_LEN + 8 + STORECODEC_STR_COST(DOMAIN_BUF) +         \
	 STORECODEC_STR_COST(HELD_QUEUE_ID_MAX) +                              \
	 STORECODEC_STR_COST(HELD_REASON_MAX) + 1 +                            \
	 STORECODEC_STR_COST(HELD_SENDER_MAX))
#define STORECODEC_MAX STORECODEC_STATE_MAX /* the largest of the three */

int storecodec_header(const unsigned char *buf, size_t len, unsigned *version,
                      unsigned *kind, char *err, size_t errlen);

int storecodec_reg_encode(const struct domain_reg *reg, unsigned char *buf,
                          size_t size, size_t *len, char *err, size_t errlen);
int storecodec_reg_decode(const unsigned char *buf, size_t len,
                          struct domain_reg *reg, char *err, size_t errlen);

int storecodec_state_encode(const struct domain_state *st, unsigned char *buf,
                            size_t size, size_t *len, char *err, size_t errlen);
int storecodec_state_decode(const unsigned char *buf, size_t len,
                            struct domain_state *st, char *err, size_t errlen);

/*
 * storecodec_state_peek - decode the fixed block of a state record, find
 * its first record that is not a pass and whether a DKIM record passed,
 * and read the org and the alignment modes after the records.  Checks
 * magic, version, kind, the fixed block, the enum range, the framing of
 * the domain string that follows, the record count and every record
 * (type, status, string framing) and the fields after them; at most
 * DOMAIN_RECORDS_MAX steps, copies only the first problem's name and
 * the org.
 */
int storecodec_state_peek(const unsigned char *buf, size_t len,
                          struct storecodec_state_summary *sum, char *err,
                          size_t errlen);

/*
 * storecodec_reg_peek - decode a registry entry up to its MAIL FROM field.
 * Checks magic, version, kind, the DMARC policy range and the framing of
 * the strings it reads; what follows is not checked (storecodec_reg_decode
 * does).  O(1), copies only mail_from.
 */
int storecodec_reg_peek(const unsigned char *buf, size_t len,
                        struct storecodec_reg_summary *sum, char *err,
                        size_t errlen);

int storecodec_held_encode(const struct held_msg *msg, unsigned char *buf,
                           size_t size, size_t *len, char *err, size_t errlen);
int storecodec_held_decode(const unsigned char *buf, size_t len,
                           struct held_msg *msg, char *err, size_t errlen);

#endif
