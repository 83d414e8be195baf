/*
 * test_replace_std.c: jemalloc-style source that mixes the standard names with the *allocx calls,
 * compiled with NATIVEHEAP_REPLACE_STD so that malloc/free/... in this file are NativeHeap's.
 */
#define NATIVEHEAP_REPLACE_STD
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <jemalloc/jemalloc.h>
#include "check.h"

int main(void)
{
    char *s = malloc(32);
    strcpy(s, "hello");
    CHECK(sallocx(s, 0) == malloc_usable_size(s)); /* it is NativeHeap's block */
    s = rallocx(s, 4096, 0);
    CHECK(s != NULL && strcmp(s, "hello") == 0);
    free(s);

    void *x = mallocx(100, MALLOCX_ALIGN(64));
    CHECK(x != NULL && ((uintptr_t)x & 63) == 0);
    free(x);

    void *p = NULL;
    CHECK(posix_memalign(&p, 128, 10) == 0 && ((uintptr_t)p & 127) == 0);
    p = realloc(p, 1 << 20);
    CHECK(p != NULL);
    dallocx(p, 0);

    int *c = calloc(10, sizeof(int));
    CHECK(c != NULL && c[9] == 0);
    sdallocx(c, 10 * sizeof(int), 0);
    void *a = aligned_alloc(4096, 4096);
    void *v = valloc(100);
    void *m = memalign(32, 7);
    CHECK(a != NULL && v != NULL && m != NULL && ((uintptr_t)a & 4095) == 0 && ((uintptr_t)v & 4095) == 0 && ((uintptr_t)m & 31) == 0);
    free(a);
    free(v);
    free(m);

    /* libc's own allocations stay glibc's: the parenthesised name reaches glibc's free. */
    char *d = strdup("from libc");
    CHECK(d != NULL && nh_malloc_usable_size(d) == 0);
    (free)(d);
    return nh_finish("replace_std");
}
