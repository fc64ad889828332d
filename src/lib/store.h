/*
 * store.h - LMDB registry, readiness state and held-mail index.
 *
 * SYNOPSIS
 *	#include "store.h"
 *
 *	int store_open(const char *dir, unsigned flags,
 *	    const struct store_opts *opts, struct store **out,
 *	    char *err, size_t errlen);
 *	void store_close(struct store *st);
 *
 *	int store_reg_put(struct store *st, const struct domain_reg *reg,
 *	    char *err, size_t errlen);
 *	int store_reg_get(struct store *st, const char *domain,
 *	    struct domain_reg *reg, char *err, size_t errlen);
 *	int store_reg_del(struct store *st, const char *domain, ...);
 *	int store_reg_iter(struct store *st, store_reg_cb cb, void *ctx,
 *	    size_t *ncorrupt, char *err, size_t errlen);
 *
 *	int store_state_put / store_state_get / store_state_del (same shape)
 *	int store_state_iter(struct store *st, store_state_cb cb, ...);
 *	int store_unreg_iter(struct store *st, store_unreg_cb cb, ...);
 *
 *	int store_reader_open(struct store *st, struct store_reader **out,
 *	    char *err, size_t errlen);
 *	int store_state_peek(struct store_reader *rd, const char *domain,
 *	    struct storecodec_state_summary *sum, char *err, size_t errlen);
 *	int store_read_begin(struct store_reader *rd, char *err,
 *	    size_t errlen);
 *	int store_read_state(struct store_reader *rd, const char *domain,
 *	    struct storecodec_state_summary *sum, char *err, size_t errlen);
 *	int store_read_reg(struct store_reader *rd, const char *domain,
 *	    struct storecodec_reg_summary *sum, char *err, size_t errlen);
 *	void store_read_end(struct store_reader *rd);
 *	void store_reader_close(struct store_reader *rd);
 *
 *	int store_batch_begin(struct store *st, struct store_batch **out,
 *	    char *err, size_t errlen);
 *	int store_batch_get_state(struct store_batch *b, const char *domain,
 *	    struct domain_state *state, char *err, size_t errlen);
 *	int store_batch_put_state(struct store_batch *b,
 *	    const struct domain_state *state, char *err, size_t errlen);
 *	int store_batch_put_reg(struct store_batch *b,
 *	    const struct domain_reg *reg, char *err, size_t errlen);
 *	int store_batch_get_unreg(struct store_batch *b, const char *domain,
 *	    struct domain_state *state, bool *held, char *err,
 *	    size_t errlen);
 *	int store_batch_del_state(struct store_batch *b, const char *domain,
 *	    char *err, size_t errlen);
 *	int store_batch_del_reg(struct store_batch *b, const char *domain,
 *	    char *err, size_t errlen);
 *	int store_batch_commit(struct store_batch *b, char *err,
 *	    size_t errlen);
 *	void store_batch_abort(struct store_batch *b);
 *
 *	int store_held_add(struct store *st, const char *domain,
 *	    const char *queue_id, int64_t held_at, const char *reason,
 *	    char *err, size_t errlen);
 *	int store_held_put(struct store *st, const struct held_msg *msg,
 *	    char *err, size_t errlen);
 *	int store_held_list(struct store *st, const char *domain,
 *	    store_held_cb cb, void *ctx, char *err, size_t errlen);
 *	int store_held_del(struct store *st, const char *domain,
 *	    const char *queue_id, char *err, size_t errlen);
 *	int store_held_count(struct store *st, size_t *n, char *err,
 *	    size_t errlen);
 *	int store_held_domains(struct store *st, char (**out)[DOMAIN_BUF],
 *	    size_t *n, char *err, size_t errlen);
 *
 *	int store_last_commit(struct store *st, uint64_t *id);
 *
 *	int store_batch_put_held(struct store_batch *b,
 *	    const struct held_msg *msg, char *err, size_t errlen);
 *	int store_batch_del_held(struct store_batch *b, const char *domain,
 *	    const char *queue_id, char *err, size_t errlen);
 *
 *	int store_batch_put_event(struct store_batch *b, const char *domain,
 *	    const char *body, size_t len, uint64_t *seq, char *err,
 *	    size_t errlen);
 *	int store_outbox_list(struct store *st, uint64_t after, size_t max,
 *	    store_event_cb cb, void *ctx, char *err, size_t errlen);
 *	int store_outbox_del(struct store *st, uint64_t seq, char *err,
 *	    size_t errlen);
 *	int store_outbox_del_many(struct store *st, const uint64_t *seqs,
 *	    size_t n, size_t *gone, char *err, size_t errlen);
 *	int store_outbox_count(struct store *st, size_t *n, char *err,
 *	    size_t errlen);
 *
 *	int store_reg_count(struct store *st, size_t *n, char *err,
 *	    size_t errlen);
 *	int store_reg_walk(struct store *st, int backward, store_reg_cb cb,
 *	    store_problem_cb bad, void *ctx, char *err, size_t errlen);
 *
 *	int store_replica_get(struct store *st, struct store_replica *rp,
 *	    char *err, size_t errlen);
 *	int store_batch_put_replica(struct store_batch *b,
 *	    const struct store_replica *rp, char *err, size_t errlen);
 *	int store_batch_del_replica(struct store_batch *b, char *err,
 *	    size_t errlen);
 *	bool store_replaced(struct store *st, const char *dir);
 *	int store_reopen(struct store *st, const char *dir, char *err,
 *	    size_t errlen);
 *
 *	int store_check(struct store *st, struct store_check_report *rep,
 *	    store_problem_cb cb, void *ctx, char *err, size_t errlen);
 *
 *	int store_guard_install(const char *progname, char *err,
 *	    size_t errlen);
 *	void store_guard_remove(void);
 *
 * DESCRIPTION
 *	One LMDB environment in a directory (StateDir) with three named
 *	databases: "registry" and "state" keyed by the normalized domain
 *	(no NUL), and "held" keyed by domain NUL queue-id, so the entries
 *	of one domain are adjacent.  Values are storecodec.c records:
 *	versioned and validated on every read, and the domain inside a
 *	value must equal its key.
 *
 *	Sharing: LMDB gives one writer at a time (a robust process-shared
 *	mutex, recovered when a writer dies) and readers that never block
 *	and never wait for the writer.  The environment is opened with
 *	MDB_NOTLS, so a store_reader may be used by any thread, one thread
 *	at a time.  Stale reader slots of dead processes are cleared at
 *	open (mdb_reader_check).  Commits use LMDB's default full sync: a
 *	committed transaction survives kill -9 and power loss; an
 *	interrupted one leaves no trace.
 *
 *	Snapshots: an LMDB 0.9 reader delayed across two commits can copy
 *	a meta page newer than the transaction it registered (one whose
 *	sync has not finished), and its next read then goes back in time.
 *	Every batch that changes something therefore stores its own
 *	transaction id as the generation (main database, key
 *	"\0authready-generation", 8 bytes little-endian); a read whose
 *	generation exceeds its transaction id retakes the snapshot, up to
 *	a bounded number of times.  Reads are thus monotonic and never see
 *	a commit before it is durable.  Writers other than this module
 *	(mdb_load) do not store a generation and are not covered.
 *
 *	The milter path is store_state_peek() on a per-thread
 *	store_reader: the reader keeps a reset read transaction and renews
 *	it per lookup, so a lookup costs one mdb_txn_renew, one mdb_get,
 *	a peek of the fixed header and one mdb_txn_reset; nothing blocks.
 *	store_read_begin() ... store_read_end() brackets several lookups
 *	on one snapshot (the milter's sender resolution: state and
 *	registry MAIL FROM of a domain and its parent) for one renew.
 *
 *	Writes from the checker go through a batch (one write transaction
 *	for many states); the single-value put and del functions are
 *	batches of one.  A batch belongs to the thread that began it.
 *	Iteration callbacks run inside a read transaction and must not
 *	write to the store.
 *
 *	Permissions: with STORE_CREATE the directory is made 0750 and the
 *	files 0640 (the umask may only narrow them).  store_open refuses a
 *	directory or data file writable by others, and an ancestor
 *	directory writable by others without the sticky bit; write access
 *	for the group is reported through opts->warn.  Ownership is left to
 *	the caller: run every program as the daemon's user.
 *
 *	Damage: LMDB does not checksum its pages, and one changed byte can
 *	make a read fault inside liblmdb.  store_check() walks everything
 *	(run it in a child: storecheck.c); store_guard_install() turns a
 *	fault in the map into one sentence and exit STORE_EXIT_DAMAGED.
 *	store_open for writing first reads the page structure of data.mdb
 *	(lmdbcheck.c) and refuses a damaged store: liblmdb writing through
 *	a damaged page can corrupt its heap, which no handler catches.
 *
 *	Replica: with StoreDSN the daemon keeps the registry and states a
 *	replica of PostgreSQL (authready-milter's replica.c).  Its position
 *	in the change stream (the highest version applied) and when it last
 *	heard from PostgreSQL live in the main database under the key
 *	"\0authready-replica", written in the batch that applies the rows,
 *	so the position never runs ahead of the data.  No key: no replica,
 *	or a snapshot to take.
 *
 *	Outbox: the webhook events (webhook.h) waiting for delivery, in a
 *	fourth database "outbox" keyed by a sequence number (8 octets,
 *	big-endian, so LMDB's order is the order of the events); the value
 *	is a format octet, the domain, a NUL and the JSON body.  The last
 *	sequence number given lives in the main database under
 *	"\0authready-outbox-seq", so numbers are never given twice, even
 *	after the outbox empties.  An event is put in the batch that makes
 *	the change it tells of, so both or neither are committed.  A store
 *	made before the outbox gains it when it is opened for writing; one
 *	opened read-only has none (the outbox functions say so).
 *
 *	Never use a struct store across fork(); open a new one in the
 *	child.  Do not open the same directory twice in one process (an
 *	LMDB rule: closing one handle would drop the other's locks).
 *
 * DIAGNOSTICS
 *	Functions return STORE_OK, STORE_NOTFOUND (no such key),
 *	STORE_CORRUPT (the value failed validation: log err, treat the
 *	domain as unknown, re-check it and overwrite) or STORE_ERROR
 *	(environment trouble, bad argument, map full), with a sentence in
 *	err.  Keys in messages are sanitized.
 */
