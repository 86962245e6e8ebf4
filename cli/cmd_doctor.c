/*
 * cmd_doctor.c — jauth doctor [SERVICE...] [--json]: what lint cannot see,
 * for the user it runs as: the stack and its modules, every secret
 * readable, placeholders left from the examples, the state directory, the
 * credential a connector would get, the grant's age and idle time against
 * Atlassian's limits. One finding per line with its fix; the exit status is
 * the worst finding's.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"

#define IDLE_LIMIT_DAYS                                                        \
	90 /* Atlassian drops a refresh token unused this long */
#define AGE_LIMIT_DAYS 365 /* … and (historically) a grant this old */
#define WARN_DAYS 30	   /* warn this many days before either */

enum level { LEVEL_OK, LEVEL_WARNING, LEVEL_PROBLEM };

static const char *const level_names[] = { "ok", "warning", "problem" };

/* What doctor found, for one or more services. */
struct doctor {
	cJSON *findings; /* [{"service","check","level","status","message"}] */
	int worst_level;
	int worst_status; /* the exit status of the worst problem */
	const char *service;
	int offline; /* --offline: no probes, no stack run */
	uid_t owner; /* the other user whose secret root read, or 0 */
};

/* How bad an exit status is, to pick the worst problem: a config error
 * first (nothing works until it is fixed), transient last. */
static int status_rank(int status)
{
	switch (status) {
	case EXIT_USAGE:
		return 5;
	case EXIT_DENIED:
		return 4;
	case EXIT_UNAVAILABLE:
		return 3;
	case EXIT_OTHER:
		return 2;
	case EXIT_TRANSIENT:
		return 1;
	default:
		return 0;
	}
}

/* Records a finding of CHECK at LEVEL; STATUS is the exit status a
 * problem means (ignored otherwise). */
