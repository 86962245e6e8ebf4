/*
 * pgserver.c — starts and stops a throwaway PostgreSQL 15 for the suites
 * (pgserver.h has the contract).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "pgserver.h"

#define NOBODY 65534

static int run_as_owner(char *const argv[], const char *log)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (geteuid() == 0 &&
		    (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 ||
		     setuid(NOBODY) < 0))
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void put_file(const char *path, int mode, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
	chmod(path, (mode_t)mode);
	if (geteuid() == 0 && chown(path, NOBODY, NOBODY) < 0)
		abort();
}

/* Copies SRC to DST, owned by the server's user. */
static int copy_owned(const char *src, const char *dst, int mode)
{
	FILE *in = fopen(src, "r");
	if (!in)
		return -1;
	char buf[16384];
	size_t n = fread(buf, 1, sizeof buf - 1, in);
	fclose(in);
	buf[n] = '\0';
	put_file(dst, mode, buf);
	return 0;
}

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return ntohs(a.sin_port);
}

static char *path_in(const struct pgserver *s, const char *name)
{
	static __thread char p[1024];
	snprintf(p, sizeof p, "%s/%s", s->dir, name);
	return p;
}

static int pg_ctl(struct pgserver *s, const char *verb, const char *mode)
{
	char bin[] = PG_BIN "/pg_ctl", log[1024];
	snprintf(log, sizeof log, "%s", path_in(s, "server.log"));
	char *start[] = { bin,	"-D", s->data, "-l",	     log,
			  "-w", "-t", "30",    (char *)verb, NULL };
	char *stop[] = { bin,  "-D", s->data,	   "-w",	 "-t",
			 "30", "-m", (char *)mode, (char *)verb, NULL };
	return run_as_owner(mode ? stop : start, path_in(s, "pg_ctl.log"));
}

static int initdb(struct pgserver *s)
{
	char bin[] = PG_BIN "/initdb", pw[1024], pwopt[1100];
	snprintf(pw, sizeof pw, "%s", path_in(s, "pw"));
	put_file(pw, 0600, s->password);
	snprintf(pwopt, sizeof pwopt, "--pwfile=%s", pw);
	char *argv[] = { bin,	      "-D",  s->data, "-U",
			 "jauth",     pwopt, "-A",    "scram-sha-256",
			 "--no-sync", "-E",  "UTF8",  "--no-instructions",
			 NULL };
	return run_as_owner(argv, path_in(s, "initdb.log"));
}

static void configure(struct pgserver *s, const char *cert_dir)
{
	char p[1400], conf[2048];
	snprintf(p, sizeof p, "%s/server.pem", s->data);
	char src[1200];
	snprintf(src, sizeof src, "%s/server.pem", cert_dir);
	copy_owned(src, p, 0644);
	snprintf(p, sizeof p, "%s/server.key", s->data);
	snprintf(src, sizeof src, "%s/server.key", cert_dir);
	copy_owned(src, p, 0600);
	snprintf(p, sizeof p, "%s/pg_hba.conf", s->data);
	put_file(p, 0600,
		 "local all all scram-sha-256\n"
		 "hostssl all all 127.0.0.1/32 scram-sha-256\n");
	snprintf(conf, sizeof conf,
		 "listen_addresses = '127.0.0.1'\n"
		 "port = %d\n"
		 "unix_socket_directories = '%s'\n"
		 "ssl = on\n"
		 "ssl_cert_file = 'server.pem'\n"
		 "ssl_key_file = 'server.key'\n"
		 "max_connections = 100\n"
		 "shared_buffers = 16MB\n"
		 "log_min_messages = warning\n"
		 "log_connections = off\n",
		 s->port, s->dir);
	snprintf(p, sizeof p, "%s/postgresql.auto.conf", s->data);
	put_file(p, 0600, conf);
}

static void no_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static PGconn *admin_conn(struct pgserver *s, const char *db)
{
	const char *kw[] = {
		"host", "port", "dbname", "user", "password", NULL
	};
	char port[16];
	snprintf(port, sizeof port, "%d", s->port);
	const char *val[] = { s->dir, port, db, "jauth", s->password, NULL };
	PGconn *c = PQconnectdbParams(kw, val, 0);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "pgserver: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, no_notice, NULL);
	return c;
}

static int exec_on(PGconn *c, const char *sql, char **out)
{
	PGresult *r = PQexec(c, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK ||
		 PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "pgserver: %s: %s", sql,
			PQresultErrorMessage(r));
	if (ok && out)
		*out = PQntuples(r) > 0 && !PQgetisnull(r, 0, 0)
			       ? strdup(PQgetvalue(r, 0, 0))
			       : NULL;
	PQclear(r);
	return ok ? 0 : -1;
}

