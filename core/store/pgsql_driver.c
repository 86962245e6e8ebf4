/*
 * pgsql_driver.c — store-pgsql.so, the only code of jauth that links
 * libpq: connections, the advisory lock, the compare-and-set writes
 * (pgsql.h has the contract, docs/ARCHITECTURE.md the design).
 *
 * One session per struct pg. The lock is a session-level advisory lock,
 * so the database releases it when the session dies; waiting for it
 * happens in the database, bounded by lock_timeout. Every write is a
 * compare-and-set on the record's generation, so a holder whose session
 * died meanwhile can still commit if, and only if, nobody else wrote.
 */
#include <errno.h>
#include <stdarg.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <libpq-fe.h>

#include "pgsql.h"

#define EXPORT __attribute__((visibility("default")))
#define STATEMENT_SLACK_MS 5000 /* statement_timeout beyond lock_timeout */
#define WRITE_RETRY_MS                                                         \
	10000		/* a write in hand waits this long for a               \
			   restarting server */
#define CONNECT_MS 5000 /* a connection attempt, TLS and SCRAM included */
#define MAX_SKEW_S 30	/* clocks of hosts and database agree within */
#define LOCK_KEY "hashtextextended($1 || '/' || $2 || '/' || $3, 0)"

struct pg {
	struct pg_settings s;
	PGconn *c;
	pid_t pid;	   /* the process that made c */
	int held;	   /* the lock is held by the current session */
	char app_name[96]; /* "jauth HOST:PID" */
	long long skew;	   /* the database's clock minus ours, seconds */
};

/* ---- small helpers ---- */

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		abort();
	va_end(ap);
	return s;
}

static char *sdup(const char *s)
{
	char *d = s ? strdup(s) : NULL;
	if (s && !d)
		abort();
	return d;
}

/* libpq's message as one line: newlines become "; ", the end trimmed. */
static char *one_line(const char *msg)
{
	char *s = sdup(msg && *msg ? msg : "no message from libpq");
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
	struct {
		char *p;
		size_t n;
	} out = { calloc(1, 2 * n + 1), 0 };
	if (!out.p)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n') {
			memcpy(out.p + out.n, "; ", 2);
			out.n += 2;
		} else if (s[i] != '\t' && s[i] != '\r') {
			out.p[out.n++] = s[i];
		}
	}
	free(s);
	return out.p;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static double mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- connection strings ---- */

/* The value of KEYWORD in parsed options, or NULL. */
static const char *opt_of(const PQconninfoOption *o, const char *keyword)
{
	for (; o && o->keyword; o++)
		if (strcmp(o->keyword, keyword) == 0)
			return o->val && *o->val ? o->val : NULL;
	return NULL;
}

/* 1 when one of the comma-separated hosts of HOST (NULL: libpq's
 * default, a Unix socket unless $PGHOST says otherwise) is reached over
 * TCP. */
static int any_tcp(const char *host, const char *hostaddr)
{
	if (hostaddr)
		return 1;
	if (!host)
		host = getenv("PGHOST");
	if (!host || !*host)
		return 0;
	for (const char *p = host; *p;) {
		size_t n = strcspn(p, ",");
		if (n > 0 && p[0] != '/' && p[0] != '@')
			return 1;
		p += n + (p[n] == ',');
	}
	return 0;
}

static int check(const char *conninfo, char **why)
{
	char *err = NULL;
	*why = NULL;
	PQconninfoOption *o = PQconninfoParse(conninfo, &err);
	if (!o) {
		char *e = one_line(err);
		*why = fmt("the connection string does not parse (%s): write "
			   "libpq's key=value pairs or a postgresql:// URI",
			   e);
		free(e);
		PQfreemem(err);
		return -1;
	}
	const char *mode = opt_of(o, "sslmode");
	if (mode && strcmp(mode, "verify-full") != 0 &&
	    any_tcp(opt_of(o, "host"), opt_of(o, "hostaddr")))
		*why = fmt("sslmode=%s to a TCP host would not verify the "
			   "server: use sslmode=verify-full (the default) with "
			   "sslrootcert=, or a Unix socket",
			   mode);
	else if (opt_of(o, "password"))
		*why = fmt("the connection string holds the password: give it "
			   "as password=@file:PATH (or @env:NAME), "
			   "or in ~/.pgpass");
	PQconninfoFree(o);
	return *why ? -1 : 0;
}

