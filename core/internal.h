/*
 * internal.h — the core's own types and the contracts between its files.
 * Nothing here is exported; see docs/ARCHITECTURE.md for the big picture.
 */
#ifndef JAUTH_INTERNAL_H
#define JAUTH_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <jauth/jauth.h>
#include <jauth/module.h>

#define JAUTH_NRESULTS 5    /* success … error: what a line can return */
#define JAUTH_MAX_DEPTH 16  /* include/substack nesting */
#define JAUTH_MAX_LINE 8192 /* bytes of one logical stack line */
#define JAUTH_MAX_STACK_FILE (1024 * 1024)
#define JAUTH_MAX_LINES 256 /* module lines in one stack, after includes */
#define JAUTH_REVALIDATE                                                       \
	60 /* seconds a stack's credential is trusted before the stack runs    \
	      again */
#define JAUTH_RELOAD_EVERY 1 /* seconds between checks of the stack files */

#ifndef JAUTH_MODULEDIR
#define JAUTH_MODULEDIR "/usr/local/lib/jauth/modules"
#endif
#define JAUTH_DEFAULT_CONF_PATH "/etc/jauth.d:/usr/lib/jauth.d"

/* ---- util.c ---- */

/* malloc/calloc/strdup that never return NULL: they abort on exhaustion,
 * which is what every caller would do anyway. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* vasprintf/asprintf into a fresh string; never NULL. */
char *xvasprintf(const char *fmt, va_list ap);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Wipes strlen(s) bytes and frees. */
void wipe_free(char *s);

#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define DIGITS "0123456789"
#define ALNUM LOWER UPPER DIGITS

/* 1 when the N bytes of S (1 <= N <= MAX) all belong to SET. */
int chars_ok(const char *s, size_t n, size_t max, const char *set);

/* Length of the UTF-8 sequence at S (at most N bytes, N >= 1), or 0 if
 * it is not valid UTF-8 (overlong forms and surrogates included). */
size_t utf8_len(const unsigned char *s, size_t n);

/* S with what a terminal would act on made visible (malloc'd): newline,
 * return and tab as \n \r \t, other C0 controls, DEL and bytes that are
 * not UTF-8 as \xHH, C1 controls as \u0080…\u009f. Text a server or a
 * callback supplied then prints as one line that cannot move the cursor,
 * retitle the window or pass for a line of jauth's own. */
char *text_clean(const char *s);
/* text_clean on every string value of the JSON tree ITEM, in place. */
void json_clean(cJSON *item);

