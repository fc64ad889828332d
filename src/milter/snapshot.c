/*
 * snapshot.c - the current configuration, reference counted; see
 * snapshot.h.
 *
 * SYNOPSIS
 *	int snapshot_load(path, must_exist, err, errlen);
 *	int snapshot_load_vetted(path, must_exist, vet, err, errlen);
 *	struct snapshot *snapshot_acquire(void);
 *	void snapshot_release(snap);
 *	void snapshot_shutdown(void);
 *
 * DESCRIPTION
 *	The current pointer is read and replaced under a mutex (held for a
 *	pointer copy and a reference increment only); reference counts are
 *	C11 atomics, so releases take no lock.
 *
 *	Every snapshot passes config_check_door() and config_check_fleet()
 *	before it is installed.
 *	The first one names the milter socket the daemon opens; a reload
 *	cannot move it, so later snapshots are judged with that socket,
 *	whatever their own Socket line says (a reload that adds a
 *	quarantine action to a daemon listening on TCP is refused).  The
 *	policy door's PolicySocket is pinned and judged the same way.
 */
#include "snapshot.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t snapshot_lock = PTHREAD_MUTEX_INITIALIZER;
static struct snapshot *snapshot_current;
static uint64_t snapshot_generation;
static char snapshot_socket[PATH_MAX];        /* of the first snapshot */
static char snapshot_policy_socket[PATH_MAX]; /* PolicySocket, likewise */

int
snapshot_load(const char *path, bool must_exist, char *err, size_t errlen)
{
	return snapshot_load_vetted(path, must_exist, NULL, err, errlen);
}

int
snapshot_load_vetted(const char *path, bool must_exist, snapshot_vet_fn *vet,
                     char *err, size_t errlen)
{
	struct snapshot *snap, *old;
	const char *psock;
	char why[1024];

	if ((snap = calloc(1, sizeof(*snap))) == NULL) {
		snprintf(err, errlen, "out of memory loading %s", path);
		return -1;
	}
	if (config_load(path, must_exist, &snap->cfg, err, errlen) != 0 ||
	    (vet != NULL && vet(&snap->cfg, err, errlen) != 0)) {
		free(snap);
		return -1;
	}
	atomic_init(&snap->refs, 1);
	pthread_mutex_lock(&snapshot_lock);
	psock = snapshot_socket[0] ? snapshot_policy_socket
	                           : snap->cfg.policy_socket;
	if (config_check_door(&snap->cfg,
	                      snapshot_socket[0] ? snapshot_socket : NULL, why,
	                      sizeof(why)) != 0 ||
	    (psock[0] != '\0' &&
	     config_check_door(&snap->cfg, psock, why, sizeof(why)) != 0) ||
	    config_check_fleet(&snap->cfg, why, sizeof(why)) != 0) {
		pthread_mutex_unlock(&snapshot_lock);
		free(snap);
		snprintf(err, errlen, "%s: %s", path, why);
		return -1;
	}
	if (snapshot_socket[0] == '\0') {
		snprintf(snapshot_socket, sizeof(snapshot_socket), "%s",
		         snap->cfg.socket);
		snprintf(snapshot_policy_socket, sizeof(snapshot_policy_socket),
		         "%s", snap->cfg.policy_socket);
	}
	snap->generation = ++snapshot_generation;
	old = snapshot_current;
	snapshot_current = snap;
	pthread_mutex_unlock(&snapshot_lock);
	if (old != NULL)
		snapshot_release(old);
	return 0;
}

struct snapshot *
snapshot_acquire(void)
{
	struct snapshot *snap;

	pthread_mutex_lock(&snapshot_lock);
	snap = snapshot_current;
	if (snap != NULL)
		atomic_fetch_add(&snap->refs, 1);
	pthread_mutex_unlock(&snapshot_lock);
	return snap;
}

void
snapshot_release(struct snapshot *snap)
{
	if (snap != NULL && atomic_fetch_sub(&snap->refs, 1) == 1)
		free(snap);
}

void
snapshot_shutdown(void)
{
	struct snapshot *old;

	pthread_mutex_lock(&snapshot_lock);
	old = snapshot_current;
	snapshot_current = NULL;
	pthread_mutex_unlock(&snapshot_lock);
	snapshot_release(old);
}