static void find(struct doctor *d, const char *check, enum level level,
		 int status, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void find(struct doctor *d, const char *check, enum level level,
		 int status, const char *fmt, ...)
{
	char *msg;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (level != LEVEL_PROBLEM)
		status = EXIT_OK;
	cJSON *f = cJSON_CreateObject();
	cJSON_AddStringToObject(f, "service", d->service);
	cJSON_AddStringToObject(f, "check", check);
	cJSON_AddStringToObject(f, "level", level_names[level]);
	cJSON_AddNumberToObject(f, "status", status);
	cJSON_AddStringToObject(f, "message", msg ? msg : "out of memory");
	cJSON_AddItemToArray(d->findings, f);
	free(msg);
	if ((int)level > d->worst_level)
		d->worst_level = (int)level;
	if (status_rank(status) > status_rank(d->worst_status))
		d->worst_status = status;
}

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num(const cJSON *o, const char *key, double dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

/* "uid 999 (jira-sync)" for the user doctor runs as (static). */
static const char *me(void)
{
	static char buf[300];
	struct passwd *pw = getpwuid(geteuid());
	snprintf(buf, sizeof buf, "uid %u%s%s%s", (unsigned)geteuid(),
		 pw ? " (" : "", pw ? pw->pw_name : "", pw ? ")" : "");
	return buf;
}

/* ---- the stack: lint's problems, the modules it loads ---- */

/* Lints the service; 1 when the stack loads. */
static int check_stack(struct doctor *d, struct cli *cli)
{
	char *report = NULL;
	jauth_result r = jauth_lint(d->service, &cli->opt, &report);
	int n = 0;
	for (char *line = report ? strtok(report, "\n") : NULL; line;
	     line = strtok(NULL, "\n"), n++)
		find(d, "stack", LEVEL_PROBLEM, EXIT_USAGE, "%s", line);
	jauth_free(report);
	if (r != JAUTH_SUCCESS && !n)
		find(d, "stack", LEVEL_PROBLEM, exit_of(r),
		     "the stack cannot be linted: %s", jauth_result_name(r));
	return r == JAUTH_SUCCESS;
}

/* ---- each line's arguments ---- */

/* What to put in place of the example's placeholder in KEY=. */
static const char *placeholder_fix(const char *key)
{
	if (strcmp(key, "client_id") == 0)
		return "the client ID from the developer console's Settings "
		       "(https://developer.atlassian.com/console/myapps)";
	if (strcmp(key, "cloud_id") == 0)
		return "your site's cloud id (the \"cloudId\" of "
		       "https://SITE.atlassian.net/_edge/tenant_info)";
	return "your own value";
}

static void check_placeholder(struct doctor *d, const char *src,
			      const char *key, const char *v)
{
	if (strstr(v, "YOUR-"))
		find(d, "placeholder", LEVEL_PROBLEM, EXIT_USAGE,
		     "%s: %s=%s is the example's placeholder: put %s", src, key,
		     v, placeholder_fix(key));
	else if (strstr(v, "acme.atlassian.net") || strstr(v, "@acme.com"))
		find(d, "placeholder", LEVEL_WARNING, EXIT_OK,
		     "%s: %s=%s looks like the example's value: put your own "
		     "site or account",
		     src, key, v);
}

/* A @file: secret, as this user: there, readable, not empty. */
static void check_secret_file(struct doctor *d, const char *src,
			      const char *key, const char *path)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	char c;
	struct stat st;
	if (fd < 0 && errno == ENOENT) {
		find(d, "secret", LEVEL_PROBLEM, EXIT_UNAVAILABLE,
		     "%s: %s= file %s does not exist: create it, mode 0600, "
		     "owned by the user the connector runs as",
		     src, key, path);
	} else if (fd < 0) {
		find(d, "secret", LEVEL_PROBLEM, EXIT_USAGE,
		     "%s: %s= file %s cannot be read by %s (%s): the connector "
		     "reads it as its own user; run doctor as that user (sudo "
		     "-u USER jauth doctor), and give that user the file (chown "
		     "USER %s; chmod 600 %s)",
		     src, key, path, me(), strerror(errno), path, path);
	} else if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		find(d, "secret", LEVEL_PROBLEM, EXIT_USAGE,
		     "%s: %s= %s is not a regular file: put the secret in a "
		     "file",
		     src, key, path);
	} else if (read(fd, &c, 1) != 1) {
		find(d, "secret", LEVEL_PROBLEM, EXIT_UNAVAILABLE,
		     "%s: %s= file %s is empty: put the secret in it", src, key,
		     path);
	} else {
		find(d, "secret", LEVEL_OK, EXIT_OK,
		     "%s: %s= file %s is readable by %s", src, key, path, me());
		if (st.st_uid != geteuid())
			d->owner = st.st_uid;
	}
	if (fd >= 0)
		close(fd);
}

/* A @env: secret: set in doctor's environment. */
static void check_secret_env(struct doctor *d, const char *src, const char *key,
			     const char *name)
{
	const char *v = getenv(name);
	if (v && *v)
		find(d, "secret", LEVEL_OK, EXIT_OK,
		     "%s: %s= environment variable %s is set", src, key, name);
	else
		find(d, "secret", LEVEL_PROBLEM, EXIT_UNAVAILABLE,
		     "%s: %s= environment variable %s is not set here: doctor "
		     "sees its own environment; set it where the connector runs "
		     "(systemd: Environment= or EnvironmentFile=), or use "
		     "@file:",
		     src, key, name);
}

/* A @cred: secret: there when doctor runs inside the unit; outside, a
 * warning that it cannot be seen from here. */
static void check_secret_cred(struct doctor *d, const char *src,
			      const char *key, const char *name)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	if (!dir || !*dir) {
		find(d, "secret", LEVEL_WARNING, EXIT_OK,
		     "%s: %s= systemd credential %s cannot be seen from here "
		     "(no $CREDENTIALS_DIRECTORY): check it inside the unit, "
		     "e.g. systemd-run -P -p LoadCredential=%s:PATH jauth "
		     "doctor %s",
		     src, key, name, name, d->service);
		return;
	}
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	check_secret_file(d, src, key, path);
}