/* ---- the session ---- */

/* 1 when a failed connection attempt says the settings are wrong (TLS,
 * password, user, database), not that the server is out of reach. */
static int refused_at_connect(const char *msg)
{
	static const char *const words[] = {
		"authentication failed",
		"certificate",
		"SSL error",
		"does not support SSL",
		"pg_hba.conf",
		"does not exist",
		"password",
		"root cert",
		"not permitted",
	};
	for (size_t i = 0; i < sizeof words / sizeof *words; i++)
		if (msg && strstr(msg, words[i]))
			return 1;
	return 0;
}

/* What to do about a connection refused for MSG (refused_at_connect). */
static const char *refusal_fix(const char *msg)
{
	static const struct {
		const char *word, *fix;
	} fixes[] = {
		{ "certificate", "set sslrootcert= in the store line to the CA "
				 "that signed the database server's "
				 "certificate" },
		{ "SSL", "set sslrootcert= in the store line to the CA that "
			 "signed the database server's certificate" },
		{ "root cert", "set sslrootcert= in the store line to the CA "
			       "that signed the database server's "
			       "certificate" },
		{ "pg_hba.conf", "allow this host and role (hostssl) in the "
				 "server's pg_hba.conf" },
		{ "password", "check the store line's password= (or "
			      "~/.pgpass) against the role's password" },
		{ "authentication failed",
		  "check the store line's password= (or ~/.pgpass) against "
		  "the role's password" },
		{ "does not exist", "check user= and dbname= of the store "
				    "line, or create them on the server" },
	};
	for (size_t i = 0; i < sizeof fixes / sizeof *fixes; i++)
		if (msg && strstr(msg, fixes[i].word))
			return fixes[i].fix;
	return "check the store line (jauth.conf(5), SHARED STORE)";
}

/* libpq prints the server's notices on stderr; a library keeps quiet. */
static void no_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* Drives a started connection to its end, CONNECT_MS at the most (the
 * connect_timeout of libpq's blocking connect is libpq's own loop).
 * Returns 0, or -1 when time ran out. */
static int connect_poll(PGconn *c)
{
	double deadline = mono_ms() + CONNECT_MS;
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
		struct pollfd p = { PQsocket(c),
				    st == PGRES_POLLING_READING ? POLLIN
								: POLLOUT,
				    0 };
		int left = (int)(deadline - mono_ms());
		int n = left > 0 ? poll(&p, 1, left) : 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		st = PQconnectPoll(c);
	}
	return 0;
}

static PGconn *connect_db(struct pg *pg)
{
	const char *kw[16], *val[16];
	int n = 0;
#define P(k, v) (kw[n] = (k), val[n] = (v), n++)
	/* Defaults first: the connection string overrides them. */
	P("sslmode", "verify-full");
	P("keepalives", "1");
	P("keepalives_idle", "5");
	P("keepalives_interval", "2");
	P("keepalives_count", "3");
	P("tcp_user_timeout", "10000");
	P("dbname", pg->s.conninfo);
	if (pg->s.password)
		P("password", pg->s.password);
	char host[64] = "?";
	gethostname(host, sizeof host - 1);
	snprintf(pg->app_name, sizeof pg->app_name, "jauth %s:%d", host,
		 (int)getpid());
	P("application_name", pg->app_name);
	kw[n] = val[n] = NULL;
#undef P
	/* Started, not blocking, so that the notice processor is in place
	 * before the server says anything. */
	PGconn *c = PQconnectStartParams(kw, val, 1);
	if (!c)
		abort();
	PQsetNoticeProcessor(c, no_notice, NULL);
	if (PQstatus(c) != CONNECTION_BAD && connect_poll(c) < 0) {
		PQfinish(c);
		return NULL; /* no answer in time */
	}
	return c;
}

static void drop(struct pg *pg)
{
	/* A forked child must not end its parent's session: it forgets it. */
	if (pg->c && pg->pid == getpid())
		PQfinish(pg->c);
	pg->c = NULL;
	pg->held = 0;
}

/* The TLS rule again, on the connection made (a service file or the
 * environment may have chosen the host). */
