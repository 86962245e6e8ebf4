/*
 * cmd_authorize.c — jauth authorize SERVICE [--url-only | --callback URL]:
 * OAuth consent. With neither option it is interactive: it prints the
 * address to open, then catches the browser's return itself when the
 * redirect_uri is a loopback http://127.0.0.1:PORT/… address, or reads the
 * address the browser ended on from the terminal.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jauth/module.h>

#include "cli.h"

#define WAIT_MS (10 * 60 * 1000) /* the life of an authorization code */
#define CONN_MS (10 * 1000)	 /* one connection's time to send its request */
#define CONNS 16		 /* connections served at once */
#define REQUEST_MAX 8192

static int finish(jauth *h, const char *callback)
{
	char *report = NULL;
	jauth_result r = jauth_authorize_finish(h, callback, &report);
	if (r != JAUTH_SUCCESS)
		return fail_handle(h, r);
	printf("%s", report ? report : "");
	jauth_free(report);
	return EXIT_OK;
}

/* Reads one line from F into a malloc'd string without its newline. */
static char *read_line(FILE *f)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, f);
	if (n <= 0) {
		free(line);
		return NULL;
	}
	line[strcspn(line, "\r\n")] = '\0';
	return line;
}

/* Host and port of a loopback redirect_uri; 0 if it is not one. (oauth3lo
 * refuses http://localhost, which may resolve to the other address.) */
static int loopback_of(const char *uri, char *host, size_t hn, char *port,
		       size_t pn)
{
	static const char *const hosts[] = { "127.0.0.1", "[::1]" };
	if (strncmp(uri, "http://", 7) != 0)
		return 0;
	const char *h = uri + 7;
	for (int i = 0; i < 2; i++) {
		size_t n = strlen(hosts[i]);
		if (strncmp(h, hosts[i], n) != 0 || h[n] != ':')
			continue;
		snprintf(host, hn, "%s", i == 1 ? "::1" : hosts[i]);
		snprintf(port, pn, "%.*s", (int)strcspn(h + n + 1, "/?"),
			 h + n + 1);
		return *port != '\0';
	}
	return 0;
}

/* Listens on the loopback address only. Returns the socket or -1. */
static int listen_loopback(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV },
			*ai;
	if (getaddrinfo(host, port, &hints, &ai) != 0)
		return -1;
	int s = socket(ai->ai_family,
		       SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0),
	    one = 1;
	if (s < 0 ||
	    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(s, ai->ai_addr, ai->ai_addrlen) < 0 || listen(s, 16) < 0) {
		if (s >= 0)
			close(s);
		s = -1;
	}
	freeaddrinfo(ai);
	return s;
}

/* Milliseconds of the monotonic clock. */
static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum verdict { NOT_OURS, WRONG_STATE, OURS };

/* Answers a request. MSG_NOSIGNAL: a peer that hung up must not kill jauth
 * with SIGPIPE. */
static void reply(int c, enum verdict v)
{
	static const char *const status[] = { "404 Not Found",
					      "400 Bad Request", "200 OK" };
	static const char *const body[] = {
		"<html><body><p>Not found.</p></body></html>\n",
		"<html><body><p>This is not the consent jauth is waiting for "
		"(its state does not match). Start again from the address "
		"jauth printed.</p></body></html>\n",
		"<html><body><p>jauth received the consent. You can close this "
		"tab.</p></body></html>\n",
	};
	char head[256];
	int n = snprintf(head, sizeof head,
			 "HTTP/1.1 %s\r\nContent-Type: text/html\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			 status[v], strlen(body[v]));
	(void)!send(c, head, (size_t)n, MSG_NOSIGNAL);
	(void)!send(c, body[v], strlen(body[v]), MSG_NOSIGNAL);
}

/* What a request's target ("/cb?code=…&state=…") is to the consent whose
 * state is STATE: only one carrying that state, exactly once, and a code or
 * an error is the browser coming back. Anything else — another local user
 * guessing, a stale tab, a favicon — is answered and ignored. */
static enum verdict judge(const char *target, const char *state)
{
	char *got = NULL;
	if (!target || (!strstr(target, "code=") && !strstr(target, "error=")))
		return NOT_OURS;
	if (jauth_m_url_param(target, "state", &got) != JAUTH_SUCCESS)
		return WRONG_STATE;
	size_t n = strlen(state);
	unsigned char diff = strlen(got) != n;
	for (size_t i = 0; !diff && i < n; i++)
		diff |= (unsigned char)(got[i] ^ state[i]);
	free(got);
	return diff ? WRONG_STATE : OURS;
}

/* One connection of the listener: what it sent so far, and until when it
 * may send the rest. */
struct conn {
	int fd;
	long long deadline;
	size_t len;
	char buf[REQUEST_MAX + 1];
};

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	explicit_bzero(c->buf, c->len);
	c->fd = -1;
	c->len = 0;
}

