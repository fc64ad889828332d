/*
 * pgreg.h - registry writes to a fleet's PostgreSQL.
 *
 * SYNOPSIS
 *	#include "pgreg.h"
 *
 *	The functions: see pgreg.c.
 *
 * DESCRIPTION
 *	One writing transaction: pgreg_begin() takes the next clock version,
 *	pgreg_put() and pgreg_del() write rows with it (the registry's,
 *	the state's tombstone, the domain's row in authready_checks),
 *	pgreg_commit() notifies authready_changes and commits;
 *	pgconn_rollback() abandons.  pgreg_check_row() is a transaction of
 *	its own.
 */
#ifndef AUTHREADY_PGREG_H
#define AUTHREADY_PGREG_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain.h"

#define PGREG_EXISTS 1 /* pgreg_put: already registered */
#define PGREG_ABSENT 1 /* pgreg_del: not registered */

/*
 * pgreg_begin - BEGIN, then the next version of authready_clock in
 * *version (its row lock is held to commit).  A pgconn status.
 */
int pgreg_begin(PGconn *conn, int64_t *version, char *err, size_t errlen);

/*
 * pgreg_put - register reg at version: a new row, or one over a
 * tombstone.  PGREG_EXISTS (nothing written) when the domain is
 * registered; else a pgconn status.
 */
int pgreg_put(PGconn *conn, int64_t version, const struct domain_reg *reg,
              char *err, size_t errlen);

/*
 * pgreg_del - tombstone domain's registry entry and its state at
 * version.  PGREG_ABSENT when it is not registered; else a status.
 */
int pgreg_del(PGconn *conn, int64_t version, const char *domain, char *err,
              size_t errlen);

#define PGREG_ROW_UNREGISTERED 0 /* pgreg_check_row: not registered */
#define PGREG_ROW_MADE 1         /* ... registered, its row made now */
#define PGREG_ROW_THERE 2        /* ... registered, its row was there */

/*
 * pgreg_check_row - the row in authready_checks of a registered domain
 * made where it is missing (due at once), and with due, moved to due
 * at once where it is there; in its own transaction under the clock's
 * lock, so no registration or removal can commit meanwhile (a
 * registered domain's row can be missing only after a registration by
 * an authready older than schema 5, or a hand-made change).  With due,
 * a registered domain's row NOTIFYs authready_due, domain (the wake-up
 * of an idle `authready checkerd`).  *found is one of PGREG_ROW_*.  A pgconn
 * status.
 */
int pgreg_check_row(PGconn *conn, const char *domain, bool due, int *found,
                    char *err, size_t errlen);

/*
 * pgreg_commit - NOTIFY authready_changes, 'version'; COMMIT.  A status
 * (PGCONN_DOWN when the commit's outcome is unknown: the connection
 * went away).
 */
int pgreg_commit(PGconn *conn, int64_t version, char *err, size_t errlen);

#endif
