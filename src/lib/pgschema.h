/*
 * pgschema.h - the PostgreSQL schema of a fleet, and its migrations.
 *
 * SYNOPSIS
 *	#include "pgschema.h"
 *
 *	The functions: see pgschema.c.
 *
 * DESCRIPTION
 *	The tables (authready_meta, authready_clock, authready_registry,
 *	authready_state, authready_replicas) are described in pgschema.c and
 *	docs/fleet.md.  PGSCHEMA_VERSION is the version this program writes
 *	and the only one it works against (pgconn_check_schema).
 */
#ifndef AUTHREADY_PGSCHEMA_H
#define AUTHREADY_PGSCHEMA_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#define PGSCHEMA_VERSION 5

/*
 * pgschema_init - create the current schema in a database without one,
 * in one transaction.  PGCONN_OK; PGCONN_CONFIG when an authready schema
 * is already there (any version); another pgconn status on failure.
 */
int pgschema_init(PGconn *conn, char *err, size_t errlen);

/*
 * pgschema_migrate - move the schema to PGSCHEMA_VERSION, one step a
 * transaction, each under an advisory lock so two migrations do not
 * race.  *from and *to: the versions before and after (equal: nothing to
 * do).  PGCONN_CONFIG for no schema or a newer one.
 */
int pgschema_migrate(PGconn *conn, int64_t *from, int64_t *to, char *err,
                     size_t errlen);

/* pgschema_steps - how many migration steps there are (0 -> 1, ...). */
size_t pgschema_steps(void);

/* pgschema_grants - the GRANTs of the three roles (docs/fleet.md). */
const char *pgschema_grants(void);

#endif
