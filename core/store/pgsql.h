/*
 * pgsql.h — the PostgreSQL driver: the private object store-pgsql.so
 * (pgsql_driver.c, the only code that links libpq) and what libjauth's
 * PostgreSQL backend (pgsql.c) calls in it.
 *
 * Private: built with libjauth from the same tree and checked by
 * PGSQL_DRIVER_ABI, not a public interface. Strings in, strings out:
 * the driver knows nothing of handles, modules or JSON. Every string it
 * hands back is malloc'd (free it with free()); *why is one line that says
 * what to do, and never holds the password or a record.
 */
#ifndef JAUTH_STORE_PGSQL_H
#define JAUTH_STORE_PGSQL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PGSQL_DRIVER_ABI 1
#define PGSQL_DRIVER_SYMBOL "jauth_pgsql_driver"
#define PGSQL_DRIVER_FILE "store-pgsql.so"

enum pg_rc {
	PG_OK = 0,
	PG_DOWN,    /* the server cannot be reached now: transient */
	PG_BUSY,    /* another holder kept the lock past lock_timeout */
	PG_LOST,    /* compare-and-set lost: the generation moved on */
	PG_REFUSED, /* the server or the settings are refused: config */
	PG_FAIL,    /* anything else */
};

struct pg_settings {
	const char *conninfo; /* libpq keyword string or URI */
	const char *password; /* NULL: libpq's own (.pgpass, PGPASSWORD) */
	const char *service;  /* jauth's service, for messages */
	int lock_timeout_ms;  /* how long a waiter waits for the lock */
	int hold_timeout_ms;  /* a silent lock holder's session ends after */
	int allow_nondurable; /* test rigs only: accept fsync=off etc. */
};

/* One record of the store as the database has it. */
struct pg_row {
	char *record;	      /* JSON text; NULL when there is none */
	long long generation; /* 0: no row at all */
	char *holder;	      /* who committed the pending intent mark */
	long long intent_at;  /* when (database clock), 0: none pending */
	char *updated_by;     /* who wrote the record last */
	long long updated_at; /* when (database clock) */
};

struct pg;

struct pgsql_driver {
	uint32_t abi;
	/* Checks a connection string without connecting: it parses, and a
	 * TCP host is not reached with sslmode other than verify-full.
	 * Returns 0, or -1 with *why. */
	int (*check)(const char *conninfo, char **why);
	/* A connection object (not connected yet; every call connects on
	 * demand and again after a lost session, as application_name
	 * "jauth HOST:PID", which is also the holder it records). Copies S. */
	struct pg *(*open)(const struct pg_settings *s);
	void (*close)(struct pg *pg);
	/* Reads record (SVC, MOD, KEY) without a lock. */
	enum pg_rc (*load)(struct pg *pg, const char *svc, const char *mod,
			   const char *key, struct pg_row *row, char **why);
	/* Takes the record's session-level advisory lock (waiting in the
	 * database, at most lock_timeout), then reads it. */
	enum pg_rc (*lock)(struct pg *pg, const char *svc, const char *mod,
			   const char *key, struct pg_row *row, char **why);
	/* Replaces the record if its generation is still GEN (0: no row
	 * yet), durably; RECORD NULL removes it (the generation lives on).
	 * INTENT marks the write as the intent mark before a request. On
	 * PG_OK *gen is the new generation. A session lost meanwhile is
	 * reconnected and the compare-and-set still decides. */
	enum pg_rc (*write)(struct pg *pg, const char *svc, const char *mod,
			    const char *key, long long *gen, const char *record,
			    int intent, char **why);
	/* Releases the lock (a lost session released it already). */
	void (*unlock)(struct pg *pg, const char *svc, const char *mod,
		       const char *key);
	/* Runs the schema script SQL (jauth store init). */
	enum pg_rc (*init)(struct pg *pg, const char *sql, char **why);
	/* The service's records as JSON text: [{"module","key",
	 * "generation","holder","intent_at","updated_by","updated_at",
	 * "locked_by"}], no record contents. */
	enum pg_rc (*status)(struct pg *pg, const char *svc, char **json,
			     char **why);
	/* "host=… dbname=… user=…" of the settings, nothing secret. */
	char *(*describe)(struct pg *pg);
	/* The backend pid of the session, 0 when not connected (tests). */
	int (*backend_pid)(struct pg *pg);
};

/* Frees what a row holds (the record wiped: it holds tokens). */
static inline void pg_row_clear(struct pg_row *row)
{
	if (row->record)
		explicit_bzero(row->record, strlen(row->record));
	free(row->record);
	free(row->holder);
	free(row->updated_by);
	memset(row, 0, sizeof *row);
}

#endif
