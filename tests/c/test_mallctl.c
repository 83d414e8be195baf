/*
 * test_mallctl: jemalloc's control calls against libnativeheap.so — reads of every type, writes,
 * actions, MIBs, the errno-style error returns, and malloc_stats_print through its callback (text and
 * JSON), as a program written for jemalloc uses them.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <jemalloc/jemalloc.h>
#include "check.h"

struct sink { char buf[1 << 20]; size_t len; int calls; };

static void write_cb(void *opaque, const char *s)
{
    struct sink *k = opaque;
    size_t n = strlen(s);
    if (k->len + n < sizeof k->buf) { memcpy(k->buf + k->len, s, n); k->len += n; k->buf[k->len] = 0; }
    k->calls++;
}

static struct sink g_sink;

int main(void)
{
    /* reads of each C type */
    const char *version = NULL;
    size_t len = sizeof version;
    CHECK(mallctl("version", &version, &len, NULL, 0) == 0 && version != NULL && strlen(version) > 0);
    size_t page = 0; len = sizeof page;
    CHECK(mallctl("arenas.page", &page, &len, NULL, 0) == 0 && page == 4096);
    unsigned nbins = 0; len = sizeof nbins;
    CHECK(mallctl("arenas.nbins", &nbins, &len, NULL, 0) == 0 && nbins == 36);
    bool tcache = false; len = sizeof tcache;
    CHECK(mallctl("opt.tcache", &tcache, &len, NULL, 0) == 0 && tcache);
    ssize_t decay = 0; len = sizeof decay;
    CHECK(mallctl("opt.dirty_decay_ms", &decay, &len, NULL, 0) == 0 && decay == 10000);

    /* epoch and stats: a held 1 MiB block is visible in stats.allocated */
    void *p = mallocx(1 << 20, 0);
    uint64_t epoch = 1; len = sizeof epoch;
    CHECK(mallctl("epoch", &epoch, &len, &epoch, sizeof epoch) == 0);
    size_t allocated = 0; len = sizeof allocated;
    CHECK(mallctl("stats.allocated", &allocated, &len, NULL, 0) == 0 && allocated >= (1 << 20));

    /* thread counters, by pointer too */
    uint64_t *allocatedp = NULL; len = sizeof allocatedp;
    CHECK(mallctl("thread.allocatedp", &allocatedp, &len, NULL, 0) == 0 && allocatedp != NULL);
    uint64_t before = *allocatedp;
    void *q = mallocx(100, 0);
    CHECK(*allocatedp == before + 112);
    dallocx(q, 0);
    dallocx(p, 0);

    /* MIB: every small class's size by changing one component */
    size_t mib[8], miblen = 8;
    CHECK(mallctlnametomib("arenas.bin.0.size", mib, &miblen) == 0 && miblen == 4);
    for (unsigned i = 0; i < nbins; i++) {
        size_t size = 0; len = sizeof size;
        mib[2] = i;
        CHECK(mallctlbymib(mib, miblen, &size, &len, NULL, 0) == 0 && nallocx(size, 0) == size);
    }
    mib[2] = nbins;
    len = sizeof page;
    CHECK(mallctlbymib(mib, miblen, &page, &len, NULL, 0) == ENOENT);

    /* arenas.create, per-arena settings, mallocx into it, destroy */
    unsigned arena = 0; len = sizeof arena;
    CHECK(mallctl("arenas.create", &arena, &len, NULL, 0) == 0 && arena > 0);
    char name[64];
    ssize_t ms = 250;
    snprintf(name, sizeof name, "arena.%u.dirty_decay_ms", arena);
    CHECK(mallctl(name, NULL, NULL, &ms, sizeof ms) == 0);
    ssize_t back = 0; len = sizeof back;
    CHECK(mallctl(name, &back, &len, NULL, 0) == 0 && back == 250);
    void *r = mallocx(5000, MALLOCX_ARENA(arena) | MALLOCX_TCACHE_NONE);
    unsigned owner = 99; len = sizeof owner;
    CHECK(r != NULL && mallctl("arenas.lookup", &owner, &len, &r, sizeof r) == 0 && owner == arena);
    dallocx(r, MALLOCX_TCACHE_NONE);
    snprintf(name, sizeof name, "arena.%u.destroy", arena);
    CHECK(mallctl(name, NULL, NULL, NULL, 0) == 0);

    /* explicit caches */
    unsigned tc = 0; len = sizeof tc;
    CHECK(mallctl("tcache.create", &tc, &len, NULL, 0) == 0);
    void *t = mallocx(64, MALLOCX_TCACHE(tc));
    dallocx(t, MALLOCX_TCACHE(tc));
    CHECK(mallctl("tcache.flush", NULL, NULL, &tc, sizeof tc) == 0);
    CHECK(mallctl("tcache.destroy", NULL, NULL, &tc, sizeof tc) == 0);
    CHECK(mallctl("tcache.flush", NULL, NULL, &tc, sizeof tc) == ENOENT);
    CHECK(mallctl("thread.tcache.flush", NULL, NULL, NULL, 0) == 0);
    CHECK(mallctl("arena.4096.purge", NULL, NULL, NULL, 0) == 0);

    /* errors with jemalloc's meanings; errno untouched */
    errno = 1234;
    CHECK(mallctl("no.such.name", &page, &len, NULL, 0) == ENOENT);
    len = sizeof nbins;
    CHECK(mallctl("arenas.page", &nbins, &len, NULL, 0) == EINVAL);   /* size_t read into 4 bytes */
    CHECK(mallctl("arenas.page", NULL, NULL, &page, sizeof page) == EPERM);
    CHECK(mallctl("stats", &page, &len, NULL, 0) == ENOENT);          /* a partial name, as jemalloc */
    unsigned bad = 0; len = sizeof bad;
    CHECK(mallctl("tcache.flush", &bad, &len, NULL, 0) == EPERM);
    CHECK(errno == 1234);

    /* malloc_stats_print through the callback: text, then JSON */
    malloc_stats_print(write_cb, &g_sink, NULL);
    CHECK(g_sink.calls >= 1 && strstr(g_sink.buf, "___ Begin jemalloc statistics ___") != NULL);
    g_sink.len = 0; g_sink.calls = 0; g_sink.buf[0] = 0;
    malloc_stats_print(write_cb, &g_sink, "Jbl");
    CHECK(g_sink.buf[0] == '{' && strstr(g_sink.buf, "\"jemalloc\"") != NULL && strstr(g_sink.buf, "\"bins\"") == NULL);

    return nh_finish("mallctl");
}