static void check_args(struct doctor *d, const cJSON *ln)
{
	const char *src = str(ln, "source");
	const cJSON *a;
	cJSON_ArrayForEach (a, cJSON_GetObjectItemCaseSensitive(ln, "args")) {
		if (!cJSON_IsString(a))
			continue;
		const char *v = a->valuestring;
		if (strncmp(v, "@file:", 6) == 0)
			check_secret_file(d, src, a->string, v + 6);
		else if (strncmp(v, "@env:", 5) == 0)
			check_secret_env(d, src, a->string, v + 5);
		else if (strncmp(v, "@cred:", 6) == 0)
			check_secret_cred(d, src, a->string, v + 6);
		else
			check_placeholder(d, src, a->string, v);
	}
}

/* ---- what the modules report: the grant against Atlassian's limits ---- */

/* A finding for DAYS (negative: unknown) against LIMIT: a problem at the
 * limit (fixed by NOW), a warning WARN_DAYS before it (fixed by SOON). */
static void against_limit(struct doctor *d, const char *src, double days,
			  double limit, const char *what, const char *now,
			  const char *soon)
{
	if (days < 0)
		return;
	enum level level = days >= limit	       ? LEVEL_PROBLEM
			   : days >= limit - WARN_DAYS ? LEVEL_WARNING
						       : LEVEL_OK;
	const char *fix = level == LEVEL_PROBLEM   ? now
			  : level == LEVEL_WARNING ? soon
						   : NULL;
	find(d, "grant", level, EXIT_DENIED, "%s: %s %.0f days of %.0f%s%s",
	     src, what, days, limit, fix ? ": " : "", fix ? fix : "");
}

/* The grant's idle time and age, from its module's status, against
 * Atlassian's limits. */
static void check_grant(struct doctor *d, const char *src, const cJSON *st)
{
	char now[300], soon[300];
	const char *svc = d->service;
	snprintf(now, sizeof now,
		 "Atlassian has dropped it: run jauth authorize %s, then keep "
		 "it alive with a timer or cron (jauth refresh %s)",
		 svc, svc);
	snprintf(soon, sizeof soon,
		 "run jauth refresh %s now, and from a timer or cron", svc);
	against_limit(d, src, num(st, "refresh_idle_days", -1),
		      num(st, "refresh_idle_limit_days", IDLE_LIMIT_DAYS),
		      "the refresh token has been idle", now, soon);
	snprintf(now, sizeof now,
		 "grants have been limited to %d days: run jauth authorize %s",
		 AGE_LIMIT_DAYS, svc);
	snprintf(soon, sizeof soon,
		 "grants have been limited to %d days: plan jauth authorize %s",
		 AGE_LIMIT_DAYS, svc);
	against_limit(d, src, num(st, "grant_age_days", -1), AGE_LIMIT_DAYS,
		      "the grant's age is", now, soon);
}

static void check_lines(struct doctor *d, const cJSON *lines);

static void check_line(struct doctor *d, const cJSON *ln)
{
	const char *src = str(ln, "source");
	if (str(ln, "substack")) {
		check_lines(d, cJSON_GetObjectItemCaseSensitive(ln, "lines"));
		return;
	}
	find(d, "module", LEVEL_OK, EXIT_OK,
	     "%s: module %s %s (ABI %s) from %s passed the ownership checks",
	     src, str(ln, "module"), str(ln, "version"), str(ln, "abi"),
	     str(ln, "path"));
	check_args(d, ln);
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(ln, "status"), *w;
	check_grant(d, src, st);
	cJSON_ArrayForEach (w, cJSON_GetObjectItemCaseSensitive(st, "warnings"))
		if (cJSON_IsString(w))
			find(d, "module", LEVEL_WARNING, EXIT_OK, "%s: %s", src,
			     w->valuestring);
}

static void check_lines(struct doctor *d, const cJSON *lines)
{
	const cJSON *ln;
	cJSON_ArrayForEach (ln, lines)
		check_line(d, ln);
}

/* Root read a secret another user owns: the connector is likely that
 * user, whose grant and state directory are not root's. */
