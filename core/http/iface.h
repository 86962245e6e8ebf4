/*
 * iface.h — the private interface between libjauth (core/http.c: the
 * policy — retries, backoff, deadlines, messages, traces) and http.so
 * (core/http/curl.c: one HTTPS transfer on libcurl). Internal: both sides
 * are built from the same tree and installed together, and the version
 * below is checked at load, so it may change in any release.
 *
 * http.so is loaded on the first request (core/private.c), so that a
 * process that never calls the network never maps libcurl and OpenSSL.
 */
#ifndef JAUTH_HTTP_IFACE_H
#define JAUTH_HTTP_IFACE_H

#include <stddef.h>
#include <time.h>

#define JAUTH_HTTP_IFACE_VERSION 2u
#define JAUTH_HTTP_IFACE_SYMBOL "jauth_http_iface_v1"

/* Why a transfer got no (complete) answer. */
enum http_fault {
	HF_NONE,       /* an answer arrived: see status */
	HF_DNS,	       /* the host name does not resolve */
	HF_CONNECT,    /* refused or unreachable */
	HF_TIMEOUT,    /* no complete answer in time */
	HF_SLOW,       /* below the low-speed limit for too long */
	HF_DROPPED,    /* the connection broke mid-way */
	HF_TLS_TRUST,  /* the server's certificate is not trusted */
	HF_CA_FILE,    /* the CA file cannot be used */
	HF_TLS,	       /* another TLS handshake failure */
	HF_BODY_BIG,   /* the body is over max_body */
	HF_HEADER_BIG, /* the header is over max_header */
	HF_SCHEME,     /* not https */
	HF_OTHER,      /* anything else: see detail */
};

/* One transfer: what to send, the limits, and what came back. */
struct http_try {
	/* in */
	const char *url;
	const char *authorization; /* header value, or NULL */
	const char *json;	   /* POST body, or NULL for a GET */
	const char *ca_file;	   /* or NULL: the system's CAs */
	const char *ca_pem;	   /* ca_file's bytes as the trust check read
				      them: used instead of the path */
	size_t ca_len;
	const char *user_agent;
	long connect_ms, total_ms;
	long low_speed_bps, low_speed_s; /* abort when slower for that long */
	size_t max_body, max_header;
	int trace; /* collect the answer's header lines into headers */
	/* libjauth's memory for secrets (secmem.c), for the body: http.so
	 * links nothing of libjauth, and a body may hold a token. */
	void *(*secure_alloc)(size_t n);
	void (*secure_free)(void *p);

	/* out; body is in secure_alloc's memory (free it with secure_free),
	 * headers malloc'd */
	enum http_fault fault;
	int uncertain; /* the request may have reached the server */
	long status;   /* 0 when no answer */
	char *body;    /* NUL-terminated, never NULL after perform */
	size_t len;
	char *headers;	  /* trace only: "Name: value\n" lines, or NULL */
	long retry_after; /* seconds, or -1 */
	time_t date;	  /* the Date header, or 0 */
	char detail[256]; /* libcurl's own words, "" if none */
};

struct http_iface {
	unsigned version; /* JAUTH_HTTP_IFACE_VERSION */
	size_t size;	  /* sizeof(struct http_try) it was built with */
	/* Makes one transfer on *CONN (a connection kept for reuse, made on
	 * first use; NULL when it cannot be). Always fills T's outputs. */
	void (*perform)(void **conn, struct http_try *t);
	/* Closes a connection perform made. */
	void (*close)(void *conn);
};

#endif