/* Accepts a connection into a free slot, or the slot of the oldest one
 * (a flood of idle connections must not lock the browser out). */
static void conn_accept(int s, struct conn *cs)
{
	int fd = accept4(s, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	struct conn *slot = &cs[0];
	for (int i = 0; i < CONNS; i++) {
		if (cs[i].fd < 0) {
			slot = &cs[i];
			break;
		}
		if (cs[i].deadline < slot->deadline)
			slot = &cs[i];
	}
	conn_close(slot);
	slot->fd = fd;
	slot->deadline = now_ms() + CONN_MS;
}

/* Reads what C has sent. Returns the request's target (malloc'd) once the
 * request line is complete, "" when the connection is done without one,
 * or NULL when more is to come. */
static char *conn_read(struct conn *c)
{
	ssize_t n = read(c->fd, c->buf + c->len, REQUEST_MAX - c->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return NULL;
	if (n > 0)
		c->len += (size_t)n;
	c->buf[c->len] = '\0';
	if (n > 0 && !memchr(c->buf, '\n', c->len) && c->len < REQUEST_MAX)
		return NULL;
	if (strncmp(c->buf, "GET ", 4) != 0)
		return strdup("");
	return strndup(c->buf + 4, strcspn(c->buf + 4, " \r\n"));
}

/* Answers C's request once it is complete and closes C. Returns the
 * callback URL when it was the browser's; *WARNED is the count of foreign
 * ones, noted on stderr once (nothing of theirs is printed). */
static char *conn_serve(struct conn *c, const char *host, const char *port,
			const char *state, int *warned)
{
	char *target = conn_read(c), *cb = NULL;
	if (!target)
		return NULL;
	enum verdict v = judge(target, state);
	reply(c->fd, v);
	conn_close(c);
	if (v == WRONG_STATE && !(*warned)++)
		fprintf(stderr, "jauth: ignored a request to the callback "
				"address with another state (another program "
				"or user); still waiting\n");
	if (v == OURS &&
	    asprintf(&cb, "http://%s:%s%s", host, port, target) < 0)
		cb = NULL;
	explicit_bzero(target, strlen(target));
	free(target);
	return cb;
}

/* Fills P with the listening socket S and the open connections, closing
 * those past their deadline. Returns the poll timeout: until the nearest
 * deadline or END. */
static int poll_set(int s, struct conn *cs, struct pollfd *p, long long now,
		    long long end)
{
	long long wake = end;
	p[0] = (struct pollfd){ .fd = s, .events = POLLIN };
	for (int i = 0; i < CONNS; i++) {
		if (cs[i].fd >= 0 && cs[i].deadline <= now)
			conn_close(&cs[i]);
		if (cs[i].fd >= 0 && cs[i].deadline < wake)
			wake = cs[i].deadline;
		p[i + 1] = (struct pollfd){ .fd = cs[i].fd, .events = POLLIN };
	}
	return (int)(wake - now);
}

/* Serves connections on S until the browser comes back with the consent
 * whose state is STATE, or END (CLOCK_MONOTONIC ms) passes: the callback
 * URL, or NULL. Each connection has CONN_MS to send its request line, and
 * up to CONNS are served at once, so a slow or idle one holds nobody up;
 * END is fixed before the first connection and never moves. */
static char *catch_redirect(int s, const char *host, const char *port,
			    const char *state, long long end)
{
	struct conn *cs = calloc(CONNS, sizeof *cs);
	struct pollfd p[CONNS + 1];
	char *cb = NULL;
	int warned = 0;
	long long now;
	for (int i = 0; cs && i < CONNS; i++)
		cs[i].fd = -1;
	while (cs && !cb && (now = now_ms()) < end) {
		if (poll(p, CONNS + 1, poll_set(s, cs, p, now, end)) < 0 &&
		    errno != EINTR)
			break;
		for (int i = 0; i < CONNS && !cb; i++)
			if (cs[i].fd >= 0 &&
			    (p[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
				cb = conn_serve(&cs[i], host, port, state,
						&warned);
		if (p[0].revents & POLLIN)
			conn_accept(s, cs);
	}
	for (int i = 0; cs && i < CONNS; i++)
		conn_close(&cs[i]);
	free(cs);
	return cb;
}

static int interactive(jauth *h, const char *url)
{
	char host[64], port[16], *redirect = NULL, *cb = NULL, *state = NULL;
	long long end = now_ms() + WAIT_MS;
	jauth_m_url_param(url, "redirect_uri", &redirect);
	jauth_m_url_param(url, "state", &state);
	int loop = redirect && state &&
		   loopback_of(redirect, host, sizeof host, port, sizeof port);
	int s = loop ? listen_loopback(host, port) : -1;
	printf("Open this address in a browser, sign in as a Jira admin and "
	       "click Accept:\n\n  %s\n\n",
	       url);
	if (s >= 0) {
		printf("Waiting for the browser to come back to %s "
		       "(10 minutes at most)...\n",
		       redirect);
		fflush(stdout);
		cb = catch_redirect(s, host, port, state, end);
		close(s);
	} else {
		if (loop)
			fprintf(stderr,
				"jauth: cannot listen on %s:%s (%s); paste "
				"the address instead\n",
				host, port, strerror(errno));
		printf("Then paste the address the browser was sent to (it "
		       "starts with %s):\n> ",
		       redirect ? redirect : "the redirect_uri");
		fflush(stdout);
		cb = read_line(stdin);
	}
	free(redirect);
	free(state);
	if (!cb)
		return fail(EXIT_USAGE, "no callback received: run jauth "
					"authorize again");
	int status = finish(h, cb);
	explicit_bzero(cb, strlen(cb));
	free(cb);
	return status;
}

/* Wipes and frees S; NULL is accepted. */
static void forget(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
}

/* A copy of the --callback argument ARG, which is then overwritten where
 * it stood, so that /proc/PID/cmdline stops showing the code and state
 * while the exchange runs (other users can read it). It was visible until
 * now, hence the advice to use "-" (standard input). */
static char *take_arg(char *arg)
{
	char *copy = strdup(arg);
	if (!copy || strcmp(arg, "-") == 0)
		return copy;
	explicit_bzero(arg, strlen(arg));
	fprintf(stderr, "jauth: note: a callback in the arguments is visible "
			"to other users until jauth reads it; use --callback - "
			"and paste it on standard input\n");
	return copy;
}

static int run(struct cli *cli, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "url-only", no_argument, 0, 'u' },
		{ "callback", required_argument, 0, 'C' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	char *callback = NULL;
	int o, url_only = 0, status;
	optind = 0; /* 0: glibc starts afresh (permuting, unlike main's "+") */
	while ((o = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		if (o == 'h')
			return forget(callback), command_help(&cmd_authorize),
			       EXIT_OK;
		if (o == 'u') {
			url_only = 1;
		} else if (o == 'C' && !callback) {
			if (!(callback = take_arg(optarg)))
				return fail(EXIT_OTHER, "out of memory");
		} else {
			return forget(callback), usage(&cmd_authorize);
		}
	}
	if ((status = args_count(&cmd_authorize, argc, argv, optind, 1, 1)) >=
	    0)
		return forget(callback), status;
	if (url_only && callback)
		return forget(callback),
		       usage_why(
			       &cmd_authorize,
			       "--url-only and --callback exclude each other");
	jauth *h = open_service(cli, argv[optind], &status);
	if (!h)
		return forget(callback), status;
	char *url = NULL, *line = NULL;
	jauth_result r = JAUTH_SUCCESS;
	if (callback && strcmp(callback, "-") == 0) {
		line = read_line(stdin);
		status = line ? finish(h, line)
			      : fail(EXIT_USAGE,
				     "no callback on standard input");
	} else if (callback) {
		status = finish(h, callback);
	} else if ((r = jauth_authorize_begin(h, &url)) != JAUTH_SUCCESS) {
		status = fail_handle(h, r);
	} else if (url_only) {
		status = printf("%s\n", url) < 0;
	} else {
		status = interactive(h, url);
	}
	forget(line);
	forget(callback);
	jauth_free(url);
	jauth_close(h);
	return status;
}

const struct command cmd_authorize = {
	.name = "authorize",
	.args = "SERVICE [--url-only | --callback URL]",
	.summary = "OAuth consent: print the URL; finish from the redirect URL",
	.help = "  --url-only      print the consent address and stop\n"
		"  --callback URL  finish from the address the browser was sent "
		"back to (or its\n"
		"                  query string); --callback - reads it from "
		"standard input,\n"
		"                  which keeps the authorization code out of "
		"the process list\n"
		"With neither, interactive: prints the address, then waits for "
		"the browser on a\nloopback redirect_uri (http://127.0.0.1:PORT/… or "
		"http://[::1]:PORT/…, listening\non that address only, for the "
		"request that carries this consent's state;\nothers get an "
		"error page) or reads the pasted address from the terminal.\n"
		"The consent must be finished within 10 minutes of starting "
		"it.\n",
	.run = run,
};
