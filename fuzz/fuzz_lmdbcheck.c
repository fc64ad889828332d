/*
 * NAME
 *	fuzz_lmdbcheck - libFuzzer target for the LMDB page structure check
 * SYNOPSIS
 *	clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *	    -Isrc/lib fuzz/fuzz_lmdbcheck.c src/lib/lmdbcheck.c -o fuzz_lmdbcheck
 * DESCRIPTION
 *	The input is a data.mdb: written to a memory file and walked by
 *	lmdbcheck_fd(), which must return -1, 0 or 1 with a NUL-terminated
 *	finding, whatever the bytes (the seeds are small real stores).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lmdbcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lmdbcheck_report rep;
	int fd = memfd_create("data.mdb", MFD_CLOEXEC), rc;

	if (fd < 0)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	rc = lmdbcheck_fd(fd, &rep);
	close(fd);
	if (rc < -1 || rc > 1 ||
	    memchr(rep.problem, '\0', sizeof(rep.problem)) == NULL)
		abort();
	return 0;
}