static char *tls_problem(PGconn *c)
{
	const char *host = PQhost(c);
	if (host && (host[0] == '/' || host[0] == '@'))
		return NULL;
	PQconninfoOption *o = PQconninfo(c);
	const char *mode = opt_of(o, "sslmode");
	char *why = NULL;
	if (!PQsslInUse(c) || !mode || strcmp(mode, "verify-full") != 0)
		why = fmt("the connection to %s is not verified TLS "
			  "(sslmode=%s): use sslmode=verify-full",
			  host ? host : "?", mode ? mode : "?");
	PQconninfoFree(o);
	return why;
}

static const char *result_field(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

/* Checks what the server promises and sets the session's bounds, in one
 * round trip. */
static enum pg_rc session_setup(struct pg *pg, char **why)
{
	char lock_ms[32], stmt_ms[32];
	snprintf(lock_ms, sizeof lock_ms, "%d", pg->s.lock_timeout_ms);
	snprintf(stmt_ms, sizeof stmt_ms, "%d",
		 pg->s.lock_timeout_ms + STATEMENT_SLACK_MS);
	const char *v[] = { lock_ms, stmt_ms };
	PGresult *r = PQexecParams(
		pg->c,
		"SELECT current_setting('fsync'), "
		"current_setting('synchronous_commit'), "
		"to_regclass('jauth_record') IS NOT NULL, "
		"set_config('lock_timeout', $1, false), "
		"set_config('statement_timeout', $2, false), "
		"set_config('tcp_keepalives_idle', '5', false), "
		"set_config('tcp_keepalives_interval', '2', false), "
		"set_config('tcp_keepalives_count', '3', false), "
		"set_config('tcp_user_timeout', '10000', false), "
		"current_database(), extract(epoch FROM clock_timestamp())",
		2, NULL, v, NULL, NULL, 0);
	enum pg_rc rc = PG_OK;
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		char *e = one_line(PQerrorMessage(pg->c));
		*why = fmt("PostgreSQL: %s", e);
		free(e);
		rc = PG_FAIL;
	} else if (!pg->s.allow_nondurable &&
		   strcmp(PQgetvalue(r, 0, 0), "on") != 0) {
		*why = fmt("the PostgreSQL server runs with fsync=off, so an "
			   "acknowledged refresh token can be lost in a "
			   "crash: turn fsync on (allow_nondurable=1 is for "
			   "test rigs only)");
		rc = PG_REFUSED;
	} else if (!pg->s.allow_nondurable &&
		   strcmp(PQgetvalue(r, 0, 1), "off") == 0) {
		*why = fmt("the PostgreSQL server runs with "
			   "synchronous_commit=off, so an acknowledged "
			   "refresh token can be lost in a crash: set it to "
			   "on (allow_nondurable=1 is for test rigs only)");
		rc = PG_REFUSED;
	} else if (strcmp(PQgetvalue(r, 0, 2), "t") != 0) {
		*why = fmt("database %s has no table jauth_record: run `jauth "
			   "store init %s`",
			   PQgetvalue(r, 0, 9), pg->s.service);
		rc = PG_REFUSED;
	}
	if (rc == PG_OK)
		pg->skew = (long long)atof(PQgetvalue(r, 0, 10)) -
			   (long long)time(NULL);
	PQclear(r);
	return rc;
}

/* Connects if there is no live session. */
static enum pg_rc ensure(struct pg *pg, char **why)
{
	if (pg->c && pg->pid == getpid() && PQstatus(pg->c) == CONNECTION_OK)
		return PG_OK;
	drop(pg);
	pg->c = connect_db(pg);
	pg->pid = getpid();
	if (!pg->c) {
		*why = fmt("the store is unreachable: no answer from the "
			   "server in %d ms",
			   CONNECT_MS);
		return PG_DOWN;
	}
	if (PQstatus(pg->c) != CONNECTION_OK) {
		const char *m = PQerrorMessage(pg->c);
		enum pg_rc rc = refused_at_connect(m) ? PG_REFUSED : PG_DOWN;
		char *e = one_line(m);
		if (rc == PG_DOWN)
			*why = fmt("the store is unreachable: %s", e);
		else
			*why = fmt("PostgreSQL refused the connection: %s: %s",
				   e, refusal_fix(m));
		free(e);
		drop(pg);
		return rc;
	}
	char *tls = tls_problem(pg->c);
	enum pg_rc rc = tls ? PG_REFUSED : session_setup(pg, why);
	if (tls)
		*why = tls;
	if (rc != PG_OK)
		drop(pg);
	return rc;
}

