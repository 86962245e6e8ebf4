/*
 * secmem.c — memory for secrets: pages of their own, left out of core
 * dumps (MADV_DONTDUMP, which the kernel's core writer and gdb's gcore
 * both honour), locked in RAM while RLIMIT_MEMLOCK allows it (so not
 * swapped out; past the limit they are only left out of dumps), and wiped
 * when a block is freed.
 *
 * Blocks of 32 B to 4 KiB come from arenas, one free list per
 * power-of-two class; a larger block gets a mapping of its own. The first
 * arena is one page and each next one four times the last, up to 64 KiB:
 * locking a page faults it in, and a process that reads two secrets
 * should not pay for sixteen pages at its first open. One
 * mutex: secrets are allocated when a secret is read or a credential
 * published, never on the cached acquire path.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

#define ARENA (64 * 1024)
#define MIN_SHIFT 5 /* 32 B */
#define MAX_SHIFT 12
#define NCLASS (MAX_SHIFT - MIN_SHIFT + 1)
#define MAGIC 0x5ec3e7b10c5ULL

/* Before every block; the block's bytes follow. */
struct head {
	uint64_t magic;
	size_t size; /* the whole block, head included */
};

struct free_block {
	struct head h;
	struct free_block *next;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct free_block *free_list[NCLASS];
static char *arena_next, *arena_end;
static size_t arena_size = 4096; /* of the next arena */
static _Atomic int lock_failed; /* mlock refused once: do not ask again */

/* N bytes of fresh pages, out of dumps and locked if allowed; NULL when
 * the system has no memory left. */
static void *pages(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	(void)madvise(p, n, MADV_DONTDUMP);
	if (!lock_failed && mlock(p, n) != 0)
		lock_failed = 1;
	return p;
}

/* The class of a block of N bytes (head included), or -1: too large. */
static int class_of(size_t n)
{
	for (int c = 0; c < NCLASS; c++)
		if (n <= (size_t)1 << (c + MIN_SHIFT))
			return c;
	return -1;
}

/* A block of class C, under mu. */
static struct head *carve(int c)
{
	size_t size = (size_t)1 << (c + MIN_SHIFT);
	if (free_list[c]) {
		struct free_block *f = free_list[c];
		free_list[c] = f->next;
		f->next = NULL;
		return &f->h;
	}
	if (!arena_next || (size_t)(arena_end - arena_next) < size) {
		size_t len = arena_size < size ? size : arena_size;
		char *a = pages(len);
		if (!a)
			return NULL;
		arena_next = a; /* the old arena's tail stays unused */
		arena_end = a + len;
		if (arena_size < ARENA)
			arena_size *= 4;
	}
	struct head *h = (struct head *)arena_next;
	arena_next += size;
	h->size = size;
	return h;
}

void *secmem_alloc(size_t n)
{
	size_t need = sizeof(struct head) + (n ? n : 1);
	int c = class_of(need);
	struct head *h;
	if (c < 0) {
		size_t len = (need + 4095) & ~(size_t)4095;
		if (!(h = pages(len)))
			abort();
		h->size = len;
	} else {
		pthread_mutex_lock(&mu);
		h = carve(c);
		pthread_mutex_unlock(&mu);
		if (!h)
			abort();
	}
	h->magic = MAGIC;
	memset(h + 1, 0, h->size - sizeof *h);
	return h + 1;
}

void secmem_free(void *p)
{
	if (!p)
		return;
	struct head *h = (struct head *)p - 1;
	if (h->magic != MAGIC)
		abort(); /* not ours: a bug that must not go on quietly */
	size_t size = h->size;
	explicit_bzero(p, size - sizeof *h);
	h->magic = 0;
	int c = class_of(size);
	if (c < 0) {
		munlock(h, size);
		munmap(h, size);
		return;
	}
	struct free_block *f = (struct free_block *)h;
	pthread_mutex_lock(&mu);
	f->next = free_list[c];
	free_list[c] = f;
	pthread_mutex_unlock(&mu);
}

char *secmem_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *d = secmem_alloc(len + 1);
	memcpy(d, s, len);
	return d;
}

