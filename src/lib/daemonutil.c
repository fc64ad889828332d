/*
 * daemonutil.c - what the daemons share at start-up: users, privileges.
 *
 * SYNOPSIS
 *	int daemonutil_user(spec, uid, gid, name, namelen);
 *	int daemonutil_drop(name, uid, gid, err, errlen);
 *	int daemonutil_pidfile(path, err, errlen);
 *
 * DESCRIPTION
 *	daemonutil_user() reads "user" or "user:group" from the password and
 *	group databases.  daemonutil_drop() sets the groups, the gid, then
 *	the uid, and refuses to go on when setuid(0) still works afterwards.
 *	daemonutil_pidfile() writes "PID\n" to ".NAME.PID.tmp" beside path
 *	and renames it into place: a new inode each start.
 *
 * DIAGNOSTICS
 *	-1 with a sentence in err.
 */
#include "daemonutil.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DAEMONUTIL_NAME_MAX 64

int
daemonutil_user(const char *spec, uid_t *uid, gid_t *gid, char *name,
                size_t namelen)
{
	char user[DAEMONUTIL_NAME_MAX];
	const char *colon = strchr(spec, ':');
	struct passwd *pw;
	struct group *gr;
	size_t len = colon ? (size_t)(colon - spec) : strlen(spec);

	if (len == 0 || len >= sizeof(user))
		return -1;
	memcpy(user, spec, len);
	user[len] = '\0';
	if ((pw = getpwnam(user)) == NULL)
		return -1;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	snprintf(name, namelen, "%s", user);
	if (colon != NULL) {
		if ((gr = getgrnam(colon + 1)) == NULL)
			return -1;
		*gid = gr->gr_gid;
	}
	return 0;
}

int
daemonutil_drop(const char *name, uid_t uid, gid_t gid, char *err,
                size_t errlen)
{
	if (initgroups(name, gid) != 0 || setgid(gid) != 0 ||
	    setuid(uid) != 0) {
		snprintf(err, errlen, "cannot become %s: %s", name,
		         strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {
		snprintf(err, errlen, "%s: privileges could be regained", name);
		return -1;
	}
	return 0;
}

int
daemonutil_pidfile(const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX], tmp[NAME_MAX + 1], buf[32];
	const char *slash = strrchr(path, '/'), *name;
	struct stat sb;
	int dirfd, fd, n, rc = 0;

	if (slash == NULL) {
		snprintf(dir, sizeof(dir), ".");
		name = path;
	} else {
		snprintf(dir, sizeof(dir), "%.*s",
		         slash == path ? 1 : (int)(slash - path), path);
		name = slash + 1;
	}
	if (strlen(name) + 24 > sizeof(tmp) || name[0] == '\0') {
		snprintf(err, errlen, "%s: not a usable file name", path);
		return -1;
	}
	if (lstat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return -1;
	}
	if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: directory %s: %s", path, dir,
		         strerror(errno));
		return -1;
	}
	snprintf(tmp, sizeof(tmp), ".%s.%ld.tmp", name, (long)getpid());
	unlinkat(dirfd, tmp, 0);
	fd = openat(dirfd, tmp,
	            O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(dirfd);
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n)
		rc = -1;
	if (close(fd) != 0)
		rc = -1;
	if (rc == 0 && renameat(dirfd, tmp, dirfd, name) != 0)
		rc = -1;
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlinkat(dirfd, tmp, 0);
	}
	close(dirfd);
	return rc;
}