#ifndef AUTHREADY_STORE_H
#define AUTHREADY_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain.h"
#include "storecodec.h"

#define STORE_MAPSIZE_DEFAULT ((size_t)4 << 30) /* 4 GiB of address space */
#define STORE_MAXREADERS_DEFAULT 256            /* milter threads + CLIs */
#define STORE_DIR_MODE 0750
#define STORE_FILE_MODE 0640
#define STORE_KEY_RAW_MAX 511 /* LMDB's largest key */
#define STORE_EXIT_DAMAGED 78 /* exit status after a fault in the map */

/* What the operator does about a damaged store (authready(1) RECOVERY). */
#define STORE_RECOVERY                                                         \
	"stop authready-milter; authready domain export FILE; move the "       \
	"state directory aside; authready domain import FILE; authready "      \
	"refresh --all (see RECOVERY in authready(1))"

enum store_status {
	STORE_ERROR = -1,
	STORE_OK = 0,
	STORE_NOTFOUND = 1,
	STORE_CORRUPT = 2,
};

/* store_open flags */
#define STORE_RDONLY 0x1u /* read-only environment (no writes at all) */
#define STORE_CREATE 0x2u /* make the directory and databases if absent */

struct store_opts {
	size_t mapsize;      /* 0: STORE_MAPSIZE_DEFAULT */
	unsigned maxreaders; /* 0: STORE_MAXREADERS_DEFAULT */
	/* Non-fatal findings (group-writable path, stale readers cleared). */
	void (*warn)(void *ctx, const char *msg);
	void *warn_ctx;
};

