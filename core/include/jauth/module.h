/*
 * module.h — the ABI between libjauth and its modules, and the services the
 * core hands every module.
 *
 * A module is a shared object that exports one symbol, jauth_module_entry,
 * a const struct jauth_module. The core calls a module instance (one stack
 * line) from one thread at a time; the instance still has to cope with other
 * processes using the same grant, which the store's lock is for.
 * docs/MODULES.md walks through writing one.
 */
#ifndef JAUTH_MODULE_H
#define JAUTH_MODULE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <jauth/jauth.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * ABI version: major << 16 | minor. A module is loaded when its major equals
 * the core's and its minor is not newer; the core reads only the members
 * that exist in the module's minor. Members are only ever appended.
 * Minor 1 added status and rejected.
 *
 * New service functions (jauth_m_…) and argument types need no ABI bump:
 * they change no struct the core reads. A module that calls one needs a
 * libjauth that has it; an older one refuses to load the module (dlopen:
 * "undefined symbol"), which names the function. JAUTH_M_SERVICES says
 * which set the headers offer.
 */
#define JAUTH_ABI_MAJOR 1
#define JAUTH_ABI_MINOR 1
#define JAUTH_ABI_VERSION ((uint32_t)(JAUTH_ABI_MAJOR << 16 | JAUTH_ABI_MINOR))
#define JAUTH_ABI_GET_MAJOR(v) ((uint32_t)(v) >> 16)
#define JAUTH_ABI_GET_MINOR(v) ((uint32_t)(v)&0xffffu)
#define JAUTH_MODULE_SYMBOL "jauth_module_entry"
/* The module services these headers declare: 2 adds JAUTH_ARG_FILE,
 * jauth_m_file_read, jauth_m_base64url_decode, jauth_m_fail_append and
 * jauth_m_status_warn; 3 adds secure memory (jauth_m_secure_alloc,
 * jauth_m_secure_strdup, jauth_m_secure_strndup, jauth_m_secure_free,
 * jauth_m_secure_base64) and jauth_m_json_print_secure. */
#define JAUTH_M_SERVICES 3

/* One module instance as the core sees it: its stack line, arguments, log,
 * error slot, HTTP connection and store. Opaque. */
typedef struct jauth_m jauth_m;

struct jauth_module {
	uint32_t abi; /* JAUTH_ABI_VERSION of the headers it was built with */
	const char *name;    /* e.g. "apitoken" */
	const char *version; /* the module's own version */

	/* Minor 0. */
	/* Checks the arguments (jauth_m_args) and sets up *state. No network.
	 * Returns JAUTH_CONFIG with a message when the arguments are wrong. */
	jauth_result (*open)(jauth_m *m, void **state);
	/* Frees the state; wipes secrets. */
	void (*close)(jauth_m *m, void *state);
	/* Publishes a credential with jauth_m_credential, refreshing it only if
	 * it is missing, near expiry or was rejected. acquire, refresh and
	 * revoke return one of the five line results (success … error).
	 * JAUTH_CONFIG with a message (jauth_m_http's, for a certificate
	 * that is not trusted, passed on) is error for the line's control
	 * and JAUTH_CONFIG for the caller of the stack; anything else,
	 * JAUTH_CONFIG without a message included, becomes JAUTH_ERROR
	 * (jauth-module(3), RESULTS). When a
	 * re-run fails, the core keeps serving a credential that has not
	 * expired unless the result says it is bad (denied; unavailable
	 * twice in a row) and backs off (jauth-module(3), WHEN A ROUND
	 * FAILS). */
	jauth_result (*acquire)(jauth_m *m, void *state);
	/* Like acquire, but gets a new credential now (re-reads a token, runs
	 * the refresh grant). */
	jauth_result (*refresh)(jauth_m *m, void *state);
	/* Forgets the grant or cached token; tells the admin the remaining
	 * steps with jauth_m_say. */
	jauth_result (*revoke)(jauth_m *m, void *state);
	/* Optional (NULL): the consent URL, malloc'd, in *url. */
	jauth_result (*authorize_begin)(jauth_m *m, void *state, char **url);
	/* Optional (NULL): finishes consent from the callback URL or query. */
	jauth_result (*authorize_finish)(jauth_m *m, void *state,
					 const char *callback);