/* The result of a failed statement: a lost session is PG_DOWN. */
static enum pg_rc failed(struct pg *pg, PGresult *r, const char *what,
			 char **why)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	char *e =
		one_line(r && *PQresultErrorMessage(r) ? PQresultErrorMessage(r)
						       : PQerrorMessage(pg->c));
	enum pg_rc rc = PG_FAIL;
	if (PQstatus(pg->c) != CONNECTION_OK ||
	    (state &&
	     (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)))
		rc = PG_DOWN;
	else if (state && strcmp(state, "42P01") == 0)
		rc = PG_REFUSED;
	else if (state && strcmp(state, "42501") == 0)
		rc = PG_REFUSED;
	if (rc == PG_DOWN)
		*why = fmt("the store is unreachable (%s: %s)", what, e);
	else if (state && strcmp(state, "42P01") == 0)
		*why = fmt("%s: %s: run `jauth store init %s`", what, e,
			   pg->s.service);
	else
		*why = fmt("%s: %s", what, e);
	free(e);
	if (rc == PG_DOWN)
		drop(pg);
	return rc;
}

/* ---- records ---- */

static void row_from(PGresult *r, struct pg_row *row)
{
	memset(row, 0, sizeof *row);
	if (PQntuples(r) != 1)
		return;
	row->record = sdup(result_field(r, 0, 0));
	row->generation = atoll(PQgetvalue(r, 0, 1));
	row->holder = sdup(result_field(r, 0, 2));
	row->intent_at = atoll(PQgetvalue(r, 0, 3));
	row->updated_by = sdup(result_field(r, 0, 4));
	row->updated_at = atoll(PQgetvalue(r, 0, 5));
}

/* The row of (SVC, MOD, KEY) = $1..$3, always one (NULLs when none). */
#define ROW_COLUMNS                                                            \
	"r.record, coalesce(r.generation, 0), r.holder, "                      \
	"coalesce(extract(epoch FROM r.intent_at)::bigint, 0), r.updated_by, " \
	"coalesce(extract(epoch FROM r.updated_at)::bigint, 0)"
#define ROW_FROM                                                               \
	" FROM (SELECT 1) AS one LEFT JOIN jauth_record AS r ON "              \
	"r.service = $1 AND r.module = $2 AND r.key = $3"

/* The record from R, the result of a SELECT ROW_COLUMNS ROW_FROM, into
 * ROW. */
static enum pg_rc row_result(struct pg *pg, PGresult *r, struct pg_row *row,
			     char **why)
{
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return failed(pg, r, "reading the record", why);
	row_from(r, row);
	if (row->generation == 0)
		pg_row_clear(row); /* no row */
	return PG_OK;
}

/* Reads the record ID into ROW. */
static enum pg_rc read_row(struct pg *pg, const char *const id[3],
			   struct pg_row *row, char **why)
{
	PGresult *r = PQexecParams(pg->c, "SELECT " ROW_COLUMNS ROW_FROM, 3,
				   NULL, id, NULL, NULL, 0);
	enum pg_rc rc = row_result(pg, r, row, why);
	PQclear(r);
	return rc;
}

static enum pg_rc load(struct pg *pg, const char *svc, const char *mod,
		       const char *key, struct pg_row *row, char **why)
{
	const char *id[3] = { svc, mod, key };
	memset(row, 0, sizeof *row);
	*why = NULL;
	enum pg_rc rc = ensure(pg, why);
	return rc != PG_OK ? rc : read_row(pg, id, row, why);
}

/* R, the result of a statement that took or waited for a lock: *got
 * from its last column ("t"). PG_BUSY when lock_timeout passed. */
