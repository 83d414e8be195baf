/*
 * test_mallctl_jemalloc: jemalloc 5.3's documented mallctl rules as a program written for jemalloc
 * relies on them — EPERM for any write to a read-only name, partial MIBs from a short buffer,
 * thread.arena set to an arena made by arenas.create, arenas.narenas consistent with opt.narenas,
 * and extent hooks that refuse to purge (arena.<i>.purge returns 0 and the pages stay dirty).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <jemalloc/jemalloc.h>
#include "check.h"

static extent_hooks_t *g_default;
static extent_hooks_t g_refusing;
static int g_purge_calls;

static bool refuse_purge(extent_hooks_t *h, void *addr, size_t size, size_t offset, size_t length, unsigned arena)
{
    (void)h; (void)addr; (void)size; (void)offset; (void)length; (void)arena;
    __atomic_add_fetch(&g_purge_calls, 1, __ATOMIC_RELAXED);
    return true;   /* "not purged" */
}

static size_t stat_size(const char *name)
{
    uint64_t epoch = 1;
    size_t len = sizeof epoch;
    mallctl("epoch", &epoch, &len, &epoch, sizeof epoch);
    size_t v = 0;
    len = sizeof v;
    return mallctl(name, &v, &len, NULL, 0) == 0 ? v : (size_t)-1;
}

static unsigned g_created;

static void *thread_in_created_arena(void *unused)
{
    (void)unused;
    dallocx(mallocx(8, 0), 0);
    unsigned home = 0, was = 0;
    size_t len = sizeof home;
    CHECK(mallctl("thread.arena", &home, &len, NULL, 0) == 0);
    len = sizeof was;
    CHECK(mallctl("thread.arena", &was, &len, &g_created, sizeof g_created) == 0 && was == home);
    void *p = mallocx(200, 0), *q = mallocx(100000, 0);
    unsigned owner = 0;
    len = sizeof owner;
    CHECK(mallctl("arenas.lookup", &owner, &len, &p, sizeof p) == 0 && owner == g_created);
    len = sizeof owner;
    CHECK(mallctl("arenas.lookup", &owner, &len, &q, sizeof q) == 0 && owner == g_created);
    dallocx(p, 0);
    dallocx(q, 0);
    char name[64];
    snprintf(name, sizeof name, "arena.%u.destroy", g_created);
    CHECK(mallctl(name, NULL, NULL, NULL, 0) == EFAULT);   /* a thread is attached to it */
    CHECK(mallctl("thread.arena", NULL, NULL, &home, sizeof home) == 0);
    CHECK(mallctl("thread.tcache.flush", NULL, NULL, NULL, 0) == 0);
    return NULL;
}

int main(void)
{
    /* Read-only names refuse every write with EPERM, whatever the size given. */
    size_t page = 4096, len;
    unsigned u = 0;
    CHECK(mallctl("arenas.page", NULL, NULL, &page, sizeof page) == EPERM);
    CHECK(mallctl("arenas.page", NULL, NULL, &u, sizeof u) == EPERM);
    CHECK(mallctl("arenas.page", NULL, NULL, &u, 1) == EPERM);
    CHECK(mallctl("version", NULL, NULL, &u, sizeof u) == EPERM);
    CHECK(mallctl("opt.narenas", NULL, NULL, &page, sizeof page) == EPERM);
    CHECK(mallctl("stats.allocated", NULL, NULL, &u, 2) == EPERM);
    len = sizeof u;
    CHECK(mallctl("tcache.flush", NULL, &len, NULL, 0) == EPERM);   /* write-only: any read is refused */

    /* mallctlnametomib with a short buffer: the partial MIB, success, *miblenp unchanged. */
    size_t full[8], fulllen = 8, part[3], partlen = 3;
    CHECK(mallctlnametomib("stats.arenas.0.bins.2.nmalloc", full, &fulllen) == 0 && fulllen == 6);
    CHECK(mallctlnametomib("stats.arenas.0.bins.2.nmalloc", part, &partlen) == 0 && partlen == 3);
    CHECK(memcmp(part, full, sizeof part) == 0);
    CHECK(mallctlnametomib("stats.nosuch", part, &partlen) == ENOENT);

    /* arenas.narenas includes arena 0 and agrees with opt.narenas; stats.arenas.0.* answers. */
    unsigned opt_narenas = 0, narenas = 0;
    len = sizeof opt_narenas;
    CHECK(mallctl("opt.narenas", &opt_narenas, &len, NULL, 0) == 0 && opt_narenas > 0);
    len = sizeof narenas;
    CHECK(mallctl("arenas.narenas", &narenas, &len, NULL, 0) == 0 && narenas == opt_narenas);
    CHECK(stat_size("stats.arenas.0.pactive") != (size_t)-1);

    /* thread.arena accepts an arena made by arenas.create. */
    len = sizeof g_created;
    CHECK(mallctl("arenas.create", &g_created, &len, NULL, 0) == 0 && g_created >= narenas);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, thread_in_created_arena, NULL) == 0);
    pthread_join(t, NULL);
    char name[64];
    snprintf(name, sizeof name, "arena.%u.destroy", g_created);
    CHECK(mallctl(name, NULL, NULL, NULL, 0) == 0);

    /* Hooks that refuse to purge: arena.<i>.purge returns 0, the freed run stays dirty. */
    len = sizeof g_default;
    CHECK(mallctl("arena.0.extent_hooks", &g_default, &len, NULL, 0) == 0 && g_default != NULL);
    g_refusing = *g_default;
    g_refusing.purge_lazy = refuse_purge;
    g_refusing.purge_forced = refuse_purge;
    extent_hooks_t *hooks = &g_refusing;
    unsigned arena = 0;
    len = sizeof arena;
    CHECK(mallctl("arenas.create", &arena, &len, &hooks, sizeof hooks) == 0);
    void *p = mallocx(1 << 20, MALLOCX_ARENA(arena) | MALLOCX_TCACHE_NONE);
    CHECK(p != NULL);
    dallocx(p, MALLOCX_TCACHE_NONE);
    snprintf(name, sizeof name, "arena.%u.purge", arena);
    CHECK(mallctl(name, NULL, NULL, NULL, 0) == 0);
    CHECK(g_purge_calls >= 1 && g_purge_calls <= 4);
    snprintf(name, sizeof name, "stats.arenas.%u.pdirty", arena);
    CHECK(stat_size(name) >= 256);
    snprintf(name, sizeof name, "arena.%u.destroy", arena);
    CHECK(mallctl(name, NULL, NULL, NULL, 0) == 0);

    return nh_finish("mallctl_jemalloc");
}
