/*
 * jauth.h — the connector API of libjauth.
 *
 * A connector opens a handle for a service, asks it for a credential before
 * each Jira call, and reports the credentials Jira rejected. The handle reads
 * the service's stack (jauth.conf(5)), loads one module per line and runs
 * the stack with PAM's semantics. Every function here is thread-safe unless
 * its comment says otherwise.
 *
 * A NULL handle makes every call that takes one return JAUTH_ERROR
 * (jauth_error(NULL) says why); so does a NULL where a call stores what it
 * hands out, unless its comment says "(may be NULL)". jauth_close,
 * jauth_free and jauth_http_answer_free accept NULL.
 */
#ifndef JAUTH_JAUTH_H
#define JAUTH_JAUTH_H

#include <stddef.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define JAUTH_EXPORT __attribute__((visibility("default")))
#else
#define JAUTH_EXPORT
#endif

#define JAUTH_VERSION "0.1.0"

/* The one result type of the whole API. The first five are what a module
 * returns for a line; JAUTH_CONFIG is the core's own. */
typedef enum jauth_result {
	JAUTH_SUCCESS = 0, /* a credential, or the operation was done */
	JAUTH_UNAVAILABLE =
		1, /* not set up yet: no grant stored, no token given */
	JAUTH_DENIED =
		2, /* the server or the clock says the credential is bad */
	JAUTH_TRANSIENT =
		3,	 /* network, 5xx, 429 after retries: try again later */
	JAUTH_ERROR = 4, /* bad arguments, I/O, out of memory */
	JAUTH_CONFIG =
		5, /* the stack, a module or a file it names is refused */
} jauth_result;

/* "success", "unavailable", … — the names the stack's controls use.
 * Never NULL. */
JAUTH_EXPORT const char *jauth_result_name(jauth_result r);

/* The library's version string, e.g. "0.1.0". */
JAUTH_EXPORT const char *jauth_version(void);

typedef struct jauth jauth;
typedef struct jauth_cred jauth_cred;

/* Log levels; 0 means "the default" (warn, or debug with JAUTH_DEBUG=1). */
enum jauth_log_level {
	JAUTH_LOG_DEFAULT = 0,
	JAUTH_LOG_ERROR = 1,
	JAUTH_LOG_WARN = 2,
	JAUTH_LOG_NOTICE = 3,
	JAUTH_LOG_INFO = 4,
	JAUTH_LOG_DEBUG = 5,
};

/* Receives one log line, already redacted, without a trailing newline. */
typedef void jauth_log_fn(void *ctx, int level, const char *line);

/* Returns the current time in seconds since the epoch. Tests replace it to
 * simulate expiry; it must be cheap and thread-safe. It is also the clock
 * by which a stack file rewritten in place counts as settled (a second
 * old) before a reload reads it. */
typedef time_t jauth_clock_fn(void *ctx);

/* Optional settings for jauth_open. Zero every field you do not set and put
 * sizeof(struct jauth_options) in size: fields are only ever appended. */
struct jauth_options {
	size_t size;
	const char *conf_path;	 /* colon-separated; else $JAUTH_CONF_PATH, else
				    /etc/jauth.d:/usr/lib/jauth.d */
	const char *module_path; /* colon-separated; else $JAUTH_MODULE_PATH,
				    else the installed module dir */
	const char *state_dir;	 /* else $JAUTH_STATE_DIR, else /var/lib/jauth
				    (root) or $XDG_STATE_HOME/jauth */
	jauth_log_fn *log;	 /* NULL: log to stderr */
	void *log_ctx;
	int log_level;	       /* enum jauth_log_level */
	jauth_clock_fn *clock; /* NULL: the system clock */
	void *clock_ctx;
	unsigned flags; /* JAUTH_OPEN_* */
};

/* Do not watch the stack files for edits. */
#define JAUTH_OPEN_NO_RELOAD 0x1u
/* jauth_lint only, when linting every service on the path: a stack with
 * no module lines that another stack on the path includes or substacks is
 * an include fragment, not a problem. jauth_open ignores it. */
#define JAUTH_LINT_FRAGMENTS 0x2u

