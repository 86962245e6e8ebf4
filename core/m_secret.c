/* m_secret.c — resolving secret references (@env:, @file:, @cred:,
 * inline) into buffers that are wiped when freed and masked in every log
 * line. */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "internal.h"

#define SECRET_MAX (64 * 1024)

struct jauth_m_secret {
	size_t len;
	char *s;
};

static jauth_m_secret *secret_new(jauth_m *m, const char *s, size_t len)
{
	jauth_m_secret *sec = xmalloc(sizeof *sec);
	sec->s = secmem_strndup(s, len);
	sec->len = strlen(sec->s);
	redactor_add(&m->h->red, sec->s);
	return sec;
}

/*
 * systemd writes a credential 0400, owned by root, and when the unit runs
 * as another user gives that user read access by a POSIX ACL entry
 * (src/core/exec-credential.c, write_credential); stat then shows the
 * ACL's mask in the group bits (0440) although no group can read it. So
 * for a credential — and only there — group bits are read as what the ACL
 * grants: nothing to any group, and to no user but root and the caller.
 */
#define ACL_XATTR "system.posix_acl_access"
#define ACL_USER 0x02
#define ACL_GROUP_OBJ 0x04
#define ACL_GROUP 0x08
#define ACL_MASK 0x10

struct acl_entry { /* the kernel's posix_acl_xattr_entry, little-endian */
	uint16_t tag, perm;
	uint32_t id;
};

/* Who besides root and the caller can read FD through its ACL: a uid, a
 * gid, or -1 for nobody (with *group telling which); -2 when FD has no
 * ACL, so the group bits mean a group. */
static long acl_reader(int fd, gid_t gid, int *group)
{
	union {
		char raw[4 + 32 * sizeof(struct acl_entry)];
		uint32_t align;
	} a;
	ssize_t n = fgetxattr(fd, ACL_XATTR, a.raw, sizeof a.raw);
	if (n < 4)
		return -2;
	size_t count = ((size_t)n - 4) / sizeof(struct acl_entry);
	const struct acl_entry *e = (const void *)(a.raw + 4);
	unsigned mask = 7;
	for (size_t i = 0; i < count; i++)
		if (le16toh(e[i].tag) == ACL_MASK)
			mask = le16toh(e[i].perm);
	for (size_t i = 0; i < count; i++) {
		unsigned tag = le16toh(e[i].tag), id = le32toh(e[i].id);
		if (!(le16toh(e[i].perm) & mask & 4))
			continue;
		*group = tag != ACL_USER;
		if (tag == ACL_GROUP_OBJ || tag == ACL_GROUP ||
		    (tag == ACL_USER && id != 0 && id != geteuid()))
			return tag == ACL_GROUP_OBJ ? (long)gid : (long)id;
	}
	return -1;
}

/* Opens PATH under the trust rules KIND; for a credential, its group bits
 * must be an ACL's mask that lets no one else read it. Returns the
 * descriptor, or -1 with *why and errno (ENOENT: there is no such file). */
static int secret_open(const char *path, enum trust_kind kind, struct stat *st,
		       char **why)
{
	int fd = trust_open(path, kind, st, why);
	if (fd < 0 || kind != TRUST_CREDENTIAL || !(st->st_mode & 070))
		return fd;
	int group = 0;
	long who = acl_reader(fd, st->st_gid, &group);
	if (who == -1)
		return fd;
	close(fd);
	*why = who == -2 ? xasprintf("credential %s can be read by group %u "
				     "(mode %04o): systemd makes credentials "
				     "0400; fix whatever wrote it",
				     path, (unsigned)st->st_gid,
				     (unsigned)(st->st_mode & 07777))
			 : xasprintf("credential %s can be read by %s %ld "
				     "through its ACL: only the unit's user "
				     "may read it; remove that entry "
				     "(setfacl -x)",
				     path, group ? "group" : "user", who);
	errno = EPERM;
	return -1;
}