/* A growable string. */
struct buf {
	char *s;
	size_t len, cap;
};
void buf_add(struct buf *b, const char *s, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Appends all of FD to OUT. Returns 0, or -1 with errno (EFBIG when it
 * holds more than MAX bytes); OUT is the caller's to wipe either way. */
int read_capped(int fd, size_t max, struct buf *out);
/* Hands over the string (never NULL) and empties the buffer. */
char *buf_take(struct buf *b);
void buf_wipe(struct buf *b);

/* A list of problems "FILE:LINE: …"; in fail-fast mode only the first one
 * is kept and problems_full() turns true. */
struct problems {
	char **v;
	size_t n;
	int all; /* lint: keep going after a problem */
};
void problem(struct problems *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* 1 when the caller should stop: a problem is recorded and not linting. */
int problems_stop(const struct problems *p);
/* All problems joined by newlines (malloc'd), "" when none. */
char *problems_join(const struct problems *p);
void problems_free(struct problems *p);

/* Seconds since the epoch, read without a system call (vDSO). */
time_t coarse_now(void);

/* ---- secmem.c: memory for secrets ---- */

/* Zeroed memory on pages left out of core dumps (and locked in RAM while
 * RLIMIT_MEMLOCK allows), for the bytes of a secret; never NULL (aborts
 * on exhaustion, as xmalloc). Not for the cached acquire path: it takes
 * a lock. */
void *secmem_alloc(size_t n);
/* Wipes and frees a block of secmem_alloc. NULL is accepted. */
void secmem_free(void *p);
/* strdup/strndup into secret memory. */
char *secmem_strdup(const char *s);
char *secmem_strndup(const char *s, size_t n);
/* A, SEP and B joined, in secret memory. */
char *secmem_join(const char *a, const char *sep, const char *b);
/* Zeroes the CPU's vector registers, where copying, comparing or
 * measuring a secret leaves pieces of it (glibc's string functions move
 * up to 64 bytes a register); a core file holds every thread's registers.
 * Called when a module call or a stack run is done with its secrets. */
void secmem_scrub_registers(void);

/* ---- trust.c: the ownership and mode checks of DESIGN §3 ---- */

enum trust_kind {
	TRUST_CONFIG, /* regular file, not writable by group/others */
	TRUST_MODULE, /* same */
	TRUST_SECRET, /* regular file, no group/other access at all; may
			 belong to another user in a directory only root or
			 the caller can write */
	TRUST_CA,     /* like a stack file: CA certificates for ca_file= */
	TRUST_FILE,   /* like a stack file: a JAUTH_ARG_FILE argument's */
	TRUST_CREDENTIAL, /* a systemd credential: as a secret, but its group
			     bits may be an ACL's mask (m_secret.c checks) */
};

/*
 * Opens PATH for loading, walking every directory from / with O_NOFOLLOW
 * and checking each, then the file itself on the opened descriptor:
 * read-only for a stack or secret, O_PATH for a module (dlopen reopens it).
 * Returns the descriptor, or -1 with *why set (malloc'd) and errno (ENOENT
 * when the file simply does not exist).
 */
int trust_open(const char *path, enum trust_kind kind, struct stat *st,
	       char **why);
/*
 * Opens directory PATH (absolute) for use with openat: walked like
 * trust_open, every directory on the way checked, links followed and their
 * directories checked too; missing directories made (0700) when CREATE.
 * The last one is only described in *st: the caller decides what it needs
 * of it. Returns an O_RDONLY|O_DIRECTORY descriptor, or -1 with *why
 * (malloc'd) and errno.
 */
int trust_open_dir(const char *path, int create, struct stat *st, char **why);
/*
 * Between trust_cache_begin and trust_cache_end (one jauth_open), this
 * thread's walks keep the descriptors of the directories they checked and
 * step into them again without a second open and check: a directory found
 * from a checked descriptor under the same name is the one checked. The
 * rules are those of a single walk. Returns the token for trust_cache_end.
 */
void *trust_cache_begin(void);
void trust_cache_end(void *token);
/* trust_open, then reads the whole file (at most MAX bytes) into OUT.
 * Returns 0, or -1 with *why set (malloc'd). */
int trust_read(const char *path, enum trust_kind kind, size_t max,
	       struct buf *out, char **why);

/* ---- confpath.c ---- */

/* 1 when NAME is a valid service name. */
int service_name_ok(const char *name);
/* The conf path in force: OPT, else $JAUTH_CONF_PATH, else the default. */
const char *conf_path_of(const char *opt);
/* The module path in force. */
const char *module_path_of(const char *opt);
/* The first existing file named SERVICE on PATH (malloc'd), or NULL. */
char *conf_find(const char *path, const char *service);
/* The file to open for SERVICE (malloc'd), or NULL: conf_find, except that
 * when PATH is one directory its DIR/SERVICE is the answer unlooked-at
 * (there is nothing to choose): whoever opens it and fails asks
 * conf_exists whether it is missing (the walk of an open is the look). */
char *conf_pick(const char *path, const char *service);
/* 1 when F exists (as conf_find looks: a link counts, whatever it leads
 * to), or may: one behind a directory this user cannot search counts. */
int conf_exists(const char *f);

/* ---- redact.c ---- */

#define REDACT_SLOTS 64

/* The values to mask in every line that leaves the library. */
struct redactor {
	pthread_mutex_t mu;
	char *v[REDACT_SLOTS];
	size_t next;
};
void redactor_init(struct redactor *r);
void redactor_fini(struct redactor *r);
/* Remembers S (strings under 4 bytes are not worth masking). */
void redactor_add(struct redactor *r, const char *s);
/* Returns a masked copy of S (malloc'd), cleaned with text_clean so that
 * it prints as one line. R may be NULL: patterns only. */
char *redact(struct redactor *r, const char *s);
/* The same without the cleaning, for a JSON document (whose strings the
 * caller cleans with json_clean). */
char *redact_doc(struct redactor *r, const char *s);
/* Registers what of TOK, a stack token the parser refused, may be a
 * secret (see redact.c). */
void redactor_add_token(struct redactor *r, const char *tok);
/* redact() on the problems of P from index FROM on, in place. */
void problems_redact(struct redactor *r, struct problems *p, size_t from);

/* ---- the stack ---- */

enum action {
	ACT_OK,
	ACT_DONE,
	ACT_BAD,
	ACT_DIE,
	ACT_IGNORE,
	ACT_RESET,
	ACT_JUMP
};

struct control {
	unsigned char act[JAUTH_NRESULTS];   /* enum action by jauth_result */
	unsigned short jump[JAUTH_NRESULTS]; /* lines to skip, for ACT_JUMP */
	int bare;   /* "substack NAME" without a control: PAM's substack */
	char *text; /* as written, for status */
};

/* Parses the control token TOK of line SRC into C. Returns 0, or -1 after
 * recording a problem (C is then all ok, with no jump). */
int control_parse(const char *src, const char *tok, struct control *c,
		  struct problems *p);
/* The longest jump of C (0 if none), with the result key it is for. */
unsigned control_max_jump(const struct control *c, const char **key);

struct arg {
	char *key, *value;
};

struct stack;

/* A loaded module file. */
struct module {
	void *dl;
	const struct jauth_module *ops;
	uint32_t minor;
	char *path;
};

struct line {
	char *source; /* "FILE:LINE" */
	struct control ctl;
	char *modname;	   /* as written, or the substack's service */
	struct stack *sub; /* substack line, else NULL */
	struct module mod; /* module line */
	struct arg *args;
	size_t nargs;
	int file_mode;	     /* mode of the file the line is in */
	struct jauth_m *m;   /* the module instance */
	struct store *store; /* the top stack's store; NULL: the handle's */
};

/* A file the stack was built from, to notice edits. */
struct stamp {
	char *path;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};

struct stack {
	char *service;
	char *file;
	struct line *
		*lines; /* each its own allocation: instances point at them */
	size_t n;
	struct stamp *stamps; /* top-level stack only */
	size_t nstamps;
	int refs; /* under the handle's mu */
	uint64_t id;
	pthread_mutex_t run_mu; /* one call into its modules at a time */
	struct store
		*store; /* top stack only: its store directive's, or NULL */
};

struct jauth;

/*
 * Parses SERVICE's stack from the conf path, with every include and
 * substack, loading and opening each line's module. Problems go to P (in
 * lint mode parsing goes on after them). Returns the stack, or NULL when
 * any problem was found.
 */
struct stack *stack_load(struct jauth *h, const char *service,
			 struct problems *p);
/* Closes the modules and frees the stack. NULL is accepted. */
void stack_free(struct stack *st);
/* 1 when a file the stack was read from changed, or the service's stack
 * would now be found in another file. (Module files and files that would
 * shadow an include are not watched.) */
int stack_changed(struct jauth *h, const struct stack *st);

/* ---- lex.c: the tokenizer ---- */

struct lexer {
	const char *file;
	const char *p, *end;
	int lineno; /* line the next logical line starts on */
};

struct tokens {
	char **v;
	size_t n, cap;
	int lineno; /* where the logical line started */
};

void lexer_init(struct lexer *lx, const char *file, const char *text,
		size_t len);
/*
 * Reads the next logical line into T. Returns 1 with T filled (maybe with
 * no tokens, for blank and comment lines), 0 at the end, -1 on an error
 * recorded in P (the lexer then skips to the next line).
 */
int lexer_next(struct lexer *lx, struct tokens *t, struct problems *p);
void tokens_clear(struct tokens *t);
void tokens_free(struct tokens *t);

/* ---- loader.c ---- */

/*
 * Finds NAME (bare "x.so" on the module path, or an absolute path), checks
 * it, dlopens it from the checked descriptor and checks its ABI. Returns 0,
 * or -1 with *why set (malloc'd).
 */
int module_load(const char *module_path, const char *name, struct module *out,
		char **why);
void module_unload(struct module *mod);
/* dlopens the checked descriptor FD (of the file ST) by its /proc name,
 * RTLD_NOW|RTLD_LOCAL; the object stays loaded. NULL with *why. */
void *dlopen_fd(int fd, const struct stat *st, char **why);

/* ---- private.c: libjauth's own objects, loaded on first use ---- */

/* Opens NAME (e.g. "http.so") from the directory "jauth" next to the
 * running libjauth, with the checks of a module. NULL with *why set. */
void *private_open(const char *name, char **why);
/* The symbol SYM of the object NAME opened as DL, or NULL with *why. */
void *private_sym(void *dl, const char *name, const char *sym, char **why);
/* "1.1" style text of an ABI version, in BUF. */
const char *abi_text(uint32_t abi, char *buf, size_t n);

/* ---- the module instance, m.c ---- */

enum op { OP_ACQUIRE, OP_REFRESH, OP_REVOKE, OP_OPEN, OP_OTHER };

/* What one call into the stack collects. */
struct run {
	struct jauth *h;
	enum op op;
	struct jauth_cred *cred;   /* published by the current line */
	char *msg;		   /* failure message of the current line */
	struct buf say;		   /* admin text */
	struct problems *problems; /* OP_OPEN: where argument problems go */
	int config; /* a line returned JAUTH_CONFIG (e.g. an untrusted
		       certificate, an unusable state directory): its
		       controls see error, the caller config */
};

struct jauth_m {
	struct jauth *h;
	struct line *line;
	const struct jauth_module *ops;
	uint32_t minor;
	void *state;
	int open;
	const struct jauth_arg_spec *spec;
	void *curl;
	struct ca_cache *ca; /* http.c: the last ca_file= read and checked */
	struct run *run;     /* the call in progress */
	int rejected;	 /* the core's note when the module has no rejected() */
	char *store_prefix; /* "SERVICE.MODULE" */
};

/* ---- m_args.c, m_secret.c ---- */

/* The accepted key KEY of M's argument table, or NULL. */
const struct jauth_arg_spec *arg_spec(jauth_m *m, const char *key);
/* Why the secret value V, written in a stack file of mode FILE_MODE, is
 * refused (malloc'd), or NULL: the rules of a module's secret argument,
 * for a secret outside a module line (store pgsql password=). */
char *secret_ref_problem(struct jauth *h, const char *v, int file_mode);
/* The trust rules a JAUTH_ARG_FILE argument's file is held to. */
#define arg_file_kind(s)                                                       \
	((s)->flags & JAUTH_ARG_PRIVATE ? TRUST_SECRET : TRUST_FILE)
/* Why @cred:NAME is refused at open (malloc'd), or NULL: a bad NAME, or
 * a credential that exists but fails the trust rules. Not running under
 * a unit is not a problem yet: it makes the secret unavailable. */
char *cred_problem(const char *name);
/* Reads the secret reference REF (@file:/PATH, @env:NAME, @cred:NAME;
 * never an inline value) for the core itself, into *VAL (secret memory,
 * *LEN bytes, NUL-terminated; secmem_free it). Returns 0; -2 when the
 * source is not there (unset, missing, empty); -1 when it is refused. Both
 * with *why (malloc'd). */
int secret_ref_read(const char *ref, char **val, size_t *len, char **why);

/* Frees what a run collected (message, admin text), wiping it. */
void run_clear(struct run *r);
/* Makes the instance of LN and runs the module's open. Problems go to P. */
int m_open(struct jauth *h, struct line *ln, struct problems *p);
/* Runs the module's close and frees the instance. NULL is accepted. */
void m_close(struct jauth_m *m);
/* Calls the module's acquire/refresh/revoke for the run R. */
jauth_result m_call(struct jauth_m *m, struct run *r);
/* The module's status (if it has one) into OUT. */
void m_status(struct jauth_m *m, cJSON *out);
/* Passes a rejection on to the module, or notes it for the next call. */
void m_rejected(struct jauth_m *m, int http_status);

/* ---- credentials ---- */

struct jauth_cred {
	int refs;	    /* under the handle's mu */
	time_t expires_at;  /* 0: unknown */
	time_t refresh_at;  /* 0: never */
	time_t fresh_until; /* when the hot path stops trusting it */
	uint64_t stack_id;
	struct jauth_m *m; /* valid while stack_id is the live stack's */
	char *authorization, *scheme, *base_url, *source, *module;
};

struct jauth_cred *cred_new(const struct jauth_m_cred *c, const char *source,
			    const char *module);
void cred_free(struct jauth_cred *c);

/* ---- dispatch.c ---- */

/* Runs ST for R->op with PAM's semantics. On success R->cred holds the
 * stack's credential; on failure R->msg says why. */
jauth_result dispatch(struct stack *st, struct run *r);

/* ---- the handle ---- */

/* A thread's view of a handle: its credential reference and error text.
 * Owned by the handle (h->tcs) and found by its thread at slot h->slot of
 * the thread's table; both links change only under the registry's lock
 * (handle.c), so a thread exiting and jauth_close never both free one. */
struct tc {
	struct jauth *h;
	uint64_t gen;
	struct jauth_cred *cred;
	time_t fresh_until;
	char *err;
	struct tls *tls; /* the table of the thread it belongs to */
	struct tc *next, *prev;
};

/* One thread's records, indexed by handle slot: the value of the one
 * process-wide thread key. */
struct tls {
	size_t n;
	struct tc **v;
};

extern pthread_key_t tls_key;

/* This thread's record for the handle in SLOT, or NULL; no lock, no
 * system call. */
static inline struct tc *tc_find(uint32_t slot)
{
	struct tls *t = pthread_getspecific(tls_key);
	return t && slot < t->n ? t->v[slot] : NULL;
}

#define JAUTH_BACKOFF_MAX 30 /* seconds: the longest wait after failures */
#define JAUTH_RERUN_MIN 10   /* seconds: the soonest a refresh_at counts */

struct jauth {
	/* Read by every acquire; written rarely. */
	_Atomic uint64_t gen;
	_Atomic time_t next_check;
	uint32_t slot; /* index into each thread's table */
	jauth_clock_fn *clock;
	void *clock_ctx;
	int dead;

	pthread_mutex_t mu; /* cur, stack, round, backoff, reload notes */
	struct jauth_cred *cur;
	struct stack *stack;
	uint64_t round;
	jauth_result round_rc;
	char *round_msg;
	unsigned failures; /* failed rounds in a row */
	time_t retry_at;   /* after a failure: no new round before this */
	struct tc *tcs;	   /* under the registry's lock */
	char *reload_error;
	struct stamp refused; /* the file of the refused edit */
	uint64_t next_stack_id;

	char *service;
	char *conf_path;
	char *module_path;
	char *state_dir;
	struct store *store;
	unsigned flags;
	jauth_log_fn *log;
	void *log_ctx;
	int log_level;
	struct redactor red;
};

/* A handle with its lock, slot and settings, but no stack; NULL when
 * out of resources. */
struct jauth *handle_new(const char *service, const struct jauth_options *opt);
/* The handle's clock. */
time_t handle_now(const struct jauth *h);
/* This thread's view of H, made on first use; NULL when out of memory. */
struct tc *tc_get(struct jauth *h);
/* Sets this thread's error text for H (redacted). */
void handle_set_error(struct jauth *h, const char *msg);
void handle_set_errorf(struct jauth *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The C API's check of its handle and out pointer: 1 when both are
 * there; else 0, and for a NULL OUT the error says that CALL needs a
 * place for WHAT ("pass PASS, not NULL"). */
void handle_no_place(struct jauth *h, const char *call, const char *what,
		     const char *pass);
static inline int handle_and_out(struct jauth *h, const void *out,
				 const char *call, const char *what,
				 const char *pass)
{
	if (h && out)
		return 1;
	if (h)
		handle_no_place(h, call, what, pass);
	return 0;
}
/* Points TC at credential C (taking a reference); under h->mu. */
void tc_take(struct tc *tc, struct jauth_cred *c, uint64_t gen);
/* Drops a credential reference; under h->mu. */
void cred_unref(struct jauth_cred *c);
/* Makes ST the handle's stack-to-be: one reference, a fresh id, its run
 * lock. Under h->mu (or before the handle is shared). */
void stack_adopt(struct jauth *h, struct stack *st);
/* Takes a reference on the live stack. */
struct stack *stack_get(struct jauth *h);
/* stack_get for a call of the API: first looks for an edit of the stack
 * (reload_check, at most once a second), so that the call runs the
 * edited stack or reports why it was refused. */
struct stack *stack_for_call(struct jauth *h);
/* Drops a reference taken by stack_get (or adopt), freeing the stack with
 * the last one. Not under h->mu. NULL is accepted. */
void stack_put(struct jauth *h, struct stack *st);
/* Forgets the failures of past rounds (a success, an edit, a consent);
 * under h->mu. */
void backoff_reset(struct jauth *h);
/* admin.c: an admin call takes a reference on the live stack and its
 * run_mu; admin_end drops both (DROP_CRED: the next acquire runs the
 * stack). */
struct stack *admin_begin(struct jauth *h);
void admin_end(struct jauth *h, struct stack *st, int drop_cred);
/* Swaps in a new stack if the files changed; called at most once a second. */
void reload_check(struct jauth *h);
/* The note of a refused edit left by a running process's handle (another
 * one, or this), or NULL when there is none or it no longer holds: that
 * process exited, or the file changed since. */
cJSON *reload_note_read(struct jauth *h);

/* ---- log.c ---- */

/* Logs one line for H at LEVEL (masked). H may be NULL: stderr at warn. */
void hlog(struct jauth *h, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void vhlog(struct jauth *h, int level, const char *fmt, va_list ap);
/* The level in force for OPT_LEVEL (JAUTH_DEBUG=1 turns on debug). */
int log_level_of(int opt_level);

/* ---- store/: the state store (store/store.h is the backend interface) ---- */

/* A handle's store: the backend in force and its state. */
struct store;
/* Opens the store SPEC names for H ("NAME [CONF]", as the stack's `store`
 * directive gives it; NULL: the default, files in the state directory).
 * Returns NULL with *why (malloc'd) when SPEC names no backend or its
 * configuration is wrong. */
struct store *store_open(struct jauth *h, const char *spec, char **why);
/* NULL is accepted. */
void store_close(struct store *s);
/* What the store S needs at first use, opened ahead when it can be
 * (jauth_open, while its walks share their directories). NULL accepted. */
void store_warm(struct store *s);

/* The state directory in force for OPT (malloc'd): OPT, else
 * $JAUTH_STATE_DIR, else systemd's $STATE_DIRECTORY, else /var/lib/jauth
 * (root) or XDG_STATE_HOME/jauth or ~/.local/state/jauth; "" when none
 * (no usable HOME): the store then says to set JAUTH_STATE_DIR or -s. */
char *state_dir_of(const char *opt);
/* The handle's own small files in DIR (not module records): read (NULL
 * when missing or not the caller's), replaced atomically (0 or -1),
 * removed. */
char *state_file_read(const char *dir, const char *name);
int state_file_write(const char *dir, const char *name, const char *text);
void state_file_remove(const char *dir, const char *name);
/* The stack line "store NAME ARG…" (tokens TOK[0..N)) of SRC: opens that
 * backend into *S (left NULL for "store files": the handle's default).
 * Loads nothing but the backend's code; no I/O. Returns 0, or -1 after a
 * problem. */
int store_directive(struct jauth *h, const char *src, char **tok, size_t n,
		    struct store **s, struct problems *p);
/* The store of ST for jauth_status: backend, where, and (PostgreSQL)
 * each record's generation, lock holder, last writer — unless BUSY (a
 * call into the modules runs: the store's session is theirs). */
cJSON *store_status(struct jauth *h, struct stack *st, int busy);
/* For jauth_status: whether ST's store has a key and which of the
 * service's records are sealed ({"key", "records":[{"name","sealed"}]};
 * no records while BUSY). */
cJSON *seal_status(struct jauth *h, struct stack *st, int busy);

/* ---- m_secret.c ---- */

/* Resolves the secret reference V (@env:, @file:, @cred:, inline) given as
 * KEY= (for messages) in the context of M: what jauth_m_secret_get does
 * for a line's argument. */
jauth_result secret_of(jauth_m *m, const char *key, const char *v,
		       jauth_m_secret **out);

/* ---- http.c: the one HTTP client (the transfer itself is http.so's) ---- */

/* The grant's lock is waited for at most JAUTH_LOCK_WAIT_S (store.c); a
 * holder's whole HTTP exchange — every try, timeout and backoff, Retry-After
 * included — ends within JAUTH_HTTP_BUDGET_MS, strictly less. */
#define JAUTH_LOCK_WAIT_S 60
#define JAUTH_HTTP_TRIES 4
#define JAUTH_HTTP_TRY_MS 12000L    /* one try, connect included */
#define JAUTH_HTTP_CONNECT_MS 8000L /* the connect phase of a try */
#define JAUTH_HTTP_BACKOFF_MS 250L  /* first pause; doubling, capped: */
#define JAUTH_HTTP_BACKOFF_MAX_MS 2000L
#define JAUTH_HTTP_BUDGET_MS 50000L
#define JAUTH_HTTP_LOW_SPEED_BPS 64 /* abort below this many bytes/s… */
#define JAUTH_HTTP_LOW_SPEED_S 6    /* …for this many seconds */
#define JAUTH_HTTP_MAX_BODY (1024 * 1024)
#define JAUTH_HTTP_MAX_HEADER (64 * 1024)

/* Closes a connection the module instance kept. NULL is accepted. */
void http_close(void *conn);
/* Frees what http.c remembers of a ca_file= (NULL: nothing). */
void ca_cache_free(struct ca_cache *ca);

#endif
