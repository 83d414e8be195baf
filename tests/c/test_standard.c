/*
 * test_standard.c: the nh_-prefixed standard calls (nativeheap.h) — results, alignment, usable
 * sizes, and errno exactly as documented: ENOMEM/EINVAL set on failure by malloc-style calls,
 * posix_memalign returning EINVAL/ENOMEM with errno and *memptr untouched, and errno left alone on
 * success. Also: one heap behind nh_* and the *allocx calls.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <nativeheap.h>
#include <jemalloc/jemalloc.h>
#include "check.h"

static void test_malloc_calloc_free(void)
{
    errno = 1234;
    unsigned char *p = nh_malloc(100);
    CHECK(p != NULL && ((uintptr_t)p & 15) == 0 && nh_malloc_usable_size(p) >= 100);
    CHECK(errno == 1234);
    memset(p, 0xee, nh_malloc_usable_size(p));
    nh_free(p);
    CHECK(errno == 1234);
    nh_free(NULL);
    CHECK(errno == 1234);

    void *z = nh_malloc(0);
    CHECK(z != NULL);
    nh_free(z);

    unsigned char *c = nh_calloc(100, 41);
    int zero = c != NULL;
    for (int i = 0; c != NULL && i < 4100; i++) zero &= c[i] == 0;
    CHECK(zero);
    CHECK(errno == 1234);
    nh_free(c);

    CHECK(nh_malloc(opaque(SIZE_MAX)) == NULL && errno == ENOMEM);
    errno = 1234;
    CHECK(nh_calloc(opaque(SIZE_MAX / 2), 3) == NULL && errno == ENOMEM); /* overflowing product */
    CHECK(nh_malloc_usable_size(NULL) == 0);
    int local;
    CHECK(nh_malloc_usable_size(&local) == 0); /* not NativeHeap's */
}

static void test_realloc(void)
{
    errno = 55;
    unsigned char *p = nh_realloc(NULL, 10); /* realloc(NULL, n) is malloc(n) */
    CHECK(p != NULL && errno == 55);
    for (int i = 0; i < 10; i++) p[i] = (unsigned char)(i * 3);
    p = nh_realloc(p, 100000);
    int same = p != NULL;
    for (int i = 0; p != NULL && i < 10; i++) same &= p[i] == (unsigned char)(i * 3);
    CHECK(same && errno == 55);

    CHECK(nh_realloc(p, opaque(SIZE_MAX)) == NULL && errno == ENOMEM);
    CHECK(p[9] == 27); /* the old block is still there */

    errno = 55;
    CHECK(nh_realloc(p, 0) == NULL); /* frees */
    CHECK(errno == 55);
}

static void test_aligned(void)
{
    void *m = (void *)0x1;
    errno = 999;
    CHECK(nh_posix_memalign(&m, 3, 64) == EINVAL && m == (void *)0x1 && errno == 999);
    CHECK(nh_posix_memalign(&m, 4, 64) == EINVAL && errno == 999); /* below sizeof(void *) */
    CHECK(nh_posix_memalign(&m, 0, 64) == EINVAL && errno == 999);
    CHECK(nh_posix_memalign(&m, 64, opaque(SIZE_MAX)) == ENOMEM && m == (void *)0x1 && errno == 999);
    for (size_t a = 8; a <= ((size_t)4 << 20); a <<= 1) {
        void *p = NULL;
        int rc = nh_posix_memalign(&p, a, 3 * a / 2);
        CHECK_MSG(rc == 0 && p != NULL && ((uintptr_t)p & (a - 1)) == 0, "alignment %zu rc %d", a, rc);
        CHECK(errno == 999);
        nh_free(p);
    }
    void *z = NULL;
    CHECK(nh_posix_memalign(&z, 16, 0) == 0 && z != NULL);
    nh_free(z);

    errno = 999;
    void *a = nh_aligned_alloc(4096, 10000);
    CHECK(a != NULL && ((uintptr_t)a & 4095) == 0 && errno == 999);
    nh_free(a);
    CHECK(nh_aligned_alloc(24, 100) == NULL && errno == EINVAL);
    errno = 999;
    CHECK(nh_aligned_alloc(64, opaque(SIZE_MAX)) == NULL && errno == ENOMEM);

    errno = 999;
    void *b = nh_memalign(256, 1000);
    CHECK(b != NULL && ((uintptr_t)b & 255) == 0 && errno == 999);
    nh_free(b);
    CHECK(nh_memalign(100, 100) == NULL && errno == EINVAL);

    errno = 999;
    void *v = nh_valloc(5000);
    CHECK(v != NULL && ((uintptr_t)v & 4095) == 0 && nh_malloc_usable_size(v) >= 5000 && errno == 999);
    nh_free(v);
}

static void test_one_heap(void)
{
    /* Blocks move freely between the standard and the extended calls. */
    void *p = nh_malloc(300);
    CHECK(sallocx(p, 0) == nh_malloc_usable_size(p));
    dallocx(p, 0);
    void *q = mallocx(300, MALLOCX_ZERO);
    q = nh_realloc(q, 5000);
    CHECK(q != NULL);
    nh_free(q);
}

int main(void)
{
    CHECK(strncmp(nh_version(), "NativeHeap ", 11) == 0);
    errno = 31337;
    nh_abi_nop();
    CHECK(errno == 31337);
    test_malloc_calloc_free();
    test_realloc();
    test_aligned();
    test_one_heap();
    return nh_finish("standard");
}