static enum pg_rc lock_result(struct pg *pg, PGresult *r, int *got, char **why)
{
	enum pg_rc rc = PG_OK;
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
		*got = strcmp(PQgetvalue(r, 0, PQnfields(r) - 1), "t") == 0;
	} else {
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		if (state && (strcmp(state, "55P03") == 0 ||
			      strcmp(state, "57014") == 0)) {
			*why = fmt("another holder has kept the grant's lock "
				   "for over %d ms (lock_timeout): the store "
				   "is busy or that holder is stuck",
				   pg->s.lock_timeout_ms);
			rc = PG_BUSY;
		} else {
			rc = failed(pg, r, "taking the lock", why);
		}
	}
	return rc;
}

/* Runs SQL, which takes or waits for the lock of ID ($1..$3; $4 the
 * hold timeout when NPARAMS is 4); as lock_result. */
static enum pg_rc lock_sql(struct pg *pg, const char *sql,
			   const char *const *id, int nparams, int *got,
			   char **why)
{
	PGresult *r =
		PQexecParams(pg->c, sql, nparams, NULL, id, NULL, NULL, 0);
	enum pg_rc rc = lock_result(pg, r, got, why);
	PQclear(r);
	return rc;
}

/* Takes the exclusive lock of ID ($1..$3), waiting in the server, with
 * the silent holder's bound (hold_timeout) on the session. */
static enum pg_rc lock_exclusive(struct pg *pg, const char *const id[3],
				 char **why)
{
	char hold[32];
	int got = 0;
	snprintf(hold, sizeof hold, "%d", pg->s.hold_timeout_ms);
	const char *p[4] = { id[0], id[1], id[2], hold };
	enum pg_rc rc = lock_sql(pg,
				 "SELECT pg_advisory_lock(" LOCK_KEY "), "
				 "set_config('idle_session_timeout', $4, "
				 "false), true",
				 p, 4, &got, why);
	pg->held = rc == PG_OK;
	return rc;
}

/* Runs Q1 (params P[0..3]) and then Q2 (P[0..2]), each in a transaction
 * of its own, so that Q2's snapshot is taken after Q1 returned whatever
 * the isolation level, in one round trip (a pipeline with a sync after
 * each). Their results into R (NULL when none came). 0, or -1 when the
 * session failed on the way. */
static int pipelined(struct pg *pg, const char *q1, const char *q2,
		     const char *const p[4], PGresult *r[2])
{
	int syncs = 0, nulls = 0;
	r[0] = r[1] = NULL;
	if (!PQenterPipelineMode(pg->c))
		return -1;
	int sent = PQsendQueryParams(pg->c, q1, 4, NULL, p, NULL, NULL, 0) &&
		   PQpipelineSync(pg->c) &&
		   PQsendQueryParams(pg->c, q2, 3, NULL, p, NULL, NULL, 0) &&
		   PQpipelineSync(pg->c);
	/* Each statement's results, a NULL, then its sync; a NULL twice
	 * in a row means nothing more is coming (a lost session). */
	while (sent && syncs < 2 && nulls < 2) {
		PGresult *x = PQgetResult(pg->c);
		nulls = x ? 0 : nulls + 1;
		if (x && PQresultStatus(x) == PGRES_PIPELINE_SYNC) {
			syncs++;
			PQclear(x);
		} else if (x && !r[syncs]) {
			r[syncs] = x;
		} else {
			PQclear(x);
		}
	}
	return syncs == 2 && PQexitPipelineMode(pg->c) ? 0 : -1;
}

/*
 * The single flight: whoever gets the exclusive lock at once holds it.
 * The others wait for a shared lock, which the server grants to all of
 * them together when the holder lets go, re-read the record (the
 * winner's tokens) and release it: N waiters cost one hand-over, not N.
 * A waiter that still has to write takes the exclusive lock first
 * (write), and its compare-and-set on the generation it read fails if
 * anyone wrote since: never a request or a write without the lock.
 */