struct store;
struct store_reader;
struct store_batch;

int store_open(const char *dir, unsigned flags, const struct store_opts *opts,
               struct store **out, char *err, size_t errlen);
void store_close(struct store *st);
/* store_vet_location - store_open()'s check of StateDir's ancestors,
 * for a StateDir that may not exist yet (nothing is created). */
int store_vet_location(const char *dir, char *err, size_t errlen);

/* Registry. */
int store_reg_put(struct store *st, const struct domain_reg *reg, char *err,
                  size_t errlen);
int store_reg_get(struct store *st, const char *domain, struct domain_reg *reg,
                  char *err, size_t errlen);
int store_reg_del(struct store *st, const char *domain, char *err,
                  size_t errlen);

/* Iteration callbacks return 0 to go on, anything else to stop. */
typedef int (*store_reg_cb)(void *ctx, const struct domain_reg *reg);
typedef int (*store_state_cb)(void *ctx, const struct domain_state *state);

/* store_reg_iter - every decodable entry in key order; counts the rest. */
int store_reg_iter(struct store *st, store_reg_cb cb, void *ctx,
                   size_t *ncorrupt, char *err, size_t errlen);

/* store_last_commit - the id of the last write transaction committed to
 * the store by any process (LMDB's meta page; no transaction is begun):
 * equal ids, equal contents.  For caches of what was read. */
