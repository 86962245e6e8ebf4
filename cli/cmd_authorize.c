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
#include <unistd.h>

#include <jauth/module.h>

#include "cli.h"

#define WAIT_MS (10 * 60 * 1000) /* the life of an authorization code */
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

/* Host, port and path of a loopback redirect_uri; 0 if it is not one. */
static int loopback_of(const char *uri, char *host, size_t hn, char *port,
		       size_t pn)
{
	static const char *const hosts[] = { "127.0.0.1", "localhost",
					     "[::1]" };
	if (strncmp(uri, "http://", 7) != 0)
		return 0;
	const char *h = uri + 7;
	for (int i = 0; i < 3; i++) {
		size_t n = strlen(hosts[i]);
		if (strncmp(h, hosts[i], n) != 0 || h[n] != ':')
			continue;
		snprintf(host, hn, "%s",
			 i == 2	  ? "::1"
			 : i == 1 ? "127.0.0.1"
				  : hosts[i]);
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
	int s = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	if (s < 0 ||
	    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(s, ai->ai_addr, ai->ai_addrlen) < 0 || listen(s, 4) < 0) {
		if (s >= 0)
			close(s);
		s = -1;
	}
	freeaddrinfo(ai);
	return s;
}

static void reply(int c, int ok)
{
	const char *body =
		ok ? "<html><body><p>jauth received the consent. You "
		     "can close this tab.</p></body></html>\n"
		   : "not found\n";
	char head[256];
	int n = snprintf(head, sizeof head,
			 "HTTP/1.1 %s\r\nContent-Type: text/html\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			 ok ? "200 OK" : "404 Not Found", strlen(body));
	(void)!write(c, head, (size_t)n);
	(void)!write(c, body, strlen(body));
}

/* Reads a request's target ("/cb?code=…&state=…"), malloc'd. */
static char *request_target(int c)
{
	char buf[REQUEST_MAX + 1];
	size_t len = 0;
	struct pollfd p = { .fd = c, .events = POLLIN };
	while (len < REQUEST_MAX && !memchr(buf, '\n', len) &&
	       poll(&p, 1, 5000) > 0) {
		ssize_t n = read(c, buf + len, REQUEST_MAX - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (strncmp(buf, "GET ", 4) != 0)
		return NULL;
	return strndup(buf + 4, strcspn(buf + 4, " \r\n"));
}

/* Waits for the browser's return on the loopback; the callback URL. */
static char *catch_redirect(int s, const char *host, const char *port)
{
	struct pollfd p = { .fd = s, .events = POLLIN };
	while (poll(&p, 1, WAIT_MS) > 0) {
		int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		char *target = request_target(c), *cb = NULL;
		int ours = target && (strstr(target, "code=") ||
				      strstr(target, "error="));
		reply(c, ours);
		close(c);
		if (ours &&
		    asprintf(&cb, "http://%s:%s%s", host, port, target) < 0)
			cb = NULL;
		free(target);
		if (ours)
			return cb;
	}
	return NULL;
}

static int interactive(jauth *h, const char *url)
{
	char host[64], port[16], *redirect = NULL, *cb = NULL;
	jauth_m_url_param(url, "redirect_uri", &redirect);
	int loop = redirect &&
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
		cb = catch_redirect(s, host, port);
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
	if (!cb)
		return fail(EXIT_USAGE, "no callback received: run jauth "
					"authorize again");
	int status = finish(h, cb);
	explicit_bzero(cb, strlen(cb));
	free(cb);
	return status;
}

static int run(struct cli *cli, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "url-only", no_argument, 0, 'u' },
		{ "callback", required_argument, 0, 'C' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *callback = NULL;
	int o, url_only = 0, status;
	optind = 0; /* 0: glibc starts afresh (permuting, unlike main's "+") */
	while ((o = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		if (o == 'h')
			return command_help(&cmd_authorize), EXIT_OK;
		if (o == 'u')
			url_only = 1;
		else if (o == 'C')
			callback = optarg;
		else
			return usage(&cmd_authorize);
	}
	if (optind != argc - 1 || (url_only && callback))
		return usage(&cmd_authorize);
	jauth *h = open_service(cli, argv[optind], &status);
	if (!h)
		return status;
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
	if (line)
		explicit_bzero(line, strlen(line));
	free(line);
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
		"the browser on a\nloopback redirect_uri (http://127.0.0.1:PORT/…, "
		"listening on loopback only, for\none request) or reads the "
		"pasted address from the terminal. The consent must\nbe "
		"finished within 10 minutes of starting it.\n",
	.run = run,
};
