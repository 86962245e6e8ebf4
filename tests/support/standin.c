/*
 * standin.c - start, drive and stop the local Atlassian stand-in for tests.
 *
 * Set JAUTH_STANDIN_VERBOSE=1 to have the stand-in log one line per request
 * into DIR/standin.log (it never logs tokens).
 */
#include "standin.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>
#include <curl/curl.h>

#ifndef JAUTH_TEST_SRCDIR
#define JAUTH_TEST_SRCDIR "tests"
#endif

#define START_TIMEOUT_MS 15000
#define STOP_TIMEOUT_MS 5000
#define POLL_MS 20

struct buf {
	char *data;
	size_t len;
};

/* Prints "standin: <message>" on stderr. */
static void complain(const char *what, const char *detail)
{
	fprintf(stderr, "standin: %s%s%s\n", what, detail ? ": " : "",
		detail ? detail : "");
}

/* Writes "a/b" into out; 0, or -1 if it does not fit. */
static int path_join(char *out, size_t size, const char *a, const char *b)
{
	int n = snprintf(out, size, "%s/%s", a, b);

	if (n < 0 || (size_t)n >= size) {
		complain("path too long", a);
		return -1;
	}
	return 0;
}

/* The repository's tests/ directory: $JAUTH_TEST_SRCDIR or the macro. */
static const char *srcdir(void)
{
	const char *env = getenv("JAUTH_TEST_SRCDIR");

	return env && *env ? env : JAUTH_TEST_SRCDIR;
}

/* Sleeps for ms milliseconds. */
static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Milliseconds on the monotonic clock. */
static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Finds python3: /usr/bin/python3 if executable, else the first on PATH. */
static int find_python(char *out, size_t size)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL;
	int ret = -1;

	if (access("/usr/bin/python3", X_OK) == 0)
		return path_join(out, size, "/usr/bin", "python3");
	copy = strdup(path ? path : "/usr/local/bin:/usr/bin:/bin");
	if (!copy)
		return -1;
	for (dir = strtok_r(copy, ":", &save); dir;
	     dir = strtok_r(NULL, ":", &save)) {
		if (path_join(out, size, *dir ? dir : ".", "python3") == 0 &&
		    access(out, X_OK) == 0) {
			ret = 0;
			break;
		}
	}
	free(copy);
	if (ret)
		complain("python3 not found", NULL);
	return ret;
}

/* In the child: stdin from /dev/null, stdout+stderr to log_fd, then exec. */
static void exec_child(char *const argv[], int null_fd, int log_fd)
{
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (dup2(null_fd, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)
		_exit(126);
	execv(argv[0], argv);
	_exit(127);
}

/* Starts argv[0] (a full path) with its output appended to log_path. */
static pid_t spawn(char *const argv[], const char *log_path)
{
	int null_fd, log_fd;
	pid_t pid = -1;

	null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	log_fd =
		open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (null_fd < 0 || log_fd < 0) {
		complain("cannot open", log_path);
		goto out;
	}
	pid = fork();
	if (pid == 0)
		exec_child(argv, null_fd, log_fd);
	if (pid < 0)
		complain("fork failed", strerror(errno));
out:
	if (null_fd >= 0)
		close(null_fd);
	if (log_fd >= 0)
		close(log_fd);
	return pid;
}

/* Waits for pid; returns its exit status, or -1 if it did not exit(0..). */
static int wait_exit(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Copies DIR/standin.log to stderr, to explain a failure. */
static void dump_log(struct standin *s)
{
	char path[4200], line[1024];
	FILE *f;

	if (path_join(path, sizeof(path), s->dir, "standin.log"))
		return;
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		fprintf(stderr, "standin.log: %s", line);
	fclose(f);
}

/* Runs mkcerts.sh DIR; 0 on success. */
static int make_certs(struct standin *s, const char *log_path)
{
	char script[4200], bash[] = "/bin/bash";
	char *argv[] = { bash, script, s->dir, NULL };
	pid_t pid;

	if (path_join(script, sizeof(script), srcdir(), "standin/mkcerts.sh"))
		return -1;
	pid = spawn(argv, log_path);
	if (pid < 0)
		return -1;
	if (wait_exit(pid) != 0) {
		complain("mkcerts.sh failed", script);
		return -1;
	}
	return 0;
}

/* Writes text to path (mode 0600); 0 on success. */
static int write_file(const char *path, const char *text)
{
	size_t len = strlen(text);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	int ret = -1;

	if (!f) {
		if (fd >= 0)
			close(fd);
		complain("cannot write", path);
		return -1;
	}
	if (fwrite(text, 1, len, f) == len)
		ret = 0;
	if (fclose(f) != 0)
		ret = -1;
	if (ret)
		complain("cannot write", path);
	return ret;
}

/* Starts python3 standin.py --dir DIR [--config FILE] [--verbose]. */
static int start_python(struct standin *s, const char *config_path,
			const char *log_path)
{
	char python[4200], script[4200];
	char opt_dir[] = "--dir", opt_config[] = "--config";
	char opt_verbose[] = "--verbose";
	char *argv[8] = { python, script, opt_dir, s->dir, NULL };
	const char *verbose = getenv("JAUTH_STANDIN_VERBOSE");
	int argc = 4;

	if (find_python(python, sizeof(python)) ||
	    path_join(script, sizeof(script), srcdir(), "standin/standin.py"))
		return -1;
	if (config_path) {
		argv[argc++] = opt_config;
		argv[argc++] = (char *)config_path;
	}
	if (verbose && *verbose && strcmp(verbose, "0") != 0)
		argv[argc++] = opt_verbose;
	argv[argc] = NULL;
	s->pid = spawn(argv, log_path);
	if (s->pid < 0) {
		s->pid = 0;
		return -1;
	}
	return 0;
}

/* Reads the port from DIR/port; the port, or 0 if not there (yet). */
static int read_port(struct standin *s)
{
	char path[4200], text[32] = "";
	long port;
	FILE *f;

	if (path_join(path, sizeof(path), s->dir, "port"))
		return 0;
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(text, sizeof(text), f))
		text[0] = '\0';
	fclose(f);
	port = strtol(text, NULL, 10);
	return port > 0 && port < 65536 ? (int)port : 0;
}

/* Waits up to 15 s for the port file while the stand-in is alive. */
static int wait_port(struct standin *s)
{
	long long deadline = now_ms() + START_TIMEOUT_MS;
	int status;

	while (now_ms() < deadline) {
		s->port = read_port(s);
		if (s->port)
			return 0;
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			s->pid = 0;
			complain("stand-in exited early; see its log", NULL);
			return -1;
		}
		sleep_ms(POLL_MS);
	}
	complain("stand-in did not start within 15 s", NULL);
	return -1;
}

