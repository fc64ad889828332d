/*
 * safefile.h - read a whole operator file without blocking, bounded.
 *
 * SYNOPSIS
 *	#include "safefile.h"
 *
 *	The functions: see safefile.c.
 *
 * DESCRIPTION
 *	Every file authready reads (the config, list files, DKIM key files, the
 *	CSV of "domain import") comes through here.  A FIFO, a device, a
 *	directory or a socket put where a file belongs is refused with a
 *	sentence instead of hanging the thread that opens it, and a file is
 *	never read past the limit its caller gives.
 */
#ifndef AUTHREADY_SAFEFILE_H
#define AUTHREADY_SAFEFILE_H

#include <stddef.h>
#include <sys/stat.h>

/* flags of safefile_read() */
#define SAFEFILE_MAY_BE_MISSING 0x1 /* a missing file returns 1, no error */

/* A buffer that holds any safefile error, with a path of PATH_MAX. */
#define SAFEFILE_ERR_MAX (4096 + 128)

/*
 * safefile_check - open PATH without blocking and without reading it:
 * it must be a regular file of at most max octets.  The file's stat in
 * *st when st is not NULL.  0 ok; -1 with "PATH: why" in err.
 */
int safefile_check(const char *path, size_t max, struct stat *st, char *err,
                   size_t errlen);

/*
 * safefile_read - the whole of a regular file of at most max octets,
 * NUL-terminated (the NUL not counted in *outlen), in a malloc'd *out
 * the caller frees; *st as for safefile_check().  0 ok; 1 when the file
 * does not exist and flags has SAFEFILE_MAY_BE_MISSING; -1 with
 * "PATH: why" in err.
 */
int safefile_read(const char *path, size_t max, unsigned flags, char **out,
                  size_t *outlen, struct stat *st, char *err, size_t errlen);

#endif