int store_last_commit(struct store *st, uint64_t *id);

/* store_reg_count - the registry's entries as LMDB counts them (its
 * database record; no page of the tree is read). */
int store_reg_count(struct store *st, size_t *n, char *err, size_t errlen);

/* problem: db name, sanitized key, one sentence. */
typedef void (*store_problem_cb)(void *ctx, const char *db, const char *key,
                                 const char *problem);

/* store_reg_walk - store_reg_iter in either direction (backward: from the
 * last key down), each undecodable entry named through bad (may be
 * NULL); for salvaging what a damaged store still holds. */
int store_reg_walk(struct store *st, int backward, store_reg_cb cb,
                   store_problem_cb bad, void *ctx, char *err, size_t errlen);

/* Readiness state. */
int store_state_put(struct store *st, const struct domain_state *state,
                    char *err, size_t errlen);
int store_state_get(struct store *st, const char *domain,
                    struct domain_state *state, char *err, size_t errlen);
int store_state_del(struct store *st, const char *domain, char *err,
                    size_t errlen);
int store_state_iter(struct store *st, store_state_cb cb, void *ctx,
                     size_t *ncorrupt, char *err, size_t errlen);

/*
 * Unregistered states: those without a registry entry (the milter's checks
 * of unregistered sender domains).  held: mail is indexed under the domain.
 * store_unreg_iter - every decodable one in key order; counts the rest.
 */
typedef int (*store_unreg_cb)(void *ctx, const struct domain_state *state,
                              bool held);
int store_unreg_iter(struct store *st, store_unreg_cb cb, void *ctx,
                     size_t *ncorrupt, char *err, size_t errlen);

/* Fast read path: one reader per thread, used one lookup at a time. */
int store_reader_open(struct store *st, struct store_reader **out, char *err,
                      size_t errlen);
void store_reader_close(struct store_reader *rd);
int store_state_peek(struct store_reader *rd, const char *domain,
                     struct storecodec_state_summary *sum, char *err,
                     size_t errlen);
/* A read session: several lookups on one snapshot, between begin and end
 * (store_state_peek is a session of one lookup). */
int store_read_begin(struct store_reader *rd, char *err, size_t errlen);
int store_read_state(struct store_reader *rd, const char *domain,
                     struct storecodec_state_summary *sum, char *err,
                     size_t errlen);
int store_read_reg(struct store_reader *rd, const char *domain,
                   struct storecodec_reg_summary *sum, char *err,
                   size_t errlen);
void store_read_end(struct store_reader *rd);

/* Batch writer: one write transaction for many puts. */
int store_batch_begin(struct store *st, struct store_batch **out, char *err,
                      size_t errlen);