static enum pg_rc lock(struct pg *pg, const char *svc, const char *mod,
		       const char *key, struct pg_row *row, char **why)
{
	const char *id[4] = { svc, mod, key, NULL };
	char hold[32];
	int got = 0;
	memset(row, 0, sizeof *row);
	*why = NULL;
	enum pg_rc rc = ensure(pg, why);
	if (rc != PG_OK)
		return rc;
	/* Who holds the lock decides from its clock whether a refresh token
	 * another host sent may be sent again (the reuse interval): a clock
	 * far off the database's makes no such decision. */
	if (llabs(pg->skew) > MAX_SKEW_S) {
		*why = fmt("this host's clock is %lld s off the database "
			   "server's: a refresh needs clocks within %d s of "
			   "each other (the reuse interval is judged across "
			   "hosts): fix its time synchronisation (NTP)",
			   pg->skew, MAX_SKEW_S);
		return PG_REFUSED;
	}
	/* A holder that goes silent (stopped, partitioned) while idle in
	 * the session loses it, and so the lock, after hold_timeout. */
	snprintf(hold, sizeof hold, "%d", pg->s.hold_timeout_ms);
	id[3] = hold;
	/* One round trip for the lock and the record, so a waiter's whole
	 * hand-over is the server's wake-up: the first statement tries the
	 * exclusive lock and, failing that, waits for the shared one (CASE
	 * evaluates the wait only then), noting in the session which it
	 * took; the second, a statement of its own so that its snapshot
	 * is taken after the lock, reads the record and lets go of a
	 * shared lock. A failed first statement leaves the note as it
	 * was: releasing a shared lock not held is a no-op. */
	PGresult *r[2];
	if (pipelined(pg,
		      "SELECT set_config('idle_session_timeout', CASE WHEN "
		      "l.got THEN $4 ELSE '0' END, false), "
		      "set_config('jauth.waited', (NOT l.got)::text, false), "
		      "CASE WHEN l.got THEN true ELSE (SELECT true FROM "
		      "pg_advisory_lock_shared(" LOCK_KEY ") AS w) END, l.got "
		      "FROM (SELECT pg_try_advisory_lock(" LOCK_KEY
		      ") AS got) AS l",
		      "SELECT " ROW_COLUMNS ", CASE WHEN "
		      "current_setting('jauth.waited', true) = 'true' THEN "
		      "pg_advisory_unlock_shared(" LOCK_KEY ") END" ROW_FROM,
		      id, r) < 0) {
		rc = failed(pg, r[0] ? r[0] : r[1], "taking the lock", why);
		drop(pg); /* ending the session releases any lock of it */
		rc = PG_DOWN;
	} else if ((rc = lock_result(pg, r[0], &got, why)) == PG_OK) {
		pg->held = got;
		rc = row_result(pg, r[1], row, why);
	}
	PQclear(r[0]);
	PQclear(r[1]);
	if (rc != PG_OK)
		pg_row_clear(row);
	return rc;
}

