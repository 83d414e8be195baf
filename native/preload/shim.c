/*
 * shim.c — the bootstrap shim of libnativeheap-preload.so (docs/preload.md).
 *
 * It owns the public, unversioned malloc family. All allocation logic is C# (NativeHeap.Heap behind
 * the nhp_* exports of src/NativeHeap.Preload); this file only decides, per call, who serves it:
 *
 *   - NativeHeap (C#), when the runtime is up (g_ready) and the calling thread is outside C#
 *     (t_state is NEW or OUTSIDE: not inside one of our C# calls, not a runtime thread, not exiting);
 *   - glibc's own allocator (__libc_malloc family) otherwise: calls made before our constructor has
 *     started the runtime, calls the runtime makes while it starts, and calls made by the runtime or
 *     by glibc on a thread that is inside C# (a nested reverse P/Invoke is not allowed, and would
 *     re-enter the heap). Those pointers stay glibc's.
 *
 * Owner routing: free/realloc/malloc_usable_size ask NativeHeap's page map (its table address comes
 * from nhp_start) whether the pointer's 4 MiB granule is ours; one load, no call into C#. Foreign
 * pointers go back to glibc. A pointer of ours freed where we cannot enter C# is pushed on a
 * lock-free list (linked through its first word) that the next C# call drains.
 *
 * Runtime threads: threads the runtime (or its libraries) creates, e.g. the finalizer thread, run
 * runtime code that calls malloc in states where entering C# again is invalid (the runtime's own
 * thread attach: a nested reverse P/Invoke there attaches the thread twice and corrupts the runtime's
 * thread list). The library is linked with --wrap=pthread_create, so every pthread_create made from
 * inside it comes here; such threads are marked "inside" for life and use glibc only.
 *
 * Thread exit: once a thread starts exiting, the runtime detaches it and may not be entered again.
 * Our pthread key (created before the runtime's, so its destructor runs first in each round) marks
 * the thread as exiting; from then on its frees of our pointers are deferred and its allocations
 * come from glibc.
 *
 * errno is preserved across C# calls and set to ENOMEM / EINVAL as glibc does.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))
#define EXPORT_HIDDEN                /* linked into the library, not exported (hidden by -fvisibility) */
#define TLS __thread __attribute__((tls_model("initial-exec")))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/* glibc's allocator under its internal names (exported by libc.so.6, GLIBC_2.2.5). */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

/* The C# side (src/NativeHeap.Preload/PreloadExports.cs). */
extern void **nhp_start(const char *conf);
extern void nhp_fork_prepare(void);
extern void nhp_fork_release(void);
extern size_t nhp_page_map_entries(void);
extern int nhp_page_map_shift(void);
extern void *nhp_malloc(size_t);
extern void *nhp_calloc(size_t, size_t);
extern void *nhp_realloc(void *, size_t);
extern void nhp_free(void *);
extern void nhp_free_chain(void *);
extern void *nhp_aligned_alloc(size_t, size_t);
extern size_t nhp_usable_size(void *);
extern int nhp_stats_print(void);
extern void nhp_exit(int);
extern void *nhp_mallocx(size_t, int);
extern void *nhp_rallocx(void *, size_t, int);
extern size_t nhp_xallocx(void *, size_t, size_t, int);
extern size_t nhp_sallocx(const void *, int);
extern void nhp_dallocx(void *, int);
extern void nhp_sdallocx(void *, size_t, int);
extern size_t nhp_nallocx(size_t, int);
extern int nhp_mallctl(const char *, void *, size_t *, void *, size_t);
extern int nhp_mallctlnametomib(const char *, size_t *, size_t *);
extern int nhp_mallctlbymib(const size_t *, size_t, void *, size_t *, void *, size_t);
extern void nhp_malloc_stats_print(void (*)(void *, const char *), void *, const char *);

static void **g_map;                 /* NativeHeap's page map: granule -> owner, null when not ours */
static size_t g_map_entries;
static int g_map_shift;
static atomic_int g_ready;           /* 1 once the runtime and the heap are up */
static _Atomic(void *) g_deferred;   /* our pointers freed where C# could not be entered */
static size_t (*g_libc_usable)(void *);
static pthread_key_t g_exit_key;
static int g_stats_fd = -1;           /* a duplicate of the initial stderr, when stats_print is on */

/* Per-thread state, one word so the fast path reads one TLS slot. */
enum
{
    NEW,        /* never entered C#: must register for the exit notification first */
    OUTSIDE,    /* may enter C# */
    INSIDE,     /* inside a C# call or the runtime's start, or a runtime thread: glibc only */
    EXITING,    /* running exit destructors: glibc only, frees of our blocks deferred */
};
static TLS int t_state;
static TLS int *t_errno;             /* this thread's errno (__errno_location is a call through the PLT) */

