/*
 * fake_answer.h - build struct dns_answer values in tests, without DNS.
 *
 * SYNOPSIS
 *	#include "fake_answer.h"
 *
 *	void fake_answer(struct dns_answer *ans, const char *qname,
 *	    uint16_t qtype, enum dns_outcome outcome, size_t n,
 *	    const char *const *values);
 *	void fake_answer_add_txt(struct dns_answer *ans,
 *	    const unsigned char *data, size_t len);
 *
 * DESCRIPTION
 *	fake_answer() makes an answer with an outcome and, for DNS_OK, records
 *	given as strings: a TXT value ("v=DMARC1; p=none") or an MX as
 *	"PREF HOST" ("10 mx.example.com").  fake_answer_add_txt() appends one
 *	TXT record with explicit bytes (NULs, controls, 64 KiB values).
 *	Free with dns_answer_free().
 */
#ifndef AUTHREADY_FAKE_ANSWER_H
#define AUTHREADY_FAKE_ANSWER_H

#include <stddef.h>
#include <stdint.h>

#include "dnsmsg.h"

void fake_answer(struct dns_answer *ans, const char *qname, uint16_t qtype,
                 enum dns_outcome outcome, size_t n, const char *const *values);
void fake_answer_add_txt(struct dns_answer *ans, const unsigned char *data,
                         size_t len);

#endif