	/* Minor 1. */
	/* Optional (NULL): adds the module's own fields to OUT, an object
	 * (e.g. "expires_at", "warnings": [..]). No network. */
	jauth_result (*status)(jauth_m *m, void *state, cJSON *out);
	/* Optional (NULL): Jira answered HTTP_STATUS to the last credential
	 * this instance published. Without it the core calls refresh next time.
	 */
	void (*rejected)(jauth_m *m, void *state, int http_status);
};

#if defined(__GNUC__)
#define JAUTH_MODULE_EXPORT __attribute__((visibility("default")))
#else
#define JAUTH_MODULE_EXPORT
#endif

/* ---- Arguments ------------------------------------------------------- */

/* Secret bytes: wiped when freed, registered for redaction when made. */
typedef struct jauth_m_secret jauth_m_secret;

enum jauth_arg_type {
	JAUTH_ARG_STRING = 1, /* any text */
	JAUTH_ARG_URL,	/* an https:// URL without userinfo, ?query or #fragment
			 */
	JAUTH_ARG_INT,	/* a decimal integer within [min, max] */
	JAUTH_ARG_BOOL, /* yes/no, true/false, 1/0, on/off */
	JAUTH_ARG_DATE, /* YYYY-MM-DD, a real calendar day */
	JAUTH_ARG_SECRET, /* @env:NAME, @file:PATH, @cred:NAME, or inline */
	JAUTH_ARG_FILE,	  /* the absolute path of a file the core reads for
			     the module (jauth_m_file_read) under its trust
			     rules */
};

#define JAUTH_ARG_REQUIRED 0x1u
/* JAUTH_ARG_FILE only: the file holds a secret. It must then have no
 * group/other access at all (like @file: secrets), and its contents are
 * masked in every log line. Without it the file must not be writable by
 * group or others (like stack files). */
#define JAUTH_ARG_PRIVATE 0x2u

/* One accepted key. A table of these ends with a zeroed entry. */
struct jauth_arg_spec {
	const char *key;
	int type;	    /* enum jauth_arg_type */
	unsigned flags;	    /* JAUTH_ARG_REQUIRED, JAUTH_ARG_PRIVATE */
	const char *def;    /* default text, or NULL */
	long long min, max; /* JAUTH_ARG_INT only; both 0 means any */
};

/*
 * Checks the line's arguments against SPEC: unknown keys (the message lists
 * the valid ones), missing required keys, malformed values, inline secrets
 * in a file group or others can read, and @file: secrets and
 * JAUTH_ARG_FILE files that exist but are not safely owned (a file missing
 * now is JAUTH_UNAVAILABLE when read). Returns JAUTH_SUCCESS or
 * JAUTH_CONFIG. Call it once, from open; the getters below read what it
 * accepted.
 */
JAUTH_EXPORT jauth_result jauth_m_args(jauth_m *m,
				       const struct jauth_arg_spec *spec);
/* The raw text of KEY (its default when not given), or NULL. */
JAUTH_EXPORT const char *jauth_m_arg(jauth_m *m, const char *key);
/* 1 if KEY was written on the line, else 0. */
JAUTH_EXPORT int jauth_m_arg_given(jauth_m *m, const char *key);
/* KEY as an integer: the value written on the line, else the spec's
 * default (def), else 0 when the key has no default. */
JAUTH_EXPORT long long jauth_m_arg_int(jauth_m *m, const char *key);
/* KEY as a boolean: the value on the line, else the default, else 0. */
JAUTH_EXPORT int jauth_m_arg_bool(jauth_m *m, const char *key);
/* KEY as the UTC midnight starting that day: the value on the line, else
 * the default, else -1. */