int pgserver_sql(struct pgserver *s, const char *sql, char **out)
{
	if (out)
		*out = NULL;
	PGconn *c = admin_conn(s, "jauth");
	if (!c)
		return -1;
	int rc = exec_on(c, sql, out);
	PQfinish(c);
	return rc;
}

static int create_db(struct pgserver *s)
{
	PGconn *c = admin_conn(s, "postgres");
	char sql[256];
	if (!c)
		return -1;
	snprintf(sql, sizeof sql,
		 "CREATE ROLE jauth_async LOGIN PASSWORD '%s'; ALTER ROLE "
		 "jauth_async SET synchronous_commit = off",
		 s->password);
	int rc = exec_on(c, "CREATE DATABASE jauth", NULL) < 0 ||
				 exec_on(c, sql, NULL) < 0 ||
				 exec_on(c,
					 "GRANT ALL ON SCHEMA public TO "
					 "jauth_async",
					 NULL) < 0
			 ? -1
			 : 0;
	PQfinish(c);
	if (rc == 0 && (c = admin_conn(s, "jauth"))) {
		rc = exec_on(c, "GRANT ALL ON SCHEMA public TO jauth_async",
			     NULL);
		PQfinish(c);
	}
	return rc;
}

int pgserver_start(struct pgserver *s, const char *cert_dir)
{
	const char *tmp = getenv("TMPDIR");
	memset(s, 0, sizeof *s);
	snprintf(s->dir, sizeof s->dir, "%s/jauth-pg.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(s->dir))
		return -1;
	if (geteuid() == 0 && chown(s->dir, NOBODY, NOBODY) < 0)
		return -1;
	chmod(s->dir, 0755); /* the client reaches the socket in it */
	snprintf(s->data, sizeof s->data, "%s/data", s->dir);
	snprintf(s->ca, sizeof s->ca, "%s/ca.pem", cert_dir);
	FILE *f = fopen("/dev/urandom", "rb");
	unsigned char b[16];
	if (!f || fread(b, 1, sizeof b, f) != sizeof b)
		abort();
	fclose(f);
	for (int i = 0; i < 16; i++)
		snprintf(s->password + 2 * i, 3, "%02x", b[i]);
	if (initdb(s) < 0) {
		fprintf(stderr,
			"pgserver: initdb failed: see %s (run as root, the "
			"server runs as uid %d, which must be able to reach "
			"%s: every directory above it searchable)\n",
			path_in(s, "initdb.log"), NOBODY, s->dir);
		return -1;
	}
	for (int tries = 0; tries < 5; tries++) {
		s->port = free_port();
		configure(s, cert_dir);
		if (pg_ctl(s, "start", NULL) == 0)
			break;
		s->port = 0;
	}
	if (!s->port) {
		fprintf(stderr, "pgserver: the server does not start: see %s\n",
			path_in(s, "server.log"));
		return -1;
	}
	s->up = 1;
	snprintf(s->conninfo, sizeof s->conninfo,
		 "host=127.0.0.1 port=%d dbname=jauth user=jauth "
		 "sslmode=verify-full sslrootcert=%s",
		 s->port, s->ca);
	return create_db(s);
}

int pgserver_stop(struct pgserver *s, const char *mode)
{
	int rc = pg_ctl(s, "stop", mode);
	if (rc == 0)
		s->up = 0;
	return rc;
}

int pgserver_restart(struct pgserver *s)
{
	int rc = pg_ctl(s, "start", NULL);
	if (rc == 0)
		s->up = 1;
	return rc;
}

static void rm_rf(const char *dir)
{
	pid_t pid = fork();
	if (pid == 0) {
		execl("/bin/rm", "rm", "-rf", dir, (char *)NULL);
		_exit(127);
	}
	waitpid(pid, NULL, 0);
}

void pgserver_destroy(struct pgserver *s)
{
	if (!s->dir[0])
		return;
	if (s->up)
		pgserver_stop(s, "immediate");
	rm_rf(s->dir);
	s->dir[0] = '\0';
}

int pgserver_signal_backends(struct pgserver *s, const char *pattern,
			     int signal)
{
	char sql[512], *pids = NULL;
	snprintf(sql, sizeof sql,
		 "SELECT string_agg(pid::text, ' ') FROM pg_stat_activity "
		 "WHERE application_name LIKE '%s'",
		 pattern);
	if (pgserver_sql(s, sql, &pids) < 0 || !pids)
		return 0;
	int n = 0;
	for (char *p = strtok(pids, " "); p; p = strtok(NULL, " "))
		n += kill(atoi(p), signal) == 0;
	free(pids);
	return n;
}