int store_batch_get_state(struct store_batch *b, const char *domain,
                          struct domain_state *state, char *err, size_t errlen);
int store_batch_put_state(struct store_batch *b,
                          const struct domain_state *state, char *err,
                          size_t errlen);
int store_batch_put_reg(struct store_batch *b, const struct domain_reg *reg,
                        char *err, size_t errlen);
/* store_batch_get_unreg - domain's state when it has no registry entry;
 * STORE_NOTFOUND when it has one, or no state. */
int store_batch_get_unreg(struct store_batch *b, const char *domain,
                          struct domain_state *state, bool *held, char *err,
                          size_t errlen);
/* store_batch_del_state - remove domain's state (STORE_NOTFOUND: none). */
int store_batch_del_state(struct store_batch *b, const char *domain, char *err,
                          size_t errlen);
/* store_batch_del_reg - remove domain's registry entry (STORE_NOTFOUND:
 * none). */
int store_batch_del_reg(struct store_batch *b, const char *domain, char *err,
                        size_t errlen);
/* store_batch_commit - commits and frees b, also when it fails. */
int store_batch_commit(struct store_batch *b, char *err, size_t errlen);
/* store_batch_abort - drops every put of b and frees it. */
void store_batch_abort(struct store_batch *b);

/* Held-message index. */
typedef int (*store_held_cb)(void *ctx, const struct held_msg *msg);
int store_held_add(struct store *st, const char *domain, const char *queue_id,
                   int64_t held_at, const char *reason, char *err,
                   size_t errlen);
int store_held_put(struct store *st, const struct held_msg *msg, char *err,
                   size_t errlen);
int store_held_list(struct store *st, const char *domain, store_held_cb cb,
                    void *ctx, char *err, size_t errlen);
int store_held_del(struct store *st, const char *domain, const char *queue_id,
                   char *err, size_t errlen);
/* store_held_domains - the domains with held messages, each once, in
 * key order: a new array in *out (free() it), *n of them. */
int store_held_domains(struct store *st, char (**out)[DOMAIN_BUF], size_t *n,
                       char *err, size_t errlen);
/* store_held_count - entries in the held index (its page count, not a
 * walk). */
int store_held_count(struct store *st, size_t *n, char *err, size_t errlen);

/* store_batch_put_held - store_held_put in a batch.
 * store_batch_del_held - store_held_del in a batch (STORE_NOTFOUND:
 * none). */
int store_batch_put_held(struct store_batch *b, const struct held_msg *msg,
                         char *err, size_t errlen);
int store_batch_del_held(struct store_batch *b, const char *domain,
                         const char *queue_id, char *err, size_t errlen);

/* Webhook outbox. */
#define STORE_EVENT_MAX (256 * 1024) /* octets of one event's body */
/* store_event_cb - one event: domain NULL for a value that does not
 * decode (body then says why); 0 to go on. */
typedef int (*store_event_cb)(void *ctx, uint64_t seq, const char *domain,
                              const char *body, size_t len);
/* store_batch_put_event - append an event; its sequence in *seq (may be
 * NULL). */
int store_batch_put_event(struct store_batch *b, const char *domain,
                          const char *body, size_t len, uint64_t *seq,
                          char *err, size_t errlen);
/* store_outbox_list - at most max events after sequence after, in
 * order, on one snapshot; the callback must not write to the store. */
int store_outbox_list(struct store *st, uint64_t after, size_t max,
                      store_event_cb cb, void *ctx, char *err, size_t errlen);
/* store_outbox_del - an event delivered or given up (STORE_NOTFOUND:
 * not there). */
int store_outbox_del(struct store *st, uint64_t seq, char *err, size_t errlen);
/* store_outbox_del_many - the events of seqs[0..n) in one transaction
 * (one sync for a burst); how many were there in *gone. */
int store_outbox_del_many(struct store *st, const uint64_t *seqs, size_t n,
                          size_t *gone, char *err, size_t errlen);