/* Reads PATH (argument KEY) under the trust rules KIND into B: at most
 * SECRET_MAX bytes. A missing or empty file is unavailable, an untrusted
 * one an error, each with its message; B is the caller's to wipe. */
static jauth_result read_trusted(jauth_m *m, const char *key, const char *path,
				 enum trust_kind kind, struct buf *b)
{
	char *why = NULL;
	struct stat st;
	const char *what = kind == TRUST_SECRET	      ? "secret file"
			   : kind == TRUST_CREDENTIAL ? "credential"
						      : "file";
	int fd = secret_open(path, kind, &st, &why);
	if (fd < 0 && errno == ENOENT && kind == TRUST_CREDENTIAL) {
		free(why);
		return jauth_m_fail(m, JAUTH_UNAVAILABLE,
				    "credential %s (%s=) does not exist: the "
				    "connector's unit needs LoadCredential= "
				    "(or LoadCredentialEncrypted=) of that "
				    "name",
				    path, key);
	}
	if (fd < 0 && errno == ENOENT) {
		free(why);
		return jauth_m_fail(m, JAUTH_UNAVAILABLE,
				    "%s %s (%s=) does not exist: create it%s",
				    what, path, key,
				    kind == TRUST_SECRET ? ", mode 0600" : "");
	}
	if (fd < 0) {
		jauth_m_fail(m, JAUTH_ERROR, "%s= %s", key, why);
		free(why);
		return JAUTH_ERROR;
	}
	int rc = read_capped(fd, SECRET_MAX, b);
	close(fd);
	if (rc < 0)
		return jauth_m_fail(m, JAUTH_ERROR, "%s %s (%s=): %s", what,
				    path, key,
				    errno == EFBIG ? "larger than 64 KiB: it "
						     "holds something else"
						   : strerror(errno));
	if (b->len == 0)
		return jauth_m_fail(m, JAUTH_UNAVAILABLE,
				    "%s %s (%s=) is empty: put %s in it", what,
				    path, key,
				    kind == TRUST_SECRET ? "the secret"
							 : "its contents");
	return JAUTH_SUCCESS;
}

/* Reads secret file PATH for argument KEY, under the trust rules KIND. */
static jauth_result secret_file(jauth_m *m, const char *key, const char *path,
				enum trust_kind kind, jauth_m_secret **out)
{
	struct buf b = { 0 };
	jauth_result rc = read_trusted(m, key, path, kind, &b);
	size_t len = b.len;
	if (len > 0 && b.s[len - 1] == '\n')
		len--;
	if (len > 0 && b.s[len - 1] == '\r')
		len--;
	if (rc == JAUTH_SUCCESS && (len == 0 || memchr(b.s, '\0', len)))
		rc = jauth_m_fail(m, JAUTH_UNAVAILABLE,
				  "%s %s (%s=) is %s: put the secret in it",
				  kind == TRUST_SECRET ? "secret file"
						       : "credential",
				  path, key, len ? "binary" : "empty");
	if (rc == JAUTH_SUCCESS)
		*out = secret_new(m, b.s, len);
	buf_wipe(&b);
	return rc;
}

/* 1 when NAME may name a credential: a file name (no '/', not "." or
 * "..") of printable characters, as systemd requires of its IDs. */