static void check_owner(struct doctor *d)
{
	if (!d->owner)
		return;
	struct passwd *pw = getpwuid(d->owner);
	char name[64];
	if (pw)
		snprintf(name, sizeof name, "%s", pw->pw_name);
	else
		snprintf(name, sizeof name, "\\#%u", (unsigned)d->owner);
	find(d, "user", LEVEL_WARNING, EXIT_OK,
	     "the stack's secrets belong to %s, so the connector probably runs "
	     "as that user, whose grant and state directory are not those of "
	     "%s: run sudo -u %s jauth doctor %s",
	     name, me(), name, d->service);
}

/* ---- the state directory ---- */

/* Why the missing directory DIR cannot be made, or NULL. */
static const char *uncreatable(const char *dir)
{
	char *copy = strdup(dir);
	const char *why = NULL;
	if (!copy)
		return "out of memory";
	const char *parent = dirname(copy);
	while (access(parent, F_OK) < 0 && strcmp(parent, "/") != 0)
		parent = dirname((char *)parent);
	if (access(parent, W_OK | X_OK) < 0)
		why = strerror(errno);
	free(copy);
	return why;
}

static void check_state_dir(struct doctor *d, const char *dir)
{
	struct stat st;
	const char *why;
	if (!dir)
		return;
	if (stat(dir, &st) < 0 && errno == ENOENT) {
		if ((why = uncreatable(dir)))
			find(d, "state", LEVEL_PROBLEM, EXIT_USAGE,
			     "state directory %s does not exist and %s cannot "
			     "create it (%s): create it (install -d -m 0700 -o "
			     "USER %s), or point JAUTH_STATE_DIR (or -s) at a "
			     "directory of the connector's user",
			     dir, me(), why, dir);
		else
			find(d, "state", LEVEL_OK, EXIT_OK,
			     "state directory %s will be created (mode 0700) on "
			     "first use",
			     dir);
	} else if (access(dir, F_OK) < 0 || !S_ISDIR(st.st_mode)) {
		find(d, "state", LEVEL_PROBLEM, EXIT_USAGE,
		     "state directory %s is not a usable directory: point "
		     "JAUTH_STATE_DIR (or -s) at one",
		     dir);
	} else if (st.st_uid != geteuid()) {
		find(d, "state", LEVEL_PROBLEM, EXIT_USAGE,
		     "state directory %s belongs to uid %u, not %s: the grant "
		     "there is that user's; run jauth as that user (sudo -u "
		     "\\#%u jauth ...), or use your own with JAUTH_STATE_DIR "
		     "(or -s)",
		     dir, (unsigned)st.st_uid, me(), (unsigned)st.st_uid);
	} else if (st.st_mode & 077) {
		find(d, "state", LEVEL_PROBLEM, EXIT_USAGE,
		     "state directory %s is open to group or others (mode "
		     "%04o): chmod 700 %s",
		     dir, (unsigned)(st.st_mode & 07777), dir);
	} else if (access(dir, W_OK | X_OK) < 0) {
		find(d, "state", LEVEL_PROBLEM, EXIT_USAGE,
		     "state directory %s is not writable by %s: chmod 700 %s",
		     dir, me(), dir);
	} else {
		find(d, "state", LEVEL_OK, EXIT_OK,
		     "state directory %s is private and writable", dir);
	}
}

/* ---- the credential a connector would get ---- */

static void check_credential(struct doctor *d, jauth *h)
{
	const jauth_cred *c;
	jauth_result r = jauth_acquire(h, &c);
	if (r == JAUTH_SUCCESS)
		find(d, "credential", LEVEL_OK, EXIT_OK,
		     "a connector gets a %s credential from %s (%s), expires "
		     "%s",
		     jauth_cred_scheme(c), jauth_cred_source(c),
		     jauth_cred_module(c),
		     when(jauth_cred_expires_at(c), time(NULL)));
	else
		find(d, "credential", LEVEL_PROBLEM, exit_of(r), "%s",
		     *jauth_error(h) ? jauth_error(h) : jauth_result_name(r));
}

/* ---- the network: DNS and TLS to each line's servers, the clock ---- */