char *secmem_strdup(const char *s)
{
	return secmem_strndup(s, SIZE_MAX);
}

char *secmem_join(const char *a, const char *sep, const char *b)
{
	size_t na = strlen(a), ns = strlen(sep), nb = strlen(b);
	char *d = secmem_alloc(na + ns + nb + 1);
	memcpy(d, a, na);
	memcpy(d + na, sep, ns);
	memcpy(d + na + ns, b, nb);
	return d;
}

/* ---- the registers ---- */

/* The System V ABI keeps no vector register across a call, so zeroing
 * them from a function of its own takes nothing from anyone. */
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx512f"), noinline)) static void zero_avx512(void)
{
	__asm__ volatile(
		"vpxord %%zmm16, %%zmm16, %%zmm16\n\t"
		"vpxord %%zmm17, %%zmm17, %%zmm17\n\t"
		"vpxord %%zmm18, %%zmm18, %%zmm18\n\t"
		"vpxord %%zmm19, %%zmm19, %%zmm19\n\t"
		"vpxord %%zmm20, %%zmm20, %%zmm20\n\t"
		"vpxord %%zmm21, %%zmm21, %%zmm21\n\t"
		"vpxord %%zmm22, %%zmm22, %%zmm22\n\t"
		"vpxord %%zmm23, %%zmm23, %%zmm23\n\t"
		"vpxord %%zmm24, %%zmm24, %%zmm24\n\t"
		"vpxord %%zmm25, %%zmm25, %%zmm25\n\t"
		"vpxord %%zmm26, %%zmm26, %%zmm26\n\t"
		"vpxord %%zmm27, %%zmm27, %%zmm27\n\t"
		"vpxord %%zmm28, %%zmm28, %%zmm28\n\t"
		"vpxord %%zmm29, %%zmm29, %%zmm29\n\t"
		"vpxord %%zmm30, %%zmm30, %%zmm30\n\t"
		"vpxord %%zmm31, %%zmm31, %%zmm31\n\t"
		"vzeroall" /* zmm0-15 whole */
		::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
		    "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
		    "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19",
		    "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25",
		    "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31");
}

__attribute__((target("avx"), noinline)) static void zero_avx(void)
{
	__asm__ volatile("vzeroall" ::: "xmm0", "xmm1", "xmm2", "xmm3",
			 "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
			 "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

__attribute__((noinline)) static void zero_sse(void)
{
	__asm__ volatile("pxor %%xmm0, %%xmm0\n\tpxor %%xmm1, %%xmm1\n\t"
			 "pxor %%xmm2, %%xmm2\n\tpxor %%xmm3, %%xmm3\n\t"
			 "pxor %%xmm4, %%xmm4\n\tpxor %%xmm5, %%xmm5\n\t"
			 "pxor %%xmm6, %%xmm6\n\tpxor %%xmm7, %%xmm7\n\t"
			 "pxor %%xmm8, %%xmm8\n\tpxor %%xmm9, %%xmm9\n\t"
			 "pxor %%xmm10, %%xmm10\n\tpxor %%xmm11, %%xmm11\n\t"
			 "pxor %%xmm12, %%xmm12\n\tpxor %%xmm13, %%xmm13\n\t"
			 "pxor %%xmm14, %%xmm14\n\tpxor %%xmm15, %%xmm15"
			 ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
			 "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
			 "xmm12", "xmm13", "xmm14", "xmm15");
}

static _Atomic int vector_kind = -1; /* 2 AVX-512, 1 AVX, 0 SSE */

void secmem_scrub_registers(void)
{
	int k = atomic_load_explicit(&vector_kind, memory_order_relaxed);
	if (k < 0) {
		__builtin_cpu_init();
		k = __builtin_cpu_supports("avx512f") ? 2
		    : __builtin_cpu_supports("avx")   ? 1
						      : 0;
		atomic_store_explicit(&vector_kind, k, memory_order_relaxed);
	}
	if (k == 2)
		zero_avx512();
	else if (k == 1)
		zero_avx();
	else
		zero_sse();
}
#else
void secmem_scrub_registers(void)
{
}
#endif