static void unlock(struct pg *pg, const char *svc, const char *mod,
		   const char *key)
{
	const char *id[3] = { svc, mod, key };
	if (!pg->c || pg->pid != getpid() || PQstatus(pg->c) != CONNECTION_OK ||
	    !pg->held) {
		pg->held = 0; /* a waiter let go of its shared lock already */
		return;
	}
	PGresult *r =
		PQexecParams(pg->c,
			     "SELECT pg_advisory_unlock(" LOCK_KEY "), "
			     "set_config('idle_session_timeout', '0', false)",
			     3, NULL, id, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		drop(pg); /* ending the session releases the lock */
	PQclear(r);
	pg->held = 0;
}

/* A random nonce naming one write, so that a write whose answer was lost
 * is recognised as ours after a reconnect. */
static void write_nonce(char out[33])
{
	unsigned char b[16];
	if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
		abort();
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* One compare-and-set attempt. PG_LOST unless ours landed. */
static enum pg_rc cas_once(struct pg *pg, const char *const p[8],
			   long long *gen, char **why)
{
	PGresult *r = PQexecParams(
		pg->c,
		"WITH w AS ("
		" UPDATE jauth_record SET record = $4, generation = "
		"generation + 1, write_id = $6, updated_at = now(),"
		" holder = CASE WHEN $7 THEN $8 END,"
		" intent_at = CASE WHEN $7 THEN now() END,"
		" updated_by = CASE WHEN $7 THEN updated_by ELSE $8 END"
		" WHERE service = $1 AND module = $2 AND key = $3 AND "
		"generation = $5::bigint RETURNING generation),"
		" i AS ("
		" INSERT INTO jauth_record (service, module, key, record, "
		"generation, write_id, holder, intent_at, updated_by)"
		" SELECT $1, $2, $3, $4, 1, $6, CASE WHEN $7 THEN $8 END,"
		" CASE WHEN $7 THEN now() END, CASE WHEN $7 THEN NULL ELSE "
		"$8 END WHERE $5::bigint = 0"
		" ON CONFLICT DO NOTHING RETURNING generation)"
		" SELECT generation FROM w UNION ALL SELECT generation FROM i "
		"UNION ALL (SELECT -generation FROM jauth_record WHERE "
		"service = $1 AND module = $2 AND key = $3 AND write_id = $6 "
		"AND generation = $5::bigint + 1)",
		8, NULL, p, NULL, NULL, 0);
	enum pg_rc rc;
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		rc = failed(pg, r, "writing the record", why);
	} else if (PQntuples(r) == 0) {
		rc = PG_LOST;
	} else {
		long long g = atoll(PQgetvalue(r, 0, 0));
		*gen = g < 0 ? -g : g;
		rc = PG_OK;
	}
	PQclear(r);
	return rc;
}

static enum pg_rc write_rec(struct pg *pg, const char *svc, const char *mod,
			    const char *key, long long *gen, const char *record,
			    int intent, char **why)
{
	char nonce[33], g[32];
	write_nonce(nonce);
	snprintf(g, sizeof g, "%lld", *gen);
	const char *p[8] = {
		svc,	     mod, key, record, g, nonce, intent ? "t" : "f",
		pg->app_name
	};
	double deadline = mono_ms() + WRITE_RETRY_MS;
	long pause = 100;
	enum pg_rc rc;
	*why = NULL;
	for (;;) {
		free(*why);
		*why = NULL;
		rc = ensure(pg, why);
		if (rc == PG_OK && !pg->held)
			rc = lock_exclusive(pg, p, why);
		if (rc == PG_OK)
			rc = cas_once(pg, p, gen, why);
		if (rc != PG_DOWN || mono_ms() + pause > deadline)
			break;
		/* The answer in hand is worth a few seconds of a restarting
		 * server; the generation still fences the write. */
		sleep_ms(pause);
		pause = pause < 1000 ? pause * 2 : 1000;
	}
	if (rc == PG_LOST)
		*why = fmt("another holder wrote the record after generation "
			   "%s: this answer is dropped and the record in force "
			   "is used",
			   g);
	return rc;
}

/* ---- administration ---- */

static enum pg_rc init(struct pg *pg, const char *sql, char **why)
{
	*why = NULL;
	enum pg_rc rc = ensure(pg, why);
	if (rc == PG_REFUSED && pg->c == NULL && strstr(*why, "jauth_record")) {
		/* No table yet: that is what init is for. Connect without
		 * the schema check. */
		free(*why);
		*why = NULL;
		pg->c = connect_db(pg);
		pg->pid = getpid();
		if (!pg->c) {
			*why = fmt("no answer from the server in %d ms",
				   CONNECT_MS);
			return PG_DOWN;
		}
		char *tls = PQstatus(pg->c) == CONNECTION_OK
				    ? tls_problem(pg->c)
				    : NULL;
		if (PQstatus(pg->c) != CONNECTION_OK || tls) {
			*why = tls ? tls : one_line(PQerrorMessage(pg->c));
			drop(pg);
			return PG_REFUSED;
		}
		rc = PG_OK;
	}
	if (rc != PG_OK)
		return rc;
	PGresult *r = PQexec(pg->c, sql);
	rc = PQresultStatus(r) == PGRES_COMMAND_OK ||
			     PQresultStatus(r) == PGRES_TUPLES_OK
		     ? PG_OK
		     : failed(pg, r, "creating the schema", why);
	PQclear(r);
	drop(pg); /* the next call connects again, with every check */
	return rc;
}

static void add_time(cJSON *o, const char *name, const char *v)
{
	if (v && atoll(v) > 0)
		cJSON_AddNumberToObject(o, name, (double)atoll(v));
}

static void add_str(cJSON *o, const char *name, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, name, v);
}