#define CLOCK_WARN_S 60	    /* a skew that starts to matter */
#define CLOCK_PROBLEM_S 300 /* tokens look expired or fresh when not */

/* The origin ("https://host[:port]") of URL (malloc'd), or NULL when it is
 * not https. */
static char *origin_of(const char *url)
{
	if (strncmp(url, "https://", 8) != 0)
		return NULL;
	return strndup(url, 8 + strcspn(url + 8, "/?#"));
}

/* Adds {source, url} to PROBES unless its origin is there already. */
static void probe_add(cJSON *probes, const char *src, const char *url)
{
	char *o = origin_of(url);
	const cJSON *p;
	if (!o)
		return;
	cJSON_ArrayForEach (p, probes)
		if (strcmp(str(p, "url"), o) == 0) {
			free(o);
			return;
		}
	cJSON *add = cJSON_CreateObject();
	cJSON_AddStringToObject(add, "source", src);
	cJSON_AddStringToObject(add, "url", o);
	cJSON_AddItemToArray(probes, add);
	free(o);
}

/* The servers line LN talks to: its https:// arguments but redirect_uri
 * (where the browser goes), its module's https:// status fields (a REST
 * base, a site), and the defaults of auth_url= and api_url= that the
 * shipped modules use when the line leaves them out (DESIGN §2). */
static void line_probes(const cJSON *ln, cJSON *probes)
{
	const char *src = str(ln, "source"), *mod = str(ln, "module");
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(ln, "args"), *a;
	cJSON_ArrayForEach (a, args)
		if (cJSON_IsString(a) && strcmp(a->string, "redirect_uri") != 0)
			probe_add(probes, src, a->valuestring);
	cJSON_ArrayForEach (a, cJSON_GetObjectItemCaseSensitive(ln, "status"))
		if (cJSON_IsString(a))
			probe_add(probes, src, a->valuestring);
	if (mod && strcmp(mod, "oauth3lo.so") == 0) {
		if (!str(args, "auth_url"))
			probe_add(probes, src, "https://auth.atlassian.com");
		if (!str(args, "api_url"))
			probe_add(probes, src, "https://api.atlassian.com");
	} else if (mod && strcmp(mod, "apitoken.so") == 0 &&
		   str(args, "cloud_id") && !str(args, "api_url")) {
		probe_add(probes, src, "https://api.atlassian.com");
	}
}

static void collect_probes(const cJSON *lines, cJSON *probes)
{
	const cJSON *ln;
	cJSON_ArrayForEach (ln, lines) {
		if (str(ln, "substack"))
			collect_probes(
				cJSON_GetObjectItemCaseSensitive(ln, "lines"),
				probes);
		else
			line_probes(ln, probes);
	}
}

/* This machine's clock against the Date of URL's answer A. */
static void check_clock(struct doctor *d, const char *url,
			const struct jauth_http_answer *a)
{
	/* the server stamped its answer about half-way through the call */
	double skew = (double)time(NULL) - a->seconds / 2 - (double)a->date;
	double off = skew < 0 ? -skew : skew;
	const char *dir = skew < 0 ? "behind" : "ahead of";
	if (off >= CLOCK_PROBLEM_S)
		find(d, "clock", LEVEL_PROBLEM, EXIT_OTHER,
		     "this machine's clock is %.0f s %s the Date of %s: "
		     "tokens look expired (or valid) when they are not; sync "
		     "it (timedatectl set-ntp true, or chrony/ntpd)",
		     off, dir, url);
	else if (off >= CLOCK_WARN_S)
		find(d, "clock", LEVEL_WARNING, EXIT_OK,
		     "this machine's clock is %.0f s %s the Date of %s: sync "
		     "it (timedatectl set-ntp true)",
		     off, dir, url);
	else
		find(d, "clock", LEVEL_OK, EXIT_OK,
		     "this machine's clock agrees with the Date of %s (within "
		     "%d s)",
		     url, CLOCK_WARN_S);
}

/* DNS, connection and TLS (with the line's ca_file=) to every server of
 * the stack, through the library's HTTP client; the clock against the
 * first answer's Date. */
