/*
 * store.h — the state store's backend interface (DESIGN §6). Internal to
 * core/store/: the rest of the core and every module see only the
 * jauth_m_store_* services of module.h (store.c), never which backend
 * holds the records.
 *
 * A backend keeps records: opaque byte strings (store.c hands it
 * serialized JSON, checked and size-capped), each named by a string of
 * letters, digits, '.', '_', '-' ("SERVICE.MODULE.KEY"). It promises:
 *
 *  - load: the record as last committed, with the intent mark written
 *    after that commit if there is one (see note) — or "none". No lock: the
 *    record may be replaced a moment later, but never seen half-written.
 *  - lock: the record's single-flight lock, shared by every thread and
 *    process (and, for a shared backend, host) using the same store; the
 *    wait for it blocks (no polling) and is bounded (JAUTH_TRANSIENT after
 *    the bound). A lock dies with its holder (process killed, session
 *    lost). Once held, the record is re-read as load would. The lock object
 *    may carry what it read (e.g. a generation) for commit's fence.
 *  - note: the intent mark ("this refresh token is being sent"), written
 *    before a request that must not be repeated blindly. It survives the
 *    holder's crash (kill -9) and is seen by the next lock and load; it may
 *    be lost in a power failure, and then the last committed record is in
 *    force. A note never damages or replaces the committed record (the
 *    durable record is only ever replaced by a durable commit).
 *  - commit: the durable replacement. When it returns success the new
 *    record survives a power failure and every later load or lock sees it
 *    (the note is gone with it); on failure the previous record is in
 *    force. A backend that fences (a generation compare-and-set) fails
 *    the commit when the record changed since the lock read it.
 *  - remove: the durable removal of the record and its note.
 *  - unlock: releases the lock; never fails.
 *
 * Every function that can fail reports through jauth_m_fail on M (one
 * line that says what to do) and returns the result: JAUTH_TRANSIENT for
 * what may pass (lock wait, store unreachable), JAUTH_ERROR otherwise.
 * "None" is success with *text NULL.
 */
#ifndef JAUTH_STORE_H
#define JAUTH_STORE_H

#include <stddef.h>

#include "../internal.h"

/* A backend's held lock on one record (each backend defines its own). */
struct store_lock;

/* What a backend can say about a record, for `jauth status`. The strings
 * are malloc'd (NULL when unknown); store_info_clear frees them. */
struct store_info {
	char *where;	      /* the directory, the database */
	char *holder;	      /* who holds the lock now, or committed last */
	long long generation; /* the record's generation; -1 when none */
	int marked;	      /* an intent mark is in force */
};

struct store_backend {
	const char *name; /* as the stack's `store` directive names it */
	/* The largest record (bytes) it stores and reads back. */
	size_t max_record;

	/* Opens the backend for handle H with CONF (the `store` directive's
	 * argument; NULL for the default). No I/O is needed yet: a backend
	 * may connect on first use. Returns its per-handle state in *ctx, or
	 * -1 with *why (malloc'd). */
	int (*open)(struct jauth *h, const char *conf, void **ctx, char **why);
	/* Frees what open made. NULL is accepted. */
	void (*close)(void *ctx);
	/* Called by jauth_open while its walks share their directories:
	 * opens what the first use would, where that makes nothing and
	 * checks everything; any problem is left for the first use to
	 * report. May be NULL. */
	void (*warm)(void *ctx);
	/* Where record NAME lives, for messages ("/var/lib/jauth/N.json"),
	 * malloc'd. */
	char *(*where)(void *ctx, const char *name);

	/* Reads record NAME: *text (malloc'd, *len bytes, NUL-terminated) or
	 * NULL when there is none. */
	jauth_result (*load)(jauth_m *m, void *ctx, const char *name,
			     char **text, size_t *len);
	/* Takes NAME's lock, then reads it as load does. On success *lk is
	 * held (also when there is no record); on failure nothing is held.
	 * TEXT NULL: take the lock without reading (a caller that replaces
	 * or removes the record whatever it holds). */
	jauth_result (*lock)(jauth_m *m, void *ctx, const char *name,
			     struct store_lock **lk, char **text, size_t *len);
	/* lock, unless another holder has the lock: then waits (bounded)
	 * until it lets go and returns success with *lk NULL, holding
	 * nothing and reading nothing — the caller reads again and may find
	 * its work done. May be NULL (store.c then uses lock). */
	jauth_result (*lock_or_wait)(jauth_m *m, void *ctx, const char *name,
				     struct store_lock **lk, char **text,
				     size_t *len);
	/* Writes the intent mark: TEXT is the whole record as noted. */
	jauth_result (*note)(jauth_m *m, struct store_lock *lk,
			     const char *text, size_t len);
	/* Replaces the record with TEXT, durably. */
	jauth_result (*commit)(jauth_m *m, struct store_lock *lk,
			       const char *text, size_t len);
	/* Removes the record (and its mark), durably. */
	jauth_result (*remove)(jauth_m *m, struct store_lock *lk);
	/* Releases the lock. NULL is accepted. */
	void (*unlock)(struct store_lock *lk);
	/* Fills OUT for record NAME. May be NULL. */
	jauth_result (*info)(jauth_m *m, void *ctx, const char *name,
			     struct store_info *out);
	/* Opens the backend from the stack's directive "store NAME ARG…"
	 * on line SRC: ARGV[0..ARGC) are the ARGs as the lexer split them
	 * (quotes removed), so a value may hold blanks. May be NULL: then
	 * open gets the ARGs joined by blanks. */
	int (*open_args)(struct jauth *h, const char *src, char **argv,
			 size_t argc, void **ctx, char **why);
};

