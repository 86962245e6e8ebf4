/*
 * pgserver.h — a real PostgreSQL 15 for the suites: initdb and pg_ctl in a
 * temp dir, run as an unprivileged user (uid/gid 65534 when the tests run
 * as root: PostgreSQL refuses root), TLS with a server certificate of the
 * stand-in's test CA, SCRAM passwords, a free port on 127.0.0.1, a Unix
 * socket in the temp dir. Stopped and removed by pgserver_destroy.
 */
#ifndef JAUTH_TESTS_PGSERVER_H
#define JAUTH_TESTS_PGSERVER_H

#define PG_BIN "/usr/lib/postgresql/15/bin"

struct pgserver {
	char dir[512];	     /* temp root: data/, the socket, logs */
	char data[600];	     /* the cluster */
	int port;	     /* on 127.0.0.1 */
	char password[33];   /* of the role jauth (and jauth_async) */
	char conninfo[1400]; /* TCP, verify-full with CA, dbname=jauth, no
				password */
	char ca[1200];	     /* the CA that signed the server's certificate */
	int up;
};

/* Makes and starts the server; CERT_DIR holds server.pem, server.key and
 * ca.pem (the stand-in's, tests/standin/mkcerts.sh). Creates database
 * jauth and roles jauth and jauth_async (synchronous_commit=off), both
 * with s->password. Returns 0, or -1 with a message on stderr. */
int pgserver_start(struct pgserver *s, const char *cert_dir);
/* pg_ctl stop -m MODE ("fast", "immediate"). */
int pgserver_stop(struct pgserver *s, const char *mode);
/* pg_ctl start again, after pgserver_stop. */
int pgserver_restart(struct pgserver *s);
/* Stops the server (immediately) and removes the temp dir. */
void pgserver_destroy(struct pgserver *s);
/* Runs SQL as jauth over the socket. Returns 0, or -1 with a message on
 * stderr. With OUT, the first column of the first row (malloc'd, or NULL
 * when none). */
int pgserver_sql(struct pgserver *s, const char *sql, char **out);
/* Sends SIGNAL to every backend of application_name LIKE PATTERN; returns
 * how many. */
int pgserver_signal_backends(struct pgserver *s, const char *pattern,
			     int signal);

#endif