static void check_network(struct doctor *d, jauth *h, const cJSON *lines)
{
	cJSON *probes = cJSON_CreateArray(), *p;
	int clocked = 0;
	collect_probes(lines, probes);
	cJSON_ArrayForEach (p, probes) {
		const char *url = str(p, "url"), *src = str(p, "source");
		struct jauth_http_answer a;
		jauth_result r = jauth_http_get(h, src, url, NULL, &a);
		if (r == JAUTH_SUCCESS)
			find(d, "network", LEVEL_OK, EXIT_OK,
			     "%s: %s answers over verified TLS (HTTP %ld in "
			     "%.2f s)",
			     src, url, a.status, a.seconds);
		else
			find(d, "network", LEVEL_PROBLEM, exit_of(r), "%s",
			     jauth_error(h));
		if (r == JAUTH_SUCCESS && a.date && !clocked++)
			check_clock(d, url, &a);
		jauth_http_answer_free(&a);
	}
	cJSON_Delete(probes);
}

/* ---- one service, all of them ---- */

/* Records at rest: sealed ones are fine; one in clear is a warning
 * without a store key, a problem with one (jauth.conf(5), ENCRYPTION AT
 * REST). */
static void check_sealing(struct doctor *d, const cJSON *store)
{
	const cJSON *enc =
		cJSON_GetObjectItemCaseSensitive(store, "encryption");
	int key = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(enc, "key"));
	const cJSON *rec;
	cJSON_ArrayForEach (rec,
			    cJSON_GetObjectItemCaseSensitive(enc, "records")) {
		const char *name = str(rec, "name");
		if (cJSON_IsTrue(
			    cJSON_GetObjectItemCaseSensitive(rec, "sealed")))
			find(d, "encryption", LEVEL_OK, EXIT_OK,
			     "record %s is sealed at rest", name);
		else if (key)
			find(d, "encryption", LEVEL_PROBLEM, EXIT_USAGE,
			     "record %s is in clear though the store has a "
			     "key: seal it with jauth store rekey %s",
			     name, d->service);
		else
			find(d, "encryption", LEVEL_WARNING, EXIT_OK,
			     "record %s is in clear at rest: give the store a "
			     "key (store files key=@cred:NAME, jauth.conf(5) "
			     "ENCRYPTION AT REST), then jauth store rekey %s",
			     name, d->service);
	}
}

static void doctor_one(struct doctor *d, struct cli *cli, const char *service)
{
	d->service = service;
	if (!check_stack(d, cli))
		return;
	jauth *h = NULL;
	char *text = NULL;
	if (jauth_open(service, &cli->opt, &h) != JAUTH_SUCCESS ||
	    jauth_status(h, &text) != JAUTH_SUCCESS) {
		find(d, "stack", LEVEL_PROBLEM, EXIT_USAGE, "%s",
		     jauth_error(h));
		jauth_close(h);
		return;
	}
	cJSON *doc = cJSON_Parse(text);
	jauth_free(text);
	find(d, "stack", LEVEL_OK, EXIT_OK,
	     "stack %s loads: syntax, owners and modes, arguments",
	     str(doc, "file"));
	d->owner = 0;
	check_lines(d, cJSON_GetObjectItemCaseSensitive(doc, "lines"));
	check_owner(d);
	check_state_dir(d, str(doc, "state_dir"));
	check_sealing(d, cJSON_GetObjectItemCaseSensitive(doc, "store"));
	if (!d->offline) {
		check_network(d, h,
			      cJSON_GetObjectItemCaseSensitive(doc, "lines"));
		check_credential(d, h);
	}
	cJSON_Delete(doc);
	jauth_close(h);
}

/* The services of the conf path (a cJSON array of names), or NULL. */
static cJSON *all_services(struct cli *cli)
{
	char *json = NULL;
	if (jauth_services(&cli->opt, &json) != JAUTH_SUCCESS)
		return NULL;
	cJSON *arr = cJSON_Parse(json), *names = cJSON_CreateArray(), *it;
	jauth_free(json);
	cJSON_ArrayForEach (it, arr) {
		const char *s = str(it, "service");
		if (s)
			cJSON_AddItemToArray(names, cJSON_CreateString(s));
	}
	cJSON_Delete(arr);
	return names;
}

