/*
 * jemalloc/jemalloc.h for libnativeheap.so: jemalloc 5's non-standard API with jemalloc's names,
 * signatures and flag values, so that source written for jemalloc compiles unchanged against
 * NativeHeap (link with -lnativeheap).
 *
 * What differs from jemalloc's own header:
 *  - The standard calls are not exported unprefixed (that would replace glibc's malloc for the whole
 *    process). They are nh_malloc, nh_free, ... (nativeheap.h, included below). A program that frees
 *    mallocx memory with free() must define NATIVEHEAP_REPLACE_STD before including this header.
 *  - malloc_conf (defined by the program) is read when the library starts and NATIVEHEAP_CONF is
 *    applied on top of it (jemalloc's order: malloc_conf, then MALLOC_CONF); malloc_message works as
 *    in jemalloc. The option keys are NativeHeap's (README.md, "Options").
 *  - None of the *allocx calls sets errno; a size of 0 is served as 1 byte; a pointer NativeHeap
 *    does not own, given to dallocx/sdallocx/rallocx/xallocx, aborts with a message on stderr.
 * docs/c-abi.md has the full contract.
 */
#ifndef JEMALLOC_H_
#define JEMALLOC_H_

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <strings.h>

#include "../nativeheap.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The jemalloc API level this header provides. */
#define JEMALLOC_VERSION "5.3.0-0-nativeheap"
#define JEMALLOC_VERSION_MAJOR 5
#define JEMALLOC_VERSION_MINOR 3
#define JEMALLOC_VERSION_BUGFIX 0
#define JEMALLOC_VERSION_NREV 0
#define JEMALLOC_VERSION_GID "nativeheap"

/* Flags of the *allocx calls: bit-for-bit jemalloc's (x86-64, LG_SIZEOF_PTR == 3). */
#define MALLOCX_LG_ALIGN(la) ((int)(la))
#define MALLOCX_ALIGN(a) \
    ((int)(((size_t)(a) < (size_t)INT_MAX) ? ffs((int)(a)) - 1 : ffs((int)(((size_t)(a)) >> 32)) + 31))
#define MALLOCX_ZERO ((int)0x40)
/* Thread cache: bits 8-19 hold tc + 2, so 0 means "the thread's own cache" and 1 "no cache". */
#define MALLOCX_TCACHE(tc) ((int)(((tc) + 2) << 8))
#define MALLOCX_TCACHE_NONE MALLOCX_TCACHE(-1)
/* Arena: bits 20-31 hold a + 1, so 0 means "the thread's automatic arena". */
#define MALLOCX_ARENA(a) ((((int)(a)) + 1) << 20)

/* Arena index meaning "all arenas" / "destroyed arenas" in arena.<i>.* and stats.arenas.<i>.* names. */
#define MALLCTL_ARENAS_ALL 4096
#define MALLCTL_ARENAS_DESTROYED 4097

#if defined(__GNUC__)
#  define JEMALLOC_ATTR(s) __attribute__((s))
#  define JEMALLOC_ALLOC_SIZE(s) JEMALLOC_ATTR(alloc_size(s))
#  define JEMALLOC_NOTHROW JEMALLOC_ATTR(nothrow)
#  define JEMALLOC_EXPORT JEMALLOC_ATTR(visibility("default"))
#else
#  define JEMALLOC_ATTR(s)
#  define JEMALLOC_ALLOC_SIZE(s)
#  define JEMALLOC_NOTHROW
#  define JEMALLOC_EXPORT
#endif

/* The extended allocation API. */
void *mallocx(size_t size, int flags) JEMALLOC_ATTR(malloc) JEMALLOC_ALLOC_SIZE(1);
void *rallocx(void *ptr, size_t size, int flags) JEMALLOC_ALLOC_SIZE(2);
size_t xallocx(void *ptr, size_t size, size_t extra, int flags);
size_t sallocx(const void *ptr, int flags);
void dallocx(void *ptr, int flags);
void sdallocx(void *ptr, size_t size, int flags);
size_t nallocx(size_t size, int flags);

/* The control namespace (mallctl names are documented in docs/c-abi.md). Returns 0 or ENOENT,
 * EINVAL, EPERM, EFAULT, EAGAIN as jemalloc documents. */
int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
int mallctlnametomib(const char *name, size_t *mibp, size_t *miblenp);
int mallctlbymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp, void *newp, size_t newlen);

/* Statistics through a write callback (NULL: stderr); opts as jemalloc ("J" JSON, "g", "m", "a", "b", "l", ...). */
void malloc_stats_print(void (*write_cb)(void *, const char *), void *cbopaque, const char *opts);

/* Options a program may define for itself ("key:value,..."), read when the library starts. */
extern const char *malloc_conf;
/* Where the library's messages (warnings, malloc_stats_print without a callback) go; NULL: stderr. */
extern void (*malloc_message)(void *cbopaque, const char *s);

/* jemalloc 5's extent hooks (arena.<i>.extent_hooks), for sources that declare them. */
typedef struct extent_hooks_s extent_hooks_t;
typedef void *(extent_alloc_t)(extent_hooks_t *, void *, size_t, size_t, bool *, bool *, unsigned);
typedef bool (extent_dalloc_t)(extent_hooks_t *, void *, size_t, bool, unsigned);
typedef void (extent_destroy_t)(extent_hooks_t *, void *, size_t, bool, unsigned);
typedef bool (extent_commit_t)(extent_hooks_t *, void *, size_t, size_t, size_t, unsigned);
typedef bool (extent_decommit_t)(extent_hooks_t *, void *, size_t, size_t, size_t, unsigned);
typedef bool (extent_purge_t)(extent_hooks_t *, void *, size_t, size_t, size_t, unsigned);
typedef bool (extent_split_t)(extent_hooks_t *, void *, size_t, size_t, size_t, bool, unsigned);
typedef bool (extent_merge_t)(extent_hooks_t *, void *, size_t, void *, size_t, bool, unsigned);
struct extent_hooks_s {
    extent_alloc_t *alloc;
    extent_dalloc_t *dalloc;
    extent_destroy_t *destroy;
    extent_commit_t *commit;
    extent_decommit_t *decommit;
    extent_purge_t *purge_lazy;
    extent_purge_t *purge_forced;
    extent_split_t *split;
    extent_merge_t *merge;
};

#ifdef __cplusplus
}
#endif

#endif /* JEMALLOC_H_ */