static int cred_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 255 || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return 0;
	for (const unsigned char *p = (const void *)name; *p; p++)
		if (*p == '/' || *p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

/* Where credential NAME is (malloc'd), or NULL with *why (malloc'd) and
 * *unset when the process was not started with credentials. */
static char *cred_path(const char *name, char **why, int *unset)
{
	const char *dir = secure_getenv("CREDENTIALS_DIRECTORY");
	*unset = 0;
	if (!cred_name_ok(name))
		*why = xasprintf("@cred:%s is not a credential name: a file "
				 "name of $CREDENTIALS_DIRECTORY, without '/', "
				 "not . or ..",
				 name);
	else if ((*unset = !dir || !*dir))
		*why = xasprintf(
			"not running under a unit with LoadCredential=: "
			"$CREDENTIALS_DIRECTORY is not set, so @cred:%s cannot "
			"be read; start the connector from its systemd unit "
			"(LoadCredential=%s:PATH), or use @file:PATH",
			name, name);
	else if (dir[0] != '/')
		*why = xasprintf("$CREDENTIALS_DIRECTORY (%s) is not an "
				 "absolute path: let systemd set it",
				 dir);
	else
		return xasprintf("%s/%s", dir, name);
	return NULL;
}

char *cred_problem(const char *name)
{
	int unset;
	char *why = NULL, *path = cred_path(name, &why, &unset);
	if (!path) {
		if (unset)
			wipe_free(why), why = NULL;
		return why;
	}
	struct stat st;
	int fd = secret_open(path, TRUST_CREDENTIAL, &st, &why);
	if (fd >= 0)
		close(fd);
	if (fd < 0 && errno == ENOENT)
		free(why), why = NULL; /* reported at acquire: unavailable */
	free(path);
	return why;
}

/* Reads systemd credential NAME for argument KEY. */
static jauth_result secret_cred(jauth_m *m, const char *key, const char *name,
				jauth_m_secret **out)
{
	int unset;
	char *why = NULL, *path = cred_path(name, &why, &unset);
	if (!path) {
		jauth_m_fail(m, unset ? JAUTH_UNAVAILABLE : JAUTH_ERROR,
			     "%s= %s", key, why);
		free(why);
		return unset ? JAUTH_UNAVAILABLE : JAUTH_ERROR;
	}
	jauth_result rc = secret_file(m, key, path, TRUST_CREDENTIAL, out);
	free(path);
	return rc;
}

jauth_result jauth_m_file_read(jauth_m *m, const char *key,
			       jauth_m_secret **out)
{
	const struct jauth_arg_spec *s = arg_spec(m, key);
	const char *path = jauth_m_arg(m, key);
	*out = NULL;
	if (!s || s->type != JAUTH_ARG_FILE || !path)
		return jauth_m_fail(m, JAUTH_ERROR,
				    "%s= is not a file argument given on the "
				    "line (the module asked for it)",
				    key);
	struct buf b = { 0 };
	jauth_result rc = read_trusted(m, key, path, arg_file_kind(s), &b);
	if (rc == JAUTH_SUCCESS) {
		jauth_m_secret *sec = xmalloc(sizeof *sec);
		sec->s = secmem_alloc(b.len + 1);
		memcpy(sec->s, b.s, b.len);
		sec->len = b.len;
		if (s->flags & JAUTH_ARG_PRIVATE)
			redactor_add(&m->h->red, sec->s);
		*out = sec;
	}
	buf_wipe(&b);
	return rc;
}

jauth_result jauth_m_secret_get(jauth_m *m, const char *key,
				jauth_m_secret **out)
{
	return secret_of(m, key, jauth_m_arg(m, key), out);
}

jauth_result secret_of(jauth_m *m, const char *key, const char *v,
		       jauth_m_secret **out)
{
	*out = NULL;
	if (!v)
		return jauth_m_fail(m, JAUTH_UNAVAILABLE,
				    "no %s= on the line: add it", key);
	if (strncmp(v, "@env:", 5) == 0) {
		const char *e = secure_getenv(v + 5);
		if (!e || !*e)
			return jauth_m_fail(m, JAUTH_UNAVAILABLE,
					    "environment variable %s (%s=) is "
					    "%s: set it in the connector's "
					    "environment",
					    v + 5, key,
					    e ? "empty" : "not set");
		*out = secret_new(m, e, strlen(e));
		return JAUTH_SUCCESS;
	}
	if (strncmp(v, "@file:", 6) == 0)
		return secret_file(m, key, v + 6, TRUST_SECRET, out);
	if (strncmp(v, "@cred:", 6) == 0)
		return secret_cred(m, key, v + 6, out);
	*out = secret_new(m, v, strlen(v));
	return JAUTH_SUCCESS;
}

const char *jauth_m_secret_origin(jauth_m *m, const char *key)
{
	const char *v = jauth_m_arg(m, key);
	static __thread char buf[512];
	if (v && strncmp(v, "@env:", 5) == 0)
		snprintf(buf, sizeof buf, "environment variable %s", v + 5);
	else if (v && strncmp(v, "@file:", 6) == 0)
		snprintf(buf, sizeof buf, "file %s", v + 6);
	else if (v && strncmp(v, "@cred:", 6) == 0)
		snprintf(buf, sizeof buf, "systemd credential %s", v + 6);
	else
		snprintf(buf, sizeof buf, "the stack line %s", m->line->source);
	return buf;
}

const char *jauth_m_secret_str(const jauth_m_secret *s)
{
	return s->s;
}

size_t jauth_m_secret_len(const jauth_m_secret *s)
{
	return s->len;
}

int jauth_m_secret_eq(const jauth_m_secret *a, const jauth_m_secret *b)
{
	if (!a || !b || a->len != b->len)
		return 0;
	unsigned char d = 0;
	for (size_t i = 0; i < a->len; i++)
		d |= (unsigned char)(a->s[i] ^ b->s[i]);
	return d == 0;
}

void jauth_m_secret_free(jauth_m_secret *s)
{
	if (!s)
		return;
	secmem_free(s->s);
	free(s);
}

/* ---- secrets the core itself needs (a store's key) ---- */

/* Reads secret file PATH (trust rules KIND) into secret memory. */
static int ref_file(const char *ref, const char *path, enum trust_kind kind,
		    char **val, size_t *len, char **why)
{
	struct stat st;
	struct buf b = { 0 };
	int fd = secret_open(path, kind, &st, why), rc = -1;
	if (fd < 0) {
		if (errno == ENOENT) {
			free(*why);
			*why = xasprintf("%s: %s does not exist", ref, path);
			return -2;
		}
		return -1;
	}
	if (read_capped(fd, SECRET_MAX, &b) < 0)
		*why = xasprintf("%s: %s", ref,
				 errno == EFBIG ? "larger than 64 KiB"
						: strerror(errno));
	else
		rc = 0;
	close(fd);
	size_t n = b.len;
	while (n > 0 && (b.s[n - 1] == '\n' || b.s[n - 1] == '\r'))
		n--;
	if (rc == 0 && n == 0) {
		*why = xasprintf("%s: %s is empty", ref, path);
		rc = -2;
	}
	if (rc == 0) {
		*val = secmem_alloc(n + 1);
		memcpy(*val, b.s, n);
		*len = n;
	}
	buf_wipe(&b);
	return rc;
}

int secret_ref_read(const char *ref, char **val, size_t *len, char **why)
{
	*val = NULL;
	*why = NULL;
	if (strncmp(ref, "@env:", 5) == 0) {
		const char *e = secure_getenv(ref + 5);
		if (!e || !*e) {
			*why = xasprintf("%s: the environment variable is not "
					 "set",
					 ref);
			return -2;
		}
		*len = strlen(e);
		*val = secmem_strdup(e);
		return 0;
	}
	if (strncmp(ref, "@file:", 6) == 0 && ref[6] == '/')
		return ref_file(ref, ref + 6, TRUST_SECRET, val, len, why);
	if (strncmp(ref, "@cred:", 6) == 0) {
		int unset;
		char *path = cred_path(ref + 6, why, &unset);
		if (!path)
			return unset ? -2 : -1;
		int rc = ref_file(ref, path, TRUST_CREDENTIAL, val, len, why);
		free(path);
		return rc;
	}
	*why = xasprintf("%.40s is not @file:/PATH, @env:NAME or @cred:NAME",
			 *ref == '@' ? ref : "an inline value");
	return -1;
}