static void print_findings(const struct doctor *d)
{
	const cJSON *f;
	int problems = 0, warnings = 0;
	cJSON_ArrayForEach (f, d->findings) {
		const char *level = str(f, "level");
		problems += strcmp(level, "problem") == 0;
		warnings += strcmp(level, "warning") == 0;
		printf("%-8s %s: %s\n", level, str(f, "service"),
		       str(f, "message"));
	}
	printf("doctor: %d problem%s, %d warning%s, as %s\n", problems,
	       problems == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s",
	       me());
}

static int run(struct cli *cli, int argc, char **argv)
{
	struct flags f;
	int first, status = command_args(&cmd_doctor, argc, argv,
					 FLAG_JSON | FLAG_OFFLINE, &f, &first);
	if (status >= 0)
		return status;
	struct doctor d = { .findings = cJSON_CreateArray(),
			    .offline = f.offline };
	cJSON *names = cJSON_CreateArray(), *it;
	for (int i = first; i < argc; i++)
		cJSON_AddItemToArray(names, cJSON_CreateString(argv[i]));
	if (first == argc) {
		cJSON_Delete(names);
		names = all_services(cli);
	}
	if (!cJSON_GetArraySize(names)) {
		cJSON_Delete(names);
		if (f.json) { /* the document, with the status of the error */
			cJSON *doc = cJSON_CreateObject();
			cJSON_AddStringToObject(doc, "user", me());
			cJSON_AddStringToObject(doc, "worst", "problem");
			cJSON_AddNumberToObject(doc, "status", EXIT_USAGE);
			cJSON_AddItemToObject(doc, "findings", d.findings);
			json_out(doc);
			cJSON_Delete(doc);
		} else {
			cJSON_Delete(d.findings);
		}
		return no_stacks(cli);
	}
	cJSON_ArrayForEach (it, names)
		doctor_one(&d, cli, it->valuestring);
	if (f.json) {
		cJSON *doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "user", me());
		cJSON_AddStringToObject(doc, "worst",
					level_names[d.worst_level]);
		cJSON_AddNumberToObject(doc, "status", d.worst_status);
		cJSON_AddItemToObject(doc, "findings", d.findings);
		json_out(doc);
		cJSON_Delete(doc);
	} else {
		print_findings(&d);
		cJSON_Delete(d.findings);
	}
	cJSON_Delete(names);
	return d.worst_status;
}

const struct command cmd_doctor = {
	.name = "doctor",
	.args = "[SERVICE...] [--offline] [--json]",
	.summary = "what lint cannot see: secrets, state, grant, network",
	.help = "Checks each SERVICE (all in the conf path when none is given) "
		"for the user it\nruns as: the stack and its modules (as lint), "
		"every @file: and @env: secret\nreadable, placeholders left from "
		"the examples (YOUR-CLIENT-ID, YOUR-CLOUD-ID),\nthe state "
		"directory, DNS and TLS to every server of each line (with its\n"
		"ca_file=), this machine's clock against the servers' Date, the "
		"credential a\nconnector would get, and an OAuth grant's age and "
		"idle time against\nAtlassian's 365- and 90-day limits.\n"
		"Prints one finding per line (ok, warning or problem, "
		"each problem with its\nfix); the exit status is the worst "
		"problem's (2 config, 4 denied,\n3 unavailable, 1 other, 5 "
		"transient), 0 when there are only warnings.\nRun it as the user "
		"the connector runs as: sudo -u USER jauth doctor SERVICE.\n"
		"--offline skips what needs the network: the servers, the clock "
		"and the\ncredential (which may need a refresh).\n"
		"--json prints {\"user\", \"worst\", \"status\", \"findings\": "
		"[{\"service\",\n\"check\", \"level\", \"status\", "
		"\"message\"}]}.\n",
	.run = run,
};
