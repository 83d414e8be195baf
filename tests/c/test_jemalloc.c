/*
 * test_jemalloc.c: jemalloc's extended API through libnativeheap.so — mallocx, rallocx, xallocx,
 * sallocx, dallocx, sdallocx, nallocx — with the MALLOCX_* flags of include/jemalloc/jemalloc.h:
 * sizes and usable sizes, alignment, zeroing, explicit "no cache", an arena that does not exist,
 * impossible sizes, in-place resizing, and errno left untouched by every call.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <jemalloc/jemalloc.h>
#include "check.h"

static int all_bytes(const unsigned char *p, size_t n, unsigned char v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v) return 0;
    return 1;
}

static void test_macros(void)
{
    CHECK(MALLOCX_LG_ALIGN(5) == 5);
    CHECK(MALLOCX_ALIGN(4096) == 12);
    CHECK(MALLOCX_ALIGN((size_t)1 << 40) == 40);
    CHECK(MALLOCX_ZERO == 0x40);
    CHECK(MALLOCX_TCACHE_NONE == 0x100);
    CHECK(MALLOCX_TCACHE(0) == 0x200);
    CHECK(MALLOCX_ARENA(0) == 0x100000);
    CHECK(MALLOCX_ARENA(3) == 0x400000);
    CHECK(MALLCTL_ARENAS_ALL == 4096);
}

static void test_sizes(void)
{
    for (size_t n = 1; n < 300000; n += (n < 4096 ? 1 : n / 7)) {
        errno = 4242;
        unsigned char *p = mallocx(n, 0);
        CHECK_MSG(p != NULL, "mallocx(%zu)", n);
        if (p == NULL) continue;
        size_t usable = sallocx(p, 0);
        CHECK_MSG(usable >= n && usable == nallocx(n, 0), "n %zu usable %zu nallocx %zu", n, usable, nallocx(n, 0));
        p[0] = 1;
        p[usable - 1] = 2;
        if (n & 1) dallocx(p, 0);
        else sdallocx(p, n, 0);
        CHECK_MSG(errno == 4242, "errno changed to %d around size %zu", errno, n);
    }
    void *z = mallocx(0, 0);
    CHECK(z != NULL && sallocx(z, 0) >= 1);
    dallocx(z, 0);
}

static void test_alignment(void)
{
    for (int lg = 3; lg <= 22; lg++) {
        int flags = MALLOCX_LG_ALIGN(lg);
        void *p = mallocx(100, flags);
        CHECK_MSG(p != NULL && ((uintptr_t)p & (((uintptr_t)1 << lg) - 1)) == 0, "lg %d p %p", lg, p);
        if (p == NULL) continue;
        CHECK_MSG(sallocx(p, 0) == nallocx(100, flags), "lg %d: sallocx %zu nallocx %zu", lg, sallocx(p, 0), nallocx(100, flags));
        dallocx(p, flags);
    }
    void *q = mallocx(5000, MALLOCX_ALIGN(65536));
    CHECK(q != NULL && ((uintptr_t)q & 65535) == 0);
    dallocx(q, 0);
}

static void test_zero_and_cache(void)
{
    size_t sizes[] = { 64, 4096, 100000, 3 << 20 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        unsigned char *dirty = mallocx(n, 0);
        memset(dirty, 0xff, n);
        dallocx(dirty, 0);
        unsigned char *p = mallocx(n, MALLOCX_ZERO);
        CHECK_MSG(p != NULL && all_bytes(p, n, 0), "MALLOCX_ZERO of %zu", n);
        dallocx(p, 0);
    }
    void *nc = mallocx(64, MALLOCX_TCACHE_NONE);
    CHECK(nc != NULL);
    dallocx(nc, MALLOCX_TCACHE_NONE);
}

static void test_failures(void)
{
    errno = 77;
    CHECK(mallocx(opaque(SIZE_MAX), 0) == NULL);
    CHECK(mallocx(opaque((size_t)1 << 63), MALLOCX_ZERO) == NULL);
    CHECK(mallocx(64, MALLOCX_ARENA(4000)) == NULL); /* no such arena */
    CHECK(nallocx(opaque(SIZE_MAX), 0) == 0);
    int local;
    CHECK(sallocx(&local, 0) == 0); /* not NativeHeap's */
    CHECK(errno == 77);

    unsigned char *p = mallocx(1000, 0);
    memset(p, 0x5a, 1000);
    CHECK(rallocx(p, opaque(SIZE_MAX), 0) == NULL); /* failure leaves the block as it was */
    CHECK(all_bytes(p, 1000, 0x5a));
    CHECK(errno == 77);
    dallocx(p, 0);
}

static void test_resize(void)
{
    unsigned char *p = mallocx(100, 0);
    for (int i = 0; i < 100; i++) p[i] = (unsigned char)i;
    p = rallocx(p, 50000, 0);
    CHECK(p != NULL && sallocx(p, 0) >= 50000);
    int same = 1;
    for (int i = 0; i < 100; i++) same &= p[i] == (unsigned char)i;
    CHECK(same);
    p = rallocx(p, 10, 0);
    CHECK(p != NULL && p[9] == 9);

    /* rallocx with MALLOCX_ZERO zeroes the grown part (beyond the old usable size). */
    size_t old = sallocx(p, 0);
    memset(p, 0x11, old);
    unsigned char *q = rallocx(p, 8192, MALLOCX_ZERO);
    CHECK(q != NULL && all_bytes(q, old, 0x11) && all_bytes(q + old, 8192 - old, 0));
    dallocx(q, 0);

    /* xallocx: within the size class it succeeds; a small block never grows past its class. */
    unsigned char *s = mallocx(100, 0);
    size_t cls = sallocx(s, 0);
    CHECK(xallocx(s, 105, 0, 0) == cls);
    CHECK(xallocx(s, 5000, 0, 0) == cls);
    dallocx(s, 0);

    /* A large block resizes in place when it can (the result is at least the size asked for, or unchanged). */
    unsigned char *l = mallocx(64 * 1024, 0);
    size_t before = sallocx(l, 0);
    size_t after = xallocx(l, 80 * 1024, 16 * 1024, 0);
    CHECK(after == before || after >= 80 * 1024);
    CHECK(sallocx(l, 0) == after);
    size_t shrunk = xallocx(l, 20 * 1024, 0, 0);
    CHECK(shrunk >= 20 * 1024 && shrunk <= after);
    sdallocx(l, shrunk, 0);
}

int main(void)
{
    test_macros();
    test_sizes();
    test_alignment();
    test_zero_and_cache();
    test_failures();
    test_resize();
    return nh_finish("jemalloc");
}