JAUTH_EXPORT time_t jauth_m_arg_date(jauth_m *m, const char *key);
/*
 * Reads the file named by the JAUTH_ARG_FILE argument KEY now, holding it
 * to the trust rules of its flags on the opened descriptor (regular file,
 * owned by root or the caller, every directory on the path checked, no
 * symlink followed), into *out: its exact bytes (at most 64 KiB; no
 * newline stripped; jauth_m_secret_len counts NUL bytes too), wiped when
 * freed with jauth_m_secret_free. A missing or empty file is
 * JAUTH_UNAVAILABLE, an untrusted one JAUTH_ERROR, a key that is not a
 * JAUTH_ARG_FILE argument or not given (and no default) JAUTH_ERROR — each
 * with a message naming the file and the key.
 */
JAUTH_EXPORT jauth_result jauth_m_file_read(jauth_m *m, const char *key,
					    jauth_m_secret **out);

/* ---- Secrets --------------------------------------------------------- */

/*
 * Resolves the secret argument KEY now: @env:NAME, @file:PATH (trailing
 * newline stripped; the file must be a regular file owned by root or the
 * caller with no group/other access), @cred:NAME (systemd's
 * $CREDENTIALS_DIRECTORY/NAME, read as a file) or the inline value. An
 * unset variable, missing file or missing $CREDENTIALS_DIRECTORY is
 * JAUTH_UNAVAILABLE with a message naming it.
 */
JAUTH_EXPORT jauth_result jauth_m_secret_get(jauth_m *m, const char *key,
					     jauth_m_secret **out);
/* The secret as a NUL-terminated string. */
JAUTH_EXPORT const char *jauth_m_secret_str(const jauth_m_secret *s);
JAUTH_EXPORT size_t jauth_m_secret_len(const jauth_m_secret *s);
/* 1 when both hold the same bytes (constant time in the length). */
JAUTH_EXPORT int jauth_m_secret_eq(const jauth_m_secret *a,
				   const jauth_m_secret *b);
/* Wipes and frees. NULL is accepted. */
JAUTH_EXPORT void jauth_m_secret_free(jauth_m_secret *s);
/* Where KEY's secret comes from, for messages: "environment variable
 * JIRA_TOKEN", "file /etc/…", or "the stack line". Never the value. */
JAUTH_EXPORT const char *jauth_m_secret_origin(jauth_m *m, const char *key);

/* Registers S so that it is masked wherever it would be logged. */
JAUTH_EXPORT void jauth_m_redact(jauth_m *m, const char *s);
/* Wipes a NUL-terminated string and frees it. NULL is accepted. */
JAUTH_EXPORT void jauth_m_wipe_free(char *s);

/* ---- Secure memory ---------------------------------------------------
 *
 * For the secrets a module keeps itself (tokens, request bodies, records):
 * the core's own allocator for secrets, on pages left out of core dumps
 * (MADV_DONTDUMP, which the kernel's core writer and gdb's gcore honour),
 * locked in RAM while RLIMIT_MEMLOCK allows (past it they are only left
 * out of dumps), and wiped when freed. It takes a lock: fine for a
 * refresh or a record, not for a path that runs on every acquire. Free
 * its blocks with jauth_m_secure_free only, and never pass one to free()
 * or jauth_m_wipe_free.
 */

/* N zeroed bytes of secure memory. Never NULL: the process aborts when
 * the system has no memory left, as the core's own allocations do. */
JAUTH_EXPORT void *jauth_m_secure_alloc(size_t n);
/* S copied into secure memory; NULL for a NULL S. */
JAUTH_EXPORT char *jauth_m_secure_strdup(const char *s);
/* At most N bytes of S and a NUL, in secure memory; NULL for a NULL S. */
JAUTH_EXPORT char *jauth_m_secure_strndup(const char *s, size_t n);
/* Wipes the whole block and frees it. NULL is accepted; a pointer that
 * did not come from these functions aborts the process. */