/* store_outbox_count - events waiting (0 without an outbox). */
int store_outbox_count(struct store *st, size_t *n, char *err, size_t errlen);

/* The replica's place in PostgreSQL's change stream. */
struct store_replica {
	int64_t position; /* highest version applied */
	int64_t heard_ms; /* unix ms when PostgreSQL last answered */
};
/* store_replica_get - STORE_NOTFOUND when no position is recorded. */
int store_replica_get(struct store *st, struct store_replica *rp, char *err,
                      size_t errlen);
int store_batch_put_replica(struct store_batch *b,
                            const struct store_replica *rp, char *err,
                            size_t errlen);
/* store_batch_del_replica - forget the position (a snapshot follows). */
int store_batch_del_replica(struct store_batch *b, char *err, size_t errlen);
/* store_replaced - dir/data.mdb is gone or is no longer the file st has
 * open (the store was deleted or moved under a running daemon). */
bool store_replaced(struct store *st, const char *dir);
/*
 * store_reopen - make a new store in dir (after store_replaced) and
 * switch st to it while other threads use st: readers move to it at
 * their next read, batches begun after it write to it (one begun before
 * commits to the old one, whose writes are lost with it).  The old
 * environment stays open until store_close() (its map stays, a few
 * pages of memory), at most STORE_RETIRED_MAX (4) times; for a daemon
 * that must not stop.  Only for a store deleted: when
 * dir/data.mdb is there (a store put in its place) it refuses; a
 * lock.mdb left in dir is removed first.  STORE_ERROR with err when the
 * new store cannot be made (st is then unchanged).
 */
int store_reopen(struct store *st, const char *dir, char *err, size_t errlen);

/* Consistency check. */
struct store_check_report {
	size_t regs, states, held; /* entries seen */
	size_t events;             /* outbox entries seen */
	size_t corrupt;            /* values that fail to decode or
	                              disagree with their key */
	size_t unreg_states;       /* states of unregistered domains */
	size_t unreg_held;         /* held entries of unregistered domains */
	size_t free_pages;         /* pages on LMDB's free list */
	size_t damaged;            /* structural findings: keys out of
	                              order, a key its own lookup misses, an
	                              entry count that disagrees, a free
	                              page out of range */
	/* Progress, for a caller watching from another process (the
	 * walk may die in the map): the database and the last key reached. */
	char db[16];
	unsigned char key[STORE_KEY_RAW_MAX];
	size_t keylen;
};
/*
 * store_check - walk every database (LMDB's free list, the main database,
 * registry, state, held) in one read transaction: every entry is reached
 * by a cursor and again by its own lookup from the root, keys must ascend,
 * entry counts must match LMDB's, every value byte is read and every
 * value decodes and matches its key.  STORE_CORRUPT when anything is
 * corrupt or damaged, each finding reported through cb.  A state or held
 * entry of a domain without a registry entry is normal (an unregistered
 * domain the milter checked): counted, never a finding.  A damaged page can
 * still fault inside LMDB: run it in a child process (storecheck.c), never in a
 * process that must survive.
 */
int store_check(struct store *st, struct store_check_report *rep,
                store_problem_cb cb, void *ctx, char *err, size_t errlen);

const char *store_status_name(int status);

/*
 * store_guard_install - from now on a SIGBUS or SIGSEGV inside an open
 * store's map, or inside a store call, writes "PROGNAME: state store DIR
 * is damaged: ...; recover with: STORE_RECOVERY" to stderr with write(2)
 * and ends the process with _exit(STORE_EXIT_DAMAGED); other faults go
 * to the handler installed before.  "Inside a store call" is the call's
 * own code and liblmdb: a fault in the caller's code while a batch or a
 * reader's snapshot stays open, or in an iteration callback, is the
 * caller's and goes to the handler before.  For main() of each program.
 * store_guard_remove - back to the handlers before (a checking child
 * that must die by the signal).
 */
int store_guard_install(const char *progname, char *err, size_t errlen);
void store_guard_remove(void);

#endif