/*
 * Opens a handle for SERVICE: finds its stack, checks every file it names,
 * loads the modules and lets each check its arguments. Does no network I/O.
 * Fails closed: any problem refuses the whole stack with JAUTH_CONFIG and a
 * "FILE:LINE: what is wrong" message. On any result *hp is set to a handle
 * (NULL only when out of memory) that answers jauth_error and must be
 * passed to jauth_close; a failed handle refuses every other call
 * (JAUTH_CONFIG). HP NULL: JAUTH_ERROR, and no handle is made.
 */
JAUTH_EXPORT jauth_result jauth_open(const char *service,
				     const struct jauth_options *opt,
				     jauth **hp);

/* Closes the handle and unloads its modules. Call it only after every thread
 * has stopped using the handle; credentials it returned die with it.
 * NULL is accepted. */
JAUTH_EXPORT void jauth_close(jauth *h);

/* The message of the last failure on this handle in the calling thread, one
 * line that says what to do; "" if none. Never contains a secret, nor a
 * control character (a server's newline or ESC is written \n, \x1b). Valid
 * until this thread's next call on the handle. */
JAUTH_EXPORT const char *jauth_error(const jauth *h);

/*
 * Returns a credential. A cached credential that is still fresh comes back
 * without I/O, system calls or a shared lock; near its expiry one caller
 * refreshes it while the others keep using it. *cred stays valid until this
 * thread's next call of jauth_acquire or jauth_refresh on the same handle.
 * Its Authorization value lives on pages left out of core dumps and is
 * wiped when libjauth frees it; a copy the caller makes is the caller's
 * to protect (README, "Secrets and core files").
 * CRED must not be NULL (JAUTH_ERROR with a message).
 */
JAUTH_EXPORT jauth_result jauth_acquire(jauth *h, const jauth_cred **cred);

/* Runs the stack with every module's refresh now, whatever the cache holds.
 * *cred (may be NULL) as for jauth_acquire. */
JAUTH_EXPORT jauth_result jauth_refresh(jauth *h, const jauth_cred **cred);

/* Tells the handle that Jira answered HTTP_STATUS (401, 403, 404) to CRED.
 * The next acquire asks the module that produced it again instead of the
 * cache; the module decides between a refresh and JAUTH_DENIED. Any other
 * status is no rejection: JAUTH_ERROR with a message, the credential is
 * kept. */
JAUTH_EXPORT jauth_result jauth_report(jauth *h, const jauth_cred *cred,
				       int http_status);

/* Forgets every line's grant or token. *steps (may be NULL) receives, in a
 * string to free with jauth_free, what the admin still has to do at
 * Atlassian. */
JAUTH_EXPORT jauth_result jauth_revoke(jauth *h, char **steps);

/* Starts OAuth consent with the first line whose module has one: *url
 * receives the address the admin opens (free with jauth_free). */
JAUTH_EXPORT jauth_result jauth_authorize_begin(jauth *h, char **url);

/* Finishes consent from the URL the browser was sent back to, or its query
 * string. *report (may be NULL) receives what was granted, for people. */
JAUTH_EXPORT jauth_result jauth_authorize_finish(jauth *h, const char *callback,
						 char **report);

/* The stack's state as a JSON document (free with jauth_free): every line
 * with its module's status, the line in force, warnings, the failure
 * backoff ("failures", "retry_at"), the last reload error and the store
 * ("store": backend, and for PostgreSQL each record's generation, lock
 * holder and last writer). Secrets are masked, and its strings hold no
 * control characters, so they can be printed as they are. Does no network
 * I/O except that question to a shared store, and never waits for a
 * refresh in progress (the modules' own fields and the store's records
 * are then left out). On a handle that failed to open it returns
 * JAUTH_CONFIG with a shorter document: "error", and the
 * "reload_error_reported" note of a connector that runs on and refused
 * the same file. */
JAUTH_EXPORT jauth_result jauth_status(jauth *h, char **json);

/* The shared store of the stack (jauth.conf(5), "store pgsql"): creates
 * its tables (jauth store init). Running it again changes nothing.
 * JAUTH_CONFIG when the stack keeps its records in files. *report (may be
 * NULL; free with jauth_free) says what was done. */
JAUTH_EXPORT jauth_result jauth_store_init(jauth *h, char **report);

/* Moves the service's records from the file store of the handle's state
 * directory into the stack's shared store, without a new consent, and
 * removes each local file once its copy is committed, so that no process
 * refreshes from it again (jauth store copy). A record the shared store
 * already has is left alone (JAUTH_ERROR). *report as above. */