JAUTH_EXPORT void jauth_m_secure_free(void *p);
/* ITEM printed as unformatted JSON straight into secure memory (no copy
 * of the text on the heap; free with jauth_m_secure_free), or NULL when
 * ITEM is NULL or its text would exceed 4 MiB. Build a body that holds a
 * secret from cJSON_CreateStringReference items over secure strings, and
 * the secret reaches the heap nowhere. */
JAUTH_EXPORT char *jauth_m_json_print_secure(const cJSON *item);

/* ---- The credential --------------------------------------------------- */

struct jauth_m_cred {
	const char *scheme;   /* "Basic", "Bearer" */
	const char *token;    /* what follows the scheme in the header */
	const char *base_url; /* REST base URL */
	time_t expires_at;    /* 0: unknown */
	time_t refresh_at;    /* when the core should call acquire again; 0: at
				 expires_at. The core calls it at least once a
				 minute anyway, and no sooner than 10 s after
				 this call: a refresh_at in the past (or
				 within 10 s) counts as now + 10 s, but never
				 past expires_at. */
};

/* Publishes the credential of this acquire/refresh call; the core copies it
 * and registers the token for redaction. */
JAUTH_EXPORT jauth_result jauth_m_credential(jauth_m *m,
					     const struct jauth_m_cred *c);

/* ---- HTTPS ------------------------------------------------------------ */

struct jauth_m_http_req {
	const char *method;	   /* for messages; the request is a POST when
				      json is set, else a GET */
	const char *url;	   /* https:// only */
	const char *authorization; /* header value, or NULL */
	const char *json;    /* POST body (sent as application/json), or NULL */
	const char *ca_file; /* the CA certificates to trust instead of the
				system's, or NULL */
	int tries;	     /* attempts in all; 0 means the default (4) */
};

struct jauth_m_http_resp {
	long status; /* 0 when no response arrived */
	char *body;  /* NUL-terminated; at most 1 MiB */
	size_t len;
	long retry_after; /* seconds from Retry-After, or -1 */
	int uncertain;	  /* a try may have reached the server while its answer
			     was lost (timeout, dropped connection): a POST
			     may have taken effect */
};

/*
 * Makes the request over verified TLS, retrying connection failures, 5xx and
 * 429 with exponential backoff and jitter (honouring Retry-After), all tries
 * within one deadline shorter than the store's lock wait. Never follows
 * redirects. Returns JAUTH_SUCCESS when a final answer arrived (any status;
 * see rs->status), JAUTH_TRANSIENT when the network or the server's 5xx/429
 * outlasted the tries, JAUTH_CONFIG for a certificate that is not trusted
 * (pass it on: the stack's controls see it as error, the caller as a
 * configuration problem), JAUTH_ERROR for a refused URL or an oversized
 * header or body — each with a message in words that says what to do.
 * Free the response with jauth_m_http_free.
 */
JAUTH_EXPORT jauth_result jauth_m_http(jauth_m *m,
				       const struct jauth_m_http_req *rq,
				       struct jauth_m_http_resp *rs);
/* Wipes and frees the body. */
JAUTH_EXPORT void jauth_m_http_free(struct jauth_m_http_resp *rs);
/*
 * Sets the error message for an unwanted status: "WHAT: HTTP 403 from
 * https://…: invalid_grant: Unknown or invalid refresh token." (the server's
 * error and error_description when the body has them) and returns the
 * result the status means: 401/403 denied, 429/5xx transient, else error.
 */
JAUTH_EXPORT jauth_result jauth_m_http_fail(jauth_m *m, const char *what,
					    const struct jauth_m_http_req *rq,
					    const struct jauth_m_http_resp *rs);

/* ---- URLs --------------------------------------------------------------- */

/* BASE with the query built from key, value pairs, each percent-encoded;
 * the list ends at the first NULL key or value. malloc'd; NULL when out of
 * memory. */
JAUTH_EXPORT char *jauth_m_url_query(const char *base,
				     const char *const *pairs);
/*
 * Finds KEY in the query of URL (a full URL or a bare query string) and
 * decodes it into *value (malloc'd). JAUTH_UNAVAILABLE when absent,
 * JAUTH_ERROR when given more than once.
 */