/* Fills url, ca and other_ca once dir and port are known. */
static int fill_names(struct standin *s)
{
	snprintf(s->url, sizeof(s->url), "https://127.0.0.1:%d", s->port);
	if (path_join(s->ca, sizeof(s->ca), s->dir, "ca.pem") ||
	    path_join(s->other_ca, sizeof(s->other_ca), s->dir, "other-ca.pem"))
		return -1;
	return 0;
}

/* Makes the temp dir DIR under $TMPDIR or /tmp. */
static int make_dir(struct standin *s)
{
	const char *tmp = getenv("TMPDIR");

	if (!tmp || !*tmp)
		tmp = "/tmp";
	if (path_join(s->dir, sizeof(s->dir), tmp, "jauth-standin.XXXXXX"))
		return -1;
	if (!mkdtemp(s->dir)) {
		complain("mkdtemp failed", strerror(errno));
		s->dir[0] = '\0';
		return -1;
	}
	return 0;
}

/* Starts the stand-in; see standin.h. */
int standin_start(struct standin *s, const char *config_json)
{
	char log_path[4200], config_path[4200];
	const char *config = NULL;

	memset(s, 0, sizeof(*s));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (make_dir(s) ||
	    path_join(log_path, sizeof(log_path), s->dir, "standin.log") ||
	    path_join(config_path, sizeof(config_path), s->dir, "config.json"))
		goto fail;
	if (make_certs(s, log_path))
		goto fail;
	if (config_json) {
		if (write_file(config_path, config_json))
			goto fail;
		config = config_path;
	}
	if (start_python(s, config, log_path) || wait_port(s) || fill_names(s))
		goto fail;
	return 0;
fail:
	if (s->dir[0])
		dump_log(s);
	standin_stop(s);
	return -1;
}

/* Sends sig to pid and waits up to timeout_ms; 0 once it is reaped. */
static int signal_and_wait(pid_t pid, int sig, long timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	pid_t got;

	kill(pid, sig);
	for (;;) {
		got = waitpid(pid, NULL, WNOHANG);
		if (got == pid || (got < 0 && errno != EINTR))
			return 0; /* reaped, or not our child to wait for */
		if (now_ms() >= deadline)
			return -1;
		sleep_ms(POLL_MS);
	}
}

/* nftw callback: removes one entry, children before their directory. */
static int remove_entry(const char *path, const struct stat *st, int type,
			struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	if (remove(path) != 0)
		complain("cannot remove", path);
	return 0;
}

/* Stops the stand-in and removes its temp dir; see standin.h. */
void standin_stop(struct standin *s)
{
	if (s->pid > 0) {
		if (signal_and_wait(s->pid, SIGTERM, STOP_TIMEOUT_MS))
			signal_and_wait(s->pid, SIGKILL, STOP_TIMEOUT_MS);
		s->pid = 0;
	}
	if (s->dir[0])
		nftw(s->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	s->dir[0] = '\0';
	s->port = 0;
}

/* libcurl write callback: appends to a struct buf, NUL-terminated. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;
	size_t n = size * nmemb;
	char *p = realloc(b->data, b->len + n + 1);

	if (!p)
		return 0;
	memcpy(p + b->len, data, n);
	b->len += n;
	p[b->len] = '\0';
	b->data = p;
	return n;
}

/* libcurl header callback: keeps the Location header's value. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	char **location = arg;
	size_t n = size * nmemb, len;
	const char *v;

	if (n < 9 || strncasecmp(data, "location:", 9) != 0)
		return n;
	for (v = data + 9, len = n - 9; len && (*v == ' ' || *v == '\t'); len--)
		v++;
	while (len &&
	       (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
		len--;
	free(*location);
	*location = strndup(v, len);
	return n;
}

/* A curl handle for url that trusts s->ca only and ignores proxies. */
static CURL *easy_new(struct standin *s, const char *url, struct buf *b)
{
	CURL *c = curl_easy_init();

	if (!c)
		return NULL;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CAINFO, s->ca);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	return c;
}

