/*
 * lo-listen.h - the listening side the test DNS servers share.
 *
 * SYNOPSIS
 *	#include "lo-listen.h"
 *
 *	unsigned short lo_listen_pair(const char *prog, int *udp, int *tcp);
 *	void lo_write_port(const char *prog, const char *path,
 *	    unsigned short port);
 *
 * DESCRIPTION
 *	dns-blackhole and dns-faulty serve UDP and TCP on one port of
 *	127.0.0.1 chosen by the kernel, and tell the harness which by writing
 *	it to a file.  These two steps are the same for both; a failure in
 *	either ends the program with "PROG: what: reason" on stderr and exit
 *	status 1, since a test server that cannot listen has nothing to do.
 */
#ifndef AUTHREADY_TESTS_LO_LISTEN_H
#define AUTHREADY_TESTS_LO_LISTEN_H

/* lo_listen_pair - a UDP socket and a listening TCP socket on the same
 * free port of 127.0.0.1; returns the port. */
unsigned short lo_listen_pair(const char *prog, int *udp, int *tcp);

/* lo_write_port - PATH gets the port and a newline, atomically (written
 * to PATH.tmp, then renamed), so a reader never sees half a number. */
void lo_write_port(const char *prog, const char *path, unsigned short port);

#endif
