/*
 * dnsio.h - c-ares socket functions that batch UDP datagrams.
 *
 * SYNOPSIS
 *	struct dnsio *dnsio_new(int rcvbuf);
 *	void dnsio_free(struct dnsio *io);
 *	void dnsio_attach(struct dnsio *io, ares_channel channel);
 *	const struct ares_socket_functions *dnsio_functions(void);
 *	size_t dnsio_flush(struct dnsio *io, int *ready, size_t nready);
 *
 * DESCRIPTION
 *	c-ares 1.18 sends every query with its own send(2) and reads every
 *	answer with its own recvfrom(2).  A refresh asks hundreds of
 *	questions at once, and on a virtual machine a system call costs
 *	about a microsecond, so dnsio takes over c-ares' socket I/O
 *	(ares_set_socket_functions):
 *
 *	  - a UDP query is copied into the socket's send queue and reported
 *	    as sent; dnsio_flush() hands every queue to the kernel with one
 *	    sendmmsg(2) per socket.  The owner calls it before it sleeps in
 *	    poll(), so a query waits at most until the end of the current
 *	    batch of work;
 *	  - a UDP read takes up to DNSIO_BATCH datagrams with one
 *	    recvmmsg(2) and hands them to c-ares one by one, source address
 *	    included (c-ares drops answers from the wrong address);
 *	  - TCP goes straight through (writev, recvfrom).
 *
 *	Sockets are created non-blocking and close-on-exec, with a receive
 *	buffer of rcvbuf bytes for UDP (0: the system default), TCP_NODELAY
 *	for TCP: c-ares leaves user-managed sockets alone.
 *
 *	A send error (e.g. ECONNREFUSED after an ICMP port unreachable) is
 *	kept on the socket and returned by its next read, which is when
 *	c-ares can act on it (it moves the socket's queries to the next
 *	server).  dnsio_flush() lists those sockets in ready[], and those
 *	with received answers c-ares has not read yet (it stops reading
 *	early on an answer from the wrong address), so that the owner has
 *	c-ares read them even though poll() would not wake it.
 *	A datagram the kernel will not take now (EAGAIN: send buffer full)
 *	stays queued for the next flush; a queue that is full is flushed
 *	at once, before the new datagram is queued.
 *
 *	One dnsio serves one channel, from the thread that owns it.
 *
 * DIAGNOSTICS
 *	dnsio_new() returns NULL when out of memory.  The socket functions
 *	report errors to c-ares as the system calls would (-1 and errno).
 */
#ifndef AUTHREADY_DNSIO_H
#define AUTHREADY_DNSIO_H

#include <ares.h>
#include <stddef.h>

#define DNSIO_BATCH 64        /* datagrams per sendmmsg/recvmmsg */
#define DNSIO_QUERY_MAX 512   /* a UDP query: name, header, EDNS OPT */
#define DNSIO_ANSWER_MAX 4096 /* a UDP answer (EDNS payload 1232) */

struct dnsio;

struct dnsio *dnsio_new(int rcvbuf);
void dnsio_free(struct dnsio *io);

/* dnsio_attach - make channel do its socket I/O through io. */
void dnsio_attach(struct dnsio *io, ares_channel channel);

/* dnsio_functions - the table dnsio_attach() installs (user data: io). */
const struct ares_socket_functions *dnsio_functions(void);

/*
 * dnsio_flush - send what is queued.  Returns the number of sockets that
 * must be read now (a pending error, or answers already received), their
 * descriptors in ready[0..min(n, nready)).
 */
size_t dnsio_flush(struct dnsio *io, int *ready, size_t nready);

#endif