JAUTH_EXPORT jauth_result jauth_store_copy(jauth *h, char **report);

/* Rewrites every record of the service under its store's key= (jauth store
 * rekey): a record sealed with key_old=, or in clear, comes out sealed
 * with key=, without a new consent. Each record is replaced by one durable
 * commit under its lock, so an interrupted rekey leaves every record
 * readable with key= or key_old=; running it again finishes. JAUTH_CONFIG
 * when the store has no key= or a record's key is neither. *report as
 * above; a NULL H is JAUTH_ERROR, as for every call. */
JAUTH_EXPORT jauth_result jauth_store_rekey(jauth *h, char **report);

/* Every problem of SERVICE's stack, one "FILE:LINE: …" per line, in *report
 * (free with jauth_free; "" when clean), masked like jauth_error (a secret
 * left where the parser expected a control or a module is not shown). Loads the modules, never calls the
 * network. Returns JAUTH_SUCCESS when clean, JAUTH_CONFIG otherwise. */
JAUTH_EXPORT jauth_result jauth_lint(const char *service,
				     const struct jauth_options *opt,
				     char **report);

/* Every service name in the conf path (the first file of each name wins),
 * as a JSON array of {"service","file"}. A subdirectory is no stack and is
 * left out, unless it hides a file of its name further on the path. */
JAUTH_EXPORT jauth_result jauth_services(const struct jauth_options *opt,
					 char **json);

/* The modules of the module path as a JSON array of
 * {"name","file","path","version","abi","error"}: "error" only for a
 * module that would be refused, whose name, version and abi are null. */
JAUTH_EXPORT jauth_result jauth_modules(const struct jauth_options *opt,
					char **json);

/* An answer of jauth_http_get. */
struct jauth_http_answer {
	long status; /* the HTTP status */
	char *body;  /* NUL-terminated, at most 1 MiB; wiped on free */
	size_t len;
	time_t date;	/* the server's Date header, 0 if none */
	double seconds; /* wall time of the whole call, tries included */
};

/* GET URL over the library's HTTP client with the TLS settings (ca_file=) of
 * stack line SOURCE ("FILE:LINE" as jauth_cred_source gives; NULL: the
 * system's CAs) and Authorization AUTH (NULL: none). Retries, backoff,
 * Retry-After, the size caps and the TLS rules are those the modules get.
 * JAUTH_SUCCESS when an answer arrived (any status); else JAUTH_CONFIG
 * (certificate problem), JAUTH_TRANSIENT (DNS/connect/timeout/5xx/429) or
 * JAUTH_ERROR (a URL that is not https://, a SOURCE that is no line of the
 * stack, an answer over the size caps) with a message in jauth_error(h)
 * naming line, URL, fix. A partly filled
 * *a is possible on failure (e.g. the last 503): free it either way. */
JAUTH_EXPORT jauth_result jauth_http_get(jauth *h, const char *source,
					 const char *url, const char *auth,
					 struct jauth_http_answer *a);
/* Wipes and frees the body; A may be zeroed, filled or NULL (nothing). */
JAUTH_EXPORT void jauth_http_answer_free(struct jauth_http_answer *a);

/* Frees (and wipes) a string the API handed out. NULL is accepted. */
JAUTH_EXPORT void jauth_free(char *s);

/* Accessors of a credential; strings live as long as the credential.
 * For C NULL (what a failed acquire leaves in *cred) they give "" (0). */
/* The value of the Authorization header: "Basic …" or "Bearer …". */
JAUTH_EXPORT const char *jauth_cred_authorization(const jauth_cred *c);
/* "Basic" or "Bearer". */
JAUTH_EXPORT const char *jauth_cred_scheme(const jauth_cred *c);
/* The REST base URL, without a trailing slash. */
JAUTH_EXPORT const char *jauth_cred_base_url(const jauth_cred *c);
/* When the credential stops working; 0 when nobody knows. */
JAUTH_EXPORT time_t jauth_cred_expires_at(const jauth_cred *c);
/* The stack line that produced it: "FILE:LINE". */
JAUTH_EXPORT const char *jauth_cred_source(const jauth_cred *c);
/* The module of that line, e.g. "oauth3lo.so". */
JAUTH_EXPORT const char *jauth_cred_module(const jauth_cred *c);

#ifdef __cplusplus
}
#endif

#endif