static enum pg_rc status(struct pg *pg, const char *svc, char **json,
			 char **why)
{
	const char *p[1] = { svc };
	*json = NULL;
	*why = NULL;
	enum pg_rc rc = ensure(pg, why);
	if (rc != PG_OK)
		return rc;
	PGresult *r = PQexecParams(
		pg->c,
		"SELECT r.module, r.key, r.generation, r.holder, "
		"extract(epoch FROM r.intent_at)::bigint, r.updated_by, "
		"extract(epoch FROM r.updated_at)::bigint, "
		"(SELECT string_agg(a.application_name, ', ') FROM pg_locks l "
		"JOIN pg_stat_activity a ON a.pid = l.pid "
		"WHERE l.locktype = 'advisory' AND l.granted AND "
		"l.objsubid = 1 AND ((l.classid::bigint << 32) | "
		"l.objid::bigint) = hashtextextended(r.service || '/' || "
		"r.module || '/' || r.key, 0)), r.record IS NOT NULL "
		"FROM jauth_record r WHERE r.service = $1 ORDER BY 1, 2",
		1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		rc = failed(pg, r, "reading the store's status", why);
		PQclear(r);
		return rc;
	}
	cJSON *a = cJSON_CreateArray();
	for (int i = 0; i < PQntuples(r); i++) {
		cJSON *o = cJSON_CreateObject();
		add_str(o, "module", result_field(r, i, 0));
		add_str(o, "key", result_field(r, i, 1));
		cJSON_AddNumberToObject(o, "generation",
					(double)atoll(PQgetvalue(r, i, 2)));
		cJSON_AddBoolToObject(o, "present",
				      strcmp(PQgetvalue(r, i, 8), "t") == 0);
		add_str(o, "holder", result_field(r, i, 3));
		add_time(o, "intent_at", result_field(r, i, 4));
		add_str(o, "updated_by", result_field(r, i, 5));
		add_time(o, "updated_at", result_field(r, i, 6));
		add_str(o, "locked_by", result_field(r, i, 7));
		cJSON_AddItemToArray(a, o);
	}
	PQclear(r);
	*json = cJSON_PrintUnformatted(a);
	cJSON_Delete(a);
	return *json ? PG_OK : PG_FAIL;
}

static char *describe(struct pg *pg)
{
	char *err = NULL;
	PQconninfoOption *o = PQconninfoParse(pg->s.conninfo, &err);
	PQfreemem(err);
	const char *host = o ? opt_of(o, "host") : NULL;
	const char *port = o ? opt_of(o, "port") : NULL;
	const char *db = o ? opt_of(o, "dbname") : NULL;
	const char *user = o ? opt_of(o, "user") : NULL;
	const char *svc = o ? opt_of(o, "service") : NULL;
	char *s = fmt("pgsql %s%s%s%s%s%s%s%s%s%s", svc ? "service=" : "",
		      svc ? svc : "", svc ? " " : "", host ? "host=" : "",
		      host ? host : "", host ? " " : "", port ? "port=" : "",
		      port ? port : "",
		      port ? " dbname=" : "dbname=", db ? db : "(default)");
	if (user) {
		char *t = fmt("%s user=%s", s, user);
		free(s);
		s = t;
	}
	PQconninfoFree(o);
	return s;
}

static int backend_pid(struct pg *pg)
{
	return pg->c && PQstatus(pg->c) == CONNECTION_OK ? PQbackendPID(pg->c)
							 : 0;
}

static struct pg *pg_open(const struct pg_settings *s)
{
	struct pg *pg = calloc(1, sizeof *pg);
	if (!pg)
		abort();
	pg->s = *s;
	pg->s.conninfo = sdup(s->conninfo);
	pg->s.password = sdup(s->password);
	pg->s.service = sdup(s->service);
	return pg;
}

static void pg_close(struct pg *pg)
{
	if (!pg)
		return;
	drop(pg);
	free((char *)pg->s.conninfo);
	if (pg->s.password)
		explicit_bzero((char *)pg->s.password, strlen(pg->s.password));
	free((char *)pg->s.password);
	free((char *)pg->s.service);
	free(pg);
}

EXPORT const struct pgsql_driver jauth_pgsql_driver = {
	.abi = PGSQL_DRIVER_ABI,
	.check = check,
	.open = pg_open,
	.close = pg_close,
	.load = load,
	.lock = lock,
	.write = write_rec,
	.unlock = unlock,
	.init = init,
	.status = status,
	.describe = describe,
	.backend_pid = backend_pid,
};
