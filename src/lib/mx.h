/*
 * mx.h - the MX record of the MAIL FROM domain.
 *
 * SYNOPSIS
 *	#include "mx.h"
 *
 *	The functions: see mx.c.
 *
 * DESCRIPTION
 *	Bounces and feedback go to the MAIL FROM domain, so the seed asks for
 *	an MX there.  mx_evaluate() passes when the answer holds at least one
 *	usable MX (a null MX, RFC 7505, is not usable) and, when an expected
 *	host is given, one exchange equals it.
 */
#ifndef AUTHREADY_MX_H
#define AUTHREADY_MX_H

struct dns_answer;
struct check_result;

/* mx_evaluate - expect_host may be NULL or "". Fills res except name. */
void mx_evaluate(const struct dns_answer *ans, const char *expect_host,
                 struct check_result *res);

#endif