JAUTH_EXPORT jauth_result jauth_m_url_param(const char *url, const char *key,
					    char **value);

/* ---- JSON --------------------------------------------------------------- */

/* Parses a response body; JAUTH_ERROR "WHAT is not JSON" otherwise. */
JAUTH_EXPORT jauth_result jauth_m_json_parse(jauth_m *m, const char *what,
					     const char *text, cJSON **out);
/* Field NAME of OBJ as a string, present exactly once:
 * "WHAT: field "NAME" is missing or not a string" otherwise (JAUTH_ERROR). */
JAUTH_EXPORT jauth_result jauth_m_json_str(jauth_m *m, const char *what,
					   const cJSON *obj, const char *name,
					   const char **out);
/* The same for a finite number. */
JAUTH_EXPORT jauth_result jauth_m_json_num(jauth_m *m, const char *what,
					   const cJSON *obj, const char *name,
					   double *out);
/* Wipes every string in the tree (values and keys), then frees it. NULL
 * is accepted. A parse tree lives on the heap (cJSON's allocator is the
 * process's, shared with the connector: jauth never changes its hooks),
 * so a tree that held a token was wiped, not kept out of a core dump,
 * during the microseconds it lived. Strings of reference items
 * (cJSON_CreateStringReference) are not the tree's and are left alone. */
JAUTH_EXPORT void jauth_m_json_free(cJSON *item);

/* ---- State store ----------------------------------------------------------
 */

/* A held lock on one record of the store. */
typedef struct jauth_m_lock jauth_m_lock;

/*
 * Reads this instance's record KEY (letters, digits, '.', '_', '-'); the
 * record is private to the service and module. *rec is NULL when there is
 * none. No lock is taken: the record may be replaced a moment later.
 */
JAUTH_EXPORT jauth_result jauth_m_store_load(jauth_m *m, const char *key,
					     cJSON **rec);
/*
 * Takes the record's lock, shared with every thread and process using the
 * same store (waiting up to 60 s, then JAUTH_TRANSIENT), then re-reads the
 * record into *rec (NULL when none). A record that cannot be read fails
 * the call. REC may be NULL: the record is not read, for a caller that
 * replaces or removes it whatever it holds (a new consent, a revoke: an
 * unreadable record must not block them). Release with
 * jauth_m_store_unlock.
 */
JAUTH_EXPORT jauth_result jauth_m_store_lock(jauth_m *m, const char *key,
					     jauth_m_lock **lk, cJSON **rec);
/*
 * jauth_m_store_lock, unless another holder has the lock: then waits until
 * it lets go and returns JAUTH_SUCCESS with *lk and *rec NULL, holding
 * nothing. For a caller whose work that holder may have done (a refresh
 * another process made): read the record again (jauth_m_store_load) and,
 * if it still needs the lock, call this again. Many waiters then read at
 * once instead of taking the lock in turn.
 */
JAUTH_EXPORT jauth_result jauth_m_store_lock_or_wait(jauth_m *m,
						     const char *key,
						     jauth_m_lock **lk,
						     cJSON **rec);
/* Replaces the record durably: when it returns, the new record survives a
 * crash or a power failure; on failure the previous one is in force. A
 * record larger than the store can read back (1 MiB) is refused, not
 * written. */
JAUTH_EXPORT jauth_result jauth_m_store_commit(jauth_m_lock *lk,
					       const cJSON *rec);
/* Notes REC as the record's intent mark (oauth3lo's "refresh sent"), seen
 * by every later load and lock until the next commit or remove. It
 * survives a crash of the process, not necessarily of the machine: after a
 * power failure the last committed record is in force. It never damages
 * the committed record. */
JAUTH_EXPORT jauth_result jauth_m_store_note(jauth_m_lock *lk,
					     const cJSON *rec);
/* Removes the record (durably). */
JAUTH_EXPORT jauth_result jauth_m_store_remove(jauth_m_lock *lk);
/* Releases the lock. NULL is accepted. */
JAUTH_EXPORT void jauth_m_store_unlock(jauth_m_lock *lk);