static inline int ours(const void *p)
{
    uintptr_t i = (uintptr_t)p >> g_map_shift;
    return g_map != NULL && i < g_map_entries && g_map[i] != NULL;
}

static inline int can_enter(void)
{
    return t_state < INSIDE && LIKELY(atomic_load_explicit(&g_ready, memory_order_acquire));
}

/* First call of a thread: cache its errno address; give the exit key a value so its destructor runs. */
static void register_thread(void)
{
    t_errno = &errno;
    int saved = errno;
    t_state = INSIDE;                 /* pthread_setspecific may allocate: that goes to glibc */
    pthread_setspecific(g_exit_key, (void *)1);
    errno = saved;
    t_state = OUTSIDE;
}

/* Bracket a C# call: nested calls from the runtime go to glibc; errno survives; deferred frees drain. */
static inline int enter(void)
{
    if (UNLIKELY(t_state == NEW)) register_thread();
    int saved = *t_errno;
    t_state = INSIDE;
    if (UNLIKELY(atomic_load_explicit(&g_deferred, memory_order_relaxed) != NULL))
        nhp_free_chain(atomic_exchange(&g_deferred, NULL));
    return saved;
}

static inline void leave(int saved)
{
    t_state = OUTSIDE;
    *t_errno = saved;
}

static void defer_free(void *p)
{
    void *head = atomic_load_explicit(&g_deferred, memory_order_relaxed);
    do *(void **)p = head;
    while (!atomic_compare_exchange_weak(&g_deferred, &head, p));
}

/* The routing every free-like call shares: true when p was dealt with here — NULL, glibc's block (back
 * to glibc), or ours on a thread that may not enter C# now (deferred); false when NativeHeap frees it. */
static inline int freed_elsewhere(void *p)
{
    if (p == NULL) return 1;
    if (!ours(p))
    {
        __libc_free(p);
        return 1;
    }
    if (!can_enter())
    {
        defer_free(p);
        return 1;
    }
    return 0;
}

static void die(const char *what)
{
    static const char prefix[] = "<nativeheap-preload>: ";
    (void)!write(2, prefix, sizeof prefix - 1);
    (void)!write(2, what, strlen(what));
    (void)!write(2, "\n", 1);
    abort();
}

static inline void *oom(void *p)
{
    if (p == NULL) errno = ENOMEM;
    return p;
}

/* ---- the public malloc family ------------------------------------------------------------------ */

EXPORT void *malloc(size_t size)
{
    if (!can_enter()) return __libc_malloc(size);
    int e = enter();
    void *p = nhp_malloc(size);
    leave(e);
    return oom(p);
}

EXPORT void *calloc(size_t count, size_t size)
{
    if (!can_enter()) return __libc_calloc(count, size);
    int e = enter();
    void *p = nhp_calloc(count, size);
    leave(e);
    return oom(p);
}

EXPORT void free(void *p)
{
    if (freed_elsewhere(p)) return;
    int e = enter();
    nhp_free(p);
    leave(e);
}

EXPORT void *realloc(void *p, size_t size)
{
    if (p == NULL) return malloc(size);
    if (size == 0)
    {
        free(p);                      /* glibc: realloc(p, 0) frees and returns null */
        return NULL;
    }
    if (ours(p))
    {
        if (!can_enter()) die("realloc of a NativeHeap block on a thread that cannot enter the runtime");
        int e = enter();
        void *q = nhp_realloc(p, size);
        leave(e);
        return oom(q);
    }
    if (!can_enter()) return __libc_realloc(p, size);
    /* A glibc block (allocated before the start): move it into NativeHeap. */
    size_t old = g_libc_usable(p);
    int e = enter();
    void *q = nhp_malloc(size);
    leave(e);
    if (q == NULL) return oom(q);
    memcpy(q, p, old < size ? old : size);
    __libc_free(p);
    return q;
}

static void *aligned(size_t alignment, size_t size)
{
    if (!can_enter()) return __libc_memalign(alignment, size);
    int e = enter();
    void *p = nhp_aligned_alloc(alignment, size);
    leave(e);
    return oom(p);
}

static inline int pow2(size_t a) { return a != 0 && (a & (a - 1)) == 0; }

EXPORT int posix_memalign(void **out, size_t alignment, size_t size)
{
    if (!pow2(alignment) || alignment % sizeof(void *) != 0) return EINVAL;
    int saved = errno;
    void *p = aligned(alignment, size);
    errno = saved;                    /* posix_memalign reports through its result, not errno */
    if (p == NULL) return ENOMEM;
    *out = p;
    return 0;
}

EXPORT void *aligned_alloc(size_t alignment, size_t size)
{
    if (!pow2(alignment))
    {
        errno = EINVAL;
        return NULL;
    }
    return aligned(alignment, size);
}

