/*
 * safefile.c - read a whole operator file without blocking, bounded; see
 * safefile.h.
 *
 * SYNOPSIS
 *	int safefile_check(const char *path, size_t max, struct stat *st,
 *	    char *err, size_t errlen);
 *	int safefile_read(const char *path, size_t max, unsigned flags,
 *	    char **out, size_t *outlen, struct stat *st, char *err,
 *	    size_t errlen);
 *
 * DESCRIPTION
 *	A path is looked at (stat) before it is opened, so a FIFO or a device
 *	is refused without being opened at all: opening a FIFO for reading
 *	waits for a writer, and opening some devices has effects.  The open
 *	itself uses O_NONBLOCK (a FIFO swapped in after the look does not
 *	block either), O_NOCTTY and O_CLOEXEC, and the fstat of the open
 *	descriptor decides: a regular file of at most the caller's limit.
 *	Reads have explicit lengths and stop one octet past the limit, so a
 *	file that grows after the fstat is refused, not read without end.
 *
 * DIAGNOSTICS
 *	-1 with one sentence that starts with the path: "PATH: is a FIFO,
 *	not a regular file", "PATH: is larger than N octets", "PATH:
 *	Permission denied" (strerror for what the system refuses).
 */
#include "safefile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errbuf.h"

/* What a path that is not a regular file is, for the message. */
static const struct {
	mode_t type;
	const char *name;
} safefile_types[] = {
    {S_IFIFO, "a FIFO"},
    {S_IFDIR, "a directory"},
    {S_IFCHR, "a character device"},
    {S_IFBLK, "a block device"},
    {S_IFSOCK, "a socket"},
    {S_IFLNK, "a symbolic link"},
};

/* safefile_type - the name of a file type, for a message. */
static const char *
safefile_type(mode_t mode)
{
	size_t i;

	for (i = 0; i < sizeof(safefile_types) / sizeof(safefile_types[0]); i++)
		if ((mode & S_IFMT) == safefile_types[i].type)
			return safefile_types[i].name;
	return "of an unknown type";
}

/* safefile_vet - a regular file of at most max octets; -1 with err. */
static int
safefile_vet(const char *path, const struct stat *sb, size_t max, char *err,
             size_t errlen)
{
	if (!S_ISREG(sb->st_mode))
		return errbuf_fail(err, errlen, "%s: is %s, not a regular file",
		                   path, safefile_type(sb->st_mode));
	if (sb->st_size < 0 || (uintmax_t)sb->st_size > (uintmax_t)max)
		return errbuf_fail(err, errlen, "%s: is larger than %zu octets",
		                   path, max);
	return 0;
}

/* safefile_open - a descriptor of a vetted file; 1 missing (if allowed). */
static int
safefile_open(const char *path, size_t max, unsigned flags, struct stat *sb,
              int *fdp, char *err, size_t errlen)
{
	int fd, saved;

	if (stat(path, sb) != 0) {
		saved = errno;
		if (saved == ENOENT && (flags & SAFEFILE_MAY_BE_MISSING))
			return 1;
		return errbuf_fail(err, errlen, "%s: %s", path,
		                   strerror(saved));
	}
	if (safefile_vet(path, sb, max, err, errlen) != 0)
		return -1;
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) <
	    0) {
		saved = errno;
		if (saved == ENOENT && (flags & SAFEFILE_MAY_BE_MISSING))
			return 1;
		return errbuf_fail(err, errlen, "%s: %s", path,
		                   strerror(saved));
	}
	if (fstat(fd, sb) != 0) {
		saved = errno;
		close(fd);
		return errbuf_fail(err, errlen, "%s: %s", path,
		                   strerror(saved));
	}
	if (safefile_vet(path, sb, max, err, errlen) != 0) {
		close(fd);
		return -1;
	}
	*fdp = fd;
	return 0;
}

int
safefile_check(const char *path, size_t max, struct stat *st, char *err,
               size_t errlen)
{
	struct stat sb;
	int fd;

	if (safefile_open(path, max, 0, &sb, &fd, err, errlen) != 0)
		return -1;
	close(fd);
	if (st != NULL)
		*st = sb;
	return 0;
}

/* safefile_slurp - read fd to its end, at most max octets; -1 with err. */
static int
safefile_slurp(int fd, const char *path, size_t max, size_t hint, char **out,
               size_t *outlen, char *err, size_t errlen)
{
	/* room for one octet past the size: end of file is seen at once */
	size_t cap = hint < max ? hint + 1 : max + 1, len = 0;
	char *buf, *grown;
	ssize_t n;

	if ((buf = malloc(cap + 1)) == NULL)
		return errbuf_fail(err, errlen, "%s: %s", path,
		                   strerror(errno));
	for (;;) {
		if (len == cap) {
			if (cap > max)
				break;
			cap = cap > (max + 1) / 2 ? max + 1 : cap * 2;
			if ((grown = realloc(buf, cap + 1)) == NULL) {
				free(buf);
				return errbuf_fail(err, errlen, "%s: %s", path,
				                   strerror(ENOMEM));
			}
			buf = grown;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;

			free(buf);
			return errbuf_fail(err, errlen, "%s: %s", path,
			                   strerror(saved));
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max) {
		free(buf);
		return errbuf_fail(err, errlen, "%s: is larger than %zu octets",
		                   path, max);
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

int
safefile_read(const char *path, size_t max, unsigned flags, char **out,
              size_t *outlen, struct stat *st, char *err, size_t errlen)
{
	struct stat sb;
	int fd, rc;

	rc = safefile_open(path, max, flags, &sb, &fd, err, errlen);
	if (rc != 0)
		return rc;
	rc = safefile_slurp(fd, path, max, (size_t)sb.st_size, out, outlen, err,
	                    errlen);
	close(fd);
	if (rc == 0 && st != NULL)
		*st = sb;
	return rc;
}