/* Performs c; the HTTP status, or -1 on a transport error. */
static long easy_perform(CURL *c)
{
	long status = -1;

	if (curl_easy_perform(c) != CURLE_OK)
		return -1;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

/* Sets method and JSON body on c; the header list to free after. */
static struct curl_slist *set_method(CURL *c, const char *method,
				     const char *json)
{
	struct curl_slist *h = curl_slist_append(NULL, "Expect:");
	int post = json || (method && strcmp(method, "POST") == 0);

	if (post) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, json ? json : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE,
				 (long)(json ? strlen(json) : 0));
	}
	if (json && h)
		h = curl_slist_append(h, "Content-Type: application/json");
	if (method && strcmp(method, post ? "POST" : "GET") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	return h;
}

/* One request to the stand-in; see standin.h. */
long standin_request(struct standin *s, const char *method, const char *path,
		     const char *json, char **body)
{
	struct buf b = { NULL, 0 };
	struct curl_slist *h = NULL;
	char url[8192];
	long status = -1;
	CURL *c = NULL;

	if (body)
		*body = NULL;
	if (snprintf(url, sizeof(url), "%s%s", s->url, path) >=
	    (int)sizeof(url))
		goto out;
	c = easy_new(s, url, &b);
	if (!c)
		goto out;
	h = set_method(c, method, json);
	status = easy_perform(c);
	if (status >= 0 && body) {
		*body = b.data ? b.data : strdup("");
		b.data = NULL;
	}
out:
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(b.data);
	return status;
}

/* The named counter from /_standin/counters, or -1. */
long standin_counter(struct standin *s, const char *name)
{
	cJSON *root = NULL, *item;
	char *body = NULL;
	long value = -1;

	if (standin_request(s, "GET", "/_standin/counters", NULL, &body) != 200)
		goto out;
	root = cJSON_Parse(body);
	item = cJSON_GetObjectItemCaseSensitive(root, name);
	if (cJSON_IsNumber(item))
		value = (long)item->valuedouble;
out:
	cJSON_Delete(root);
	free(body);
	return value;
}

/* POSTs json (may be NULL) to a control path; 0 on HTTP 200. */
static int control(struct standin *s, const char *path, const char *json)
{
	char *body = NULL;
	long status = standin_request(s, "POST", path, json, &body);

	if (status != 200)
		fprintf(stderr, "standin: %s answered %ld: %s\n", path, status,
			body ? body : "(no answer)");
	free(body);
	return status == 200 ? 0 : -1;
}

/* Merges json into the stand-in's config; 0 on success. */
int standin_config(struct standin *s, const char *json)
{
	return control(s, "/_standin/config", json);
}

/* Adds a fault; 0 on success. */
int standin_fault(struct standin *s, const char *json)
{
	return control(s, "/_standin/fault", json);
}

/* Resets the stand-in to its startup state; 0 on success. */
int standin_reset(struct standin *s)
{
	return control(s, "/_standin/reset", NULL);
}

/* GETs authorize_url without following redirects; see standin.h. */
char *standin_consent(struct standin *s, const char *authorize_url,
		      long *status)
{
	struct buf b = { NULL, 0 };
	char *location = NULL;
	long code = -1;
	CURL *c;

	c = easy_new(s, authorize_url, &b);
	if (!c)
		goto out;
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &location);
	code = easy_perform(c);
	if (code < 300 || code > 399) {
		free(location);
		location = NULL;
	}
out:
	if (status)
		*status = code;
	curl_easy_cleanup(c);
	free(b.data);
	return location;
}

long standin_get(struct standin *s, const char *url, const char *authorization,
		 char **body)
{
	struct buf b = { NULL, 0 };
	struct curl_slist *h = NULL;
	char *hdr = NULL;
	long status = -1;
	CURL *c = easy_new(s, url, &b);

	if (body)
		*body = NULL;
	if (!c)
		return -1;
	if (authorization &&
	    asprintf(&hdr, "Authorization: %s", authorization) < 0)
		goto out;
	if (hdr)
		h = curl_slist_append(h, hdr);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	status = easy_perform(c);
	if (status >= 0 && body) {
		*body = b.data ? b.data : strdup("");
		b.data = NULL;
	}
out:
	free(hdr);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(b.data);
	return status;
}