EXPORT void *memalign(size_t alignment, size_t size)
{
    if (alignment < sizeof(void *)) alignment = sizeof(void *);
    if (!pow2(alignment))             /* glibc rounds a non-power-of-two alignment up */
    {
        size_t a = sizeof(void *);
        while (a < alignment && a != 0) a <<= 1;
        if (a == 0)
        {
            errno = EINVAL;
            return NULL;
        }
        alignment = a;
    }
    return aligned(alignment, size);
}

EXPORT void *valloc(size_t size)
{
    return aligned((size_t)sysconf(_SC_PAGESIZE), size);
}

EXPORT void *pvalloc(size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t rounded = size == 0 ? page : (size + page - 1) & ~(page - 1);
    if (rounded < size)
    {
        errno = ENOMEM;
        return NULL;
    }
    return aligned(page, rounded);
}

EXPORT size_t malloc_usable_size(void *p)
{
    if (p == NULL) return 0;
    if (!ours(p)) return g_libc_usable(p);
    if (!can_enter()) die("malloc_usable_size of a NativeHeap block on a thread that cannot enter the runtime");
    int e = enter();
    size_t n = nhp_usable_size(p);
    leave(e);
    return n;
}

/* ---- jemalloc's extended API and variables ------------------------------------------------------ */
/* The same calls libnativeheap.so exports (docs/c-abi.md), so a program written for jemalloc and run
 * with this library preloaded (or linked against it) can call them. They go through the same routing
 * as malloc: NativeHeap when C# can be entered; otherwise glibc serves allocations (alignment and
 * MALLOCX_ZERO honoured), frees of our blocks are deferred, sizes of glibc blocks come from glibc, and
 * the mallctl family answers EAGAIN. None of them sets errno (jemalloc's rule). */

/* The program's options string, read once when the library starts; NATIVEHEAP_CONF overrides it key by
 * key. The program's definition is seen when it is in its dynamic symbol table (linked against this
 * library or a jemalloc, or built with -rdynamic), as with a preloaded jemalloc. */
EXPORT __attribute__((weak)) const char *malloc_conf = NULL;
/* Receives malloc_stats_print's output when no write callback is given; NULL: stderr. */
EXPORT void (*malloc_message)(void *cbopaque, const char *s) = NULL;

enum { NH_LG_ALIGN_MASK = 0x3f, NH_ZERO = 0x40 };

static void *glibc_mallocx(size_t size, int flags)
{
    size_t lg = (size_t)flags & NH_LG_ALIGN_MASK;
    void *p = lg ? __libc_memalign((size_t)1 << lg, size ? size : 1) : __libc_malloc(size ? size : 1);
    if (p != NULL && (flags & NH_ZERO)) memset(p, 0, size);
    return p;
}

EXPORT void *mallocx(size_t size, int flags)
{
    int saved = errno;
    if (!can_enter())
    {
        void *g = glibc_mallocx(size, flags);
        errno = saved;
        return g;
    }
    int e = enter();
    void *p = nhp_mallocx(size, flags);
    leave(e);
    return p;
}

EXPORT void *rallocx(void *p, size_t size, int flags)
{
    int saved = errno;
    if (!ours(p))
    {
        /* a glibc block: resize it there (glibc keeps alignment only up to its own) */
        void *q = (flags & NH_LG_ALIGN_MASK) == 0 ? __libc_realloc(p, size ? size : 1) : NULL;
        if (q == NULL && (flags & NH_LG_ALIGN_MASK) != 0)
        {
            q = glibc_mallocx(size, flags & ~NH_ZERO);
            if (q != NULL)
            {
                size_t old = g_libc_usable(p);
                memcpy(q, p, old < size ? old : size);
                __libc_free(p);
            }
        }
        errno = saved;
        return q;
    }
    if (!can_enter()) die("rallocx of a NativeHeap block on a thread that cannot enter the runtime");
    int e = enter();
    void *q = nhp_rallocx(p, size, flags);
    leave(e);
    return q;
}

EXPORT size_t xallocx(void *p, size_t size, size_t extra, int flags)
{
    if (!ours(p)) return g_libc_usable(p);
    if (!can_enter()) die("xallocx of a NativeHeap block on a thread that cannot enter the runtime");
    int e = enter();
    size_t n = nhp_xallocx(p, size, extra, flags);
    leave(e);
    return n;
}

EXPORT size_t sallocx(const void *p, int flags)
{
    if (!ours(p)) return g_libc_usable((void *)p);
    if (!can_enter()) die("sallocx of a NativeHeap block on a thread that cannot enter the runtime");
    int e = enter();
    size_t n = nhp_sallocx(p, flags);
    leave(e);
    return n;
}

EXPORT void dallocx(void *p, int flags)
{
    if (freed_elsewhere(p)) return;
    int e = enter();
    nhp_dallocx(p, flags);
    leave(e);
}

