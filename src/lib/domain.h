/*
 * domain.h - what authready knows about one sender domain.
 *
 * SYNOPSIS
 *	#include "domain.h"
 *
 * DESCRIPTION
 *	struct domain_reg is the registry entry: what the operator issued and
 *	the domain must publish.  struct domain_state is the readiness state the
 *	checker maintains and the milter reads.  Both are plain values with
 *	bounded fields; storecodec.c encodes them (versioned) for the store,
 *	state.c computes transitions on them and names their states
 *	(state_readiness_name).  Types only: the functions on domain names
 *	(domain_*) are in domainname.h.
 */
#ifndef AUTHREADY_DOMAIN_H
#define AUTHREADY_DOMAIN_H

#include <limits.h>
#include <stdint.h>
#include <time.h>

#include "dmarc.h"
#include "domainname.h"
#include "report.h"

#define DOMAIN_SELECTORS_MAX 8
#define DOMAIN_SELECTOR_MAX 64
#define DOMAIN_KEY_PATH_MAX 256
#define DOMAIN_EGRESS_MAX 16
#define DOMAIN_IP_TEXT_MAX 64 /* "2001:db8::1/128" and the like */
#define DOMAIN_CONTACT_MAX 256
#define DOMAIN_RECORDS_MAX 12 /* per-record results kept in the state */
#define DOMAIN_RECORD_DETAIL_MAX 256

struct domain_selector {
	char name[DOMAIN_SELECTOR_MAX];
	char key_path[DOMAIN_KEY_PATH_MAX]; /* "" when no key to match */
};

struct domain_reg {
	char domain[DOMAIN_BUF];    /* normalized; the key */
	char mail_from[DOMAIN_BUF]; /* label or FQDN as given */
	struct domain_selector selectors[DOMAIN_SELECTORS_MAX];
	uint32_t nselectors;
	char mx_host[DOMAIN_BUF];     /* "" any */
	char spf_include[DOMAIN_BUF]; /* "" none */
	char egress[DOMAIN_EGRESS_MAX][DOMAIN_IP_TEXT_MAX];
	uint32_t negress;                 /* 0: the global EgressIPs */
	int32_t dmarc_min_policy;         /* enum dmarc_policy; -1 global */
	char contact[DOMAIN_CONTACT_MAX]; /* "" none */
	int64_t added;                    /* unix time */
};

enum domain_readiness {
	READINESS_UNKNOWN = 0,
	READINESS_PENDING = 1,
	READINESS_VERIFIED = 2,
	READINESS_DEGRADED = 3,
	READINESS_FAILED = 4,
};

struct domain_record_status {
	uint8_t type;   /* enum check_type */
	uint8_t status; /* enum check_status */
	char name[DOMAIN_BUF];
	char detail[DOMAIN_RECORD_DETAIL_MAX];
};

struct domain_state {
	char domain[DOMAIN_BUF];
	int32_t state;            /* enum domain_readiness */
	int64_t since;            /* entered the current state */
	int64_t first_seen;       /* first check */
	int64_t last_check;       /* last check that finished */
	int64_t last_success;     /* last check with every record valid */
	int64_t next_check;       /* when the checker should look again */
	uint32_t dns_errors;      /* consecutive checks undecided by DNS */
	uint32_t pending_checks;  /* checks while pending, for backoff */
	uint32_t notify_attempts; /* confirmation mail attempts */
	int32_t notified;         /* confirmation mail handed to the MTA */
	int64_t last_used;        /* mail last seen (unregistered); 0 unknown */
	char org[DOMAIN_BUF]; /* organizational domain by the DMARC tree walk
	                         (RFC 9989) of the last check that found it;
	                         "" unknown */
	char adkim, aspf;     /* the DMARC record's alignment modes ('r', 's')
	                         of the last check that read one; 0 unknown */
	uint32_t nrecords;
	struct domain_record_status records[DOMAIN_RECORDS_MAX];
};

#endif
