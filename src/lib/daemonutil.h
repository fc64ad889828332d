/*
 * daemonutil.h - what the daemons share at start-up: users, privileges.
 *
 * SYNOPSIS
 *	#include "daemonutil.h"
 *
 *	The functions: see daemonutil.c.
 *
 * DESCRIPTION
 *	authready-milter(8) and authready-api(8) resolve a "user[:group]"
 *	setting and drop to it the same way, and write their PID files the
 *	same way (a new file renamed into place).
 */
#ifndef AUTHREADY_DAEMONUTIL_H
#define AUTHREADY_DAEMONUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* daemonutil_user - uid and gid of "user" or "user:group", the user's
 * name in name; 0, or -1 when either does not exist. */
int daemonutil_user(const char *spec, uid_t *uid, gid_t *gid, char *name,
                    size_t namelen);

/* daemonutil_drop - become name/uid/gid for good (supplementary groups
 * too); 0, or -1 with err (also when root could be regained). */
int daemonutil_drop(const char *name, uid_t uid, gid_t gid, char *err,
                    size_t errlen);

/*
 * daemonutil_pidfile - write our PID to a new file in path's directory
 * and rename it over path (a reader never sees a file without the PID;
 * only a regular file is replaced).  0, or -1 with err.
 */
int daemonutil_pidfile(const char *path, char *err, size_t errlen);

#endif