EXPORT void sdallocx(void *p, size_t size, int flags)
{
    if (freed_elsewhere(p)) return;
    int e = enter();
    nhp_sdallocx(p, size, flags);
    leave(e);
}

EXPORT size_t nallocx(size_t size, int flags)
{
    if (!can_enter()) return 0;
    int e = enter();
    size_t n = nhp_nallocx(size, flags);
    leave(e);
    return n;
}

EXPORT int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
{
    if (!can_enter()) return EAGAIN;
    int e = enter();
    int rc = nhp_mallctl(name, oldp, oldlenp, newp, newlen);
    leave(e);
    return rc;
}

EXPORT int mallctlnametomib(const char *name, size_t *mibp, size_t *miblenp)
{
    if (!can_enter()) return EAGAIN;
    int e = enter();
    int rc = nhp_mallctlnametomib(name, mibp, miblenp);
    leave(e);
    return rc;
}

EXPORT int mallctlbymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
{
    if (!can_enter()) return EAGAIN;
    int e = enter();
    int rc = nhp_mallctlbymib(mib, miblen, oldp, oldlenp, newp, newlen);
    leave(e);
    return rc;
}

EXPORT void malloc_stats_print(void (*write_cb)(void *, const char *), void *cbopaque, const char *opts)
{
    if (!can_enter()) return;
    if (write_cb == NULL && malloc_message != NULL) write_cb = malloc_message;
    int e = enter();
    nhp_malloc_stats_print(write_cb, cbopaque, opts);
    leave(e);
}

/* ---- threads the runtime creates -------------------------------------------------------------- */

extern int __real_pthread_create(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

struct runtime_thread_start
{
    void *(*start)(void *);
    void *arg;
};

static void *runtime_thread_main(void *p)
{
    struct runtime_thread_start s = *(struct runtime_thread_start *)p;
    __libc_free(p);
    t_state = INSIDE;                 /* never enter C# from this thread's mallocs */
    return s.start(s.arg);
}

/* Every pthread_create call made from inside the library (the runtime, System.Native) lands here. */
EXPORT_HIDDEN int __wrap_pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *), void *arg)
{
    struct runtime_thread_start *s = __libc_malloc(sizeof *s);
    if (s == NULL) return EAGAIN;
    s->start = start;
    s->arg = arg;
    int rc = __real_pthread_create(thread, attr, runtime_thread_main, s);
    if (rc != 0) __libc_free(s);
    return rc;
}

/* ---- start and exit ----------------------------------------------------------------------------- */

static void on_thread_exit(void *value)
{
    (void)value;
    t_state = EXITING;
}

/* fork() while other threads allocate: the forking thread takes every heap lock first (in C#) and
 * both processes release them afterwards, so the child never inherits a lock held mid-operation by a
 * thread it does not have. Skipped when the forking thread cannot enter C# (it is inside the runtime
 * or exiting); t_fork_locked remembers whether the locks were taken. */
static TLS int t_fork_locked;

static void fork_prepare(void)
{
    t_fork_locked = 0;
    if (!can_enter()) return;
    int e = enter();
    nhp_fork_prepare();
    leave(e);
    t_fork_locked = 1;
}

static void fork_release(void)
{
    if (!t_fork_locked) return;
    t_fork_locked = 0;
    int e = enter();
    nhp_fork_release();
    leave(e);
}

/* Runs when the library is loaded (before the program's main): starts the runtime eagerly, so no
 * start ever happens lazily inside a malloc called under a glibc lock. */
__attribute__((constructor)) static void shim_start(void)
{
    g_libc_usable = (size_t (*)(void *))dlsym(RTLD_NEXT, "malloc_usable_size");
    if (g_libc_usable == NULL) die("cannot find glibc's malloc_usable_size");
    /* Created before the runtime creates its own keys: destructors run in key order. */
    if (pthread_key_create(&g_exit_key, on_thread_exit) != 0) die("pthread_key_create failed");
    t_state = INSIDE;
    void **map = nhp_start(malloc_conf);
    g_map_entries = nhp_page_map_entries();
    g_map_shift = nhp_page_map_shift();
    g_map = map;
    /* stats_print writes at exit to a copy of stderr: programs such as ls and sort close fd 2 first. */
    if (nhp_stats_print()) g_stats_fd = fcntl(2, F_DUPFD_CLOEXEC, 64);
    t_state = NEW;                    /* registers for the exit notification on its first call */
    if (pthread_atfork(fork_prepare, fork_release, fork_release) != 0) die("pthread_atfork failed");
    atomic_store_explicit(&g_ready, 1, memory_order_release);
}

__attribute__((destructor)) static void shim_exit(void)
{
    if (!can_enter()) return;
    int e = enter();
    nhp_exit(g_stats_fd);
    leave(e);
}