/* ---- Log, errors, admin text, clock ------------------------------------- */

/* Logs one line at LEVEL (enum jauth_log_level), prefixed with the service
 * and stack line, with every known secret masked. */
JAUTH_EXPORT void jauth_m_log(jauth_m *m, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Sets the failure message of this call (masked like the log) and returns R,
 * so that modules write: return jauth_m_fail(m, JAUTH_DENIED, "…"); */
JAUTH_EXPORT jauth_result jauth_m_fail(jauth_m *m, jauth_result r,
				       const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Adds ": TEXT" to the failure message set so far (by jauth_m_fail or a
 * service such as jauth_m_http_fail), or sets TEXT when there is none;
 * masked like the log; returns R. For the "what to do" half:
 *   rc = jauth_m_http_fail(m, "refresh", &rq, &rs);
 *   return jauth_m_fail_append(m, rc, "run jauth authorize %s again",
 *                              jauth_m_service(m)); */
JAUTH_EXPORT jauth_result jauth_m_fail_append(jauth_m *m, jauth_result r,
					      const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Appends a line to the "warnings" array of OUT, the object a status
 * member fills (made when missing). Returns JAUTH_ERROR when OUT is not an
 * object or its "warnings" is not an array. jauth_status masks known
 * secrets in the whole document. */
JAUTH_EXPORT jauth_result jauth_m_status_warn(cJSON *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Appends a line for the admin to the text revoke or authorize_finish hands
 * back (jauth_revoke's steps, jauth_authorize_finish's report). */
JAUTH_EXPORT void jauth_m_say(jauth_m *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The handle's clock: seconds since the epoch. */
JAUTH_EXPORT time_t jauth_m_now(jauth_m *m);
/* The service name, e.g. "jira". */
JAUTH_EXPORT const char *jauth_m_service(jauth_m *m);
/* The stack line, "FILE:LINE". */
JAUTH_EXPORT const char *jauth_m_source(jauth_m *m);

/* ---- Small helpers ----------------------------------------------------------
 */

/* Standard base64 of DATA, malloc'd; NULL when out of memory. */
JAUTH_EXPORT char *jauth_m_base64(const void *data, size_t len);
/* The same in secure memory (free with jauth_m_secure_free), for a secret
 * such as Basic's "email:token"; never NULL. */
JAUTH_EXPORT char *jauth_m_secure_base64(const void *data, size_t len);
/* Decodes base64url TEXT (RFC 4648 §5: '-' and '_', '=' padding optional,
 * as in a JWT's parts) into malloc'd bytes with a NUL after them, *len (may
 * be NULL) their count. NULL when TEXT is not base64url, or out of memory.
 * Wipe what held a secret before free. */
JAUTH_EXPORT void *jauth_m_base64url_decode(const char *text, size_t *len);
/* Fills OUT with 2*NBYTES hex digits of getrandom() bytes and a NUL.
 * Returns JAUTH_SUCCESS or JAUTH_ERROR. */
JAUTH_EXPORT jauth_result jauth_m_random_hex(char *out, size_t nbytes);

/* Text a server or a callback supplied, made safe to keep or show
 * (malloc'd, never NULL; NULL gives ""): every secret the instance knows
 * masked as in its log, then newline, return and tab written \n \r \t
 * and the other control characters (C0, DEL, C1, so ESC too) and bytes
 * that are not UTF-8 written \xHH or \u00HH, so one line stays one line
 * and nothing reaches a terminal that it would act on. M may be NULL (a
 * program that has no instance): then only the patterns of secrets are
 * masked. */
JAUTH_EXPORT char *jauth_m_clean(jauth_m *m, const char *s);
/* 1 when S has the form of an Atlassian cloud id: 1 to 64 letters, digits
 * and '-' (a UUID), so that it is safe in a URL path; else 0. */
JAUTH_EXPORT int jauth_m_cloud_id_ok(const char *s);

#ifdef __cplusplus
}
#endif

#endif
