/*
 * release.h - release held mail of a domain from the MTA's hold queue.
 *
 * Quarantined messages sit in Postfix's hold queue, their queue IDs
 * indexed under the domain in the store.  release_domain() hands the IDs
 * to the release command (default "/usr/sbin/postsuper -H -", which reads
 * the IDs from stdin) through subprocess_run(): fixed argv, no shell.
 * Every ID is validated first: letters and digits only, and never "ALL",
 * which postsuper would take as every message in the queue.  IDs the
 * command accepted are removed from the index; on failure nothing is
 * removed, so nothing is lost.
 */
#ifndef AUTHREADY_RELEASE_H
#define AUTHREADY_RELEASE_H

#include <stdbool.h>
#include <stddef.h>

#include "store.h"

#define RELEASE_COMMAND_DEFAULT "/usr/sbin/postsuper -H -"
#define RELEASE_TIMEOUT_MS 60000
#define RELEASE_BATCH_MAX 1000 /* IDs per run of the command */

/* release_queue_id_ok - letters and digits, 1..63, not "ALL". */
bool release_queue_id_ok(const char *id);

/*
 * release_domain - release every held message of domain.  *released and
 * *invalid count what was done.  0 ok (also when nothing was held); -1
 * with err when the command failed or the store could not be read.
 */
int release_domain(struct store *st, const char *domain, const char *command,
    size_t *released, size_t *invalid, char *err, size_t errlen);

#endif