/* ---- dir.c: the state directory ---- */

/* Where the state directory in force came from. */
enum dir_origin {
	DIR_OPTION,  /* jauth_options.state_dir, the CLI's -s */
	DIR_ENV,     /* $JAUTH_STATE_DIR */
	DIR_SYSTEMD, /* $STATE_DIRECTORY (the first of them) */
	DIR_DEFAULT, /* /var/lib/jauth for root, else under XDG_STATE_HOME/HOME
		      */
	DIR_NONE,    /* none: no usable HOME ("" is returned) */
};
/* state_dir_of, saying where the directory came from. */
char *state_dir_pick(const char *opt, enum dir_origin *origin);
/* Opens DIR (its whole path walked and checked as trust_open_dir does,
 * missing directories made 0700 when CREATE) if it is the caller's and
 * private (0700). Returns an O_DIRECTORY descriptor, or -1 with *why
 * (malloc'd): one line that says what to do, worded for origin O. */
int state_dir_open(const char *dir, enum dir_origin o, int create, char **why);
/* Opens NAME in directory DFD with FLAGS (O_RDONLY, or O_RDWR|O_CREAT for a
 * 0600 file) if it is a private regular file of the caller's: never a
 * link (O_NOFOLLOW), never blocking on a FIFO or device planted under the
 * name (O_NONBLOCK, the type checked on the descriptor). Returns the
 * descriptor, or -1 with errno (ENOENT: none; EPERM: not private). */
int open_private_at(int dfd, const char *name, int flags);
/* write(2) until done. Returns 0, or -1 with errno. */
int write_all(int fd, const char *s, size_t n);
/* Writes a new file NAME (0600, O_EXCL; a stale one is removed first: the
 * caller holds the lock that makes it stale) in DFD; fsynced when DURABLE.
 * Returns 0, or -1 with errno (nothing left behind). */
int write_new_at(int dfd, const char *name, const char *text, size_t len,
		 int durable);

/* file.c: records as files in the state directory (the default). */
extern const struct store_backend store_files;
/* pgsql.c: records in PostgreSQL, shared by hosts (the driver, with libpq,
 * is the private object store-pgsql.so). */
extern const struct store_backend store_pgsql;

/* S's state if S runs backend BE, else NULL. */
void *store_ctx(struct store *s, const struct store_backend *be);
/* The store module instance M's records live in: its stack's, or the
 * handle's default. */
struct store *store_of(jauth_m *m);

/* pgsql.c, for pgsql_admin.c: "pgsql host=… dbname=…" of CTX; the schema
 * script SQL run (jauth store init); the service's records (no contents)
 * as a JSON array [{module, key, generation, holder, intent_at,
 * updated_by, updated_at, locked_by, present}]. */
const char *pgsql_where(const void *ctx);
jauth_result pgsql_init(jauth_m *m, void *ctx, const char *sql);
jauth_result pgsql_records(jauth_m *m, void *ctx, cJSON **out);

void store_info_clear(struct store_info *in);

/* ---- seal.c: records sealed at rest, for every backend ---- */

struct seal;
/* 1 when REF may name a store key: @file:/PATH, @env:NAME, @cred:NAME. */
int seal_ref_ok(const char *ref);
/* The sealing of a store with key reference KEY and, while rotating, the
 * previous one KEY_OLD (may be NULL). Nothing is read yet. */
struct seal *seal_new(const char *key, const char *key_old);
void seal_free(struct seal *sl);
/* Seals record NAME's TEXT (LEN bytes) into *out (malloc'd, *outlen
 * bytes). JAUTH_CONFIG when the key cannot be had. */
jauth_result seal_record(jauth_m *m, struct seal *sl, const char *name,
			 const char *text, size_t len, char **out,
			 size_t *outlen);
/* Replaces *text (a record NAME read from the backend, *len bytes) with
 * its clear text. SL NULL: the store has no key. A sealed record without
 * a key, a key that is not the record's, or (unless ALLOW_CLEAR) a clear
 * record in a store with a key is JAUTH_CONFIG; a record whose tag fails
 * (changed, or moved from another name) is JAUTH_ERROR. */
jauth_result unseal_record(jauth_m *m, struct seal *sl, const char *name,
			   int allow_clear, char **text, size_t *len);
/* 1 when TEXT is a sealed record. */
int record_sealed(const char *text);
/* S's backend and its sealing (NULL: none), for rekey.c. */
const struct store_backend *store_backend_of(struct store *s);
struct seal *store_seal_of(struct store *s);

#endif
