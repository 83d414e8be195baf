/*
 * test_memkind: memkind's calls against libnativeheap.so, as a program written for memkind uses them:
 * the predefined kinds (data symbols), allocation calls per kind, detection from a bare pointer, a
 * file-backed kind created on a directory and destroyed, and the error returns.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <memkind.h>
#include "check.h"

static void exercise(memkind_t kind, const char *name)
{
    char *p = memkind_malloc(kind, 100);
    CHECK_MSG(p != NULL, "%s: memkind_malloc", name);
    if (p == NULL) return;
    memset(p, 0x5a, 100);
    CHECK_MSG(memkind_detect_kind(p) == kind, "%s: detect", name);
    CHECK(memkind_malloc_usable_size(kind, p) >= 100);
    char *q = memkind_realloc(kind, p, 100000);
    CHECK(q != NULL && q[99] == 0x5a && memkind_detect_kind(q) == kind);
    int *z = memkind_calloc(kind, 1000, sizeof(int));
    int zero = 1;
    for (int i = 0; z != NULL && i < 1000; i++) zero &= z[i] == 0;
    CHECK(z != NULL && zero);
    void *a = NULL;
    CHECK(memkind_posix_memalign(kind, &a, 4096, 5000) == 0 && a != NULL && ((uintptr_t)a & 4095) == 0);
    void *big = memkind_malloc(kind, 5 << 20);   /* a huge block: its own mapping */
    CHECK(big != NULL && memkind_detect_kind(big) == kind);
    memkind_free(kind, q);
    memkind_free(NULL, z);            /* NULL kind: found from the pointer */
    memkind_free(kind, a);
    memkind_free(NULL, big);
    CHECK(memkind_realloc(kind, NULL, 10) != NULL);   /* realloc(NULL) allocates (left for the process) */
}

int main(void)
{
    CHECK(MEMKIND_DEFAULT != NULL && MEMKIND_REGULAR != NULL && MEMKIND_DEFAULT != MEMKIND_HUGETLB);
    CHECK(memkind_check_available(MEMKIND_DEFAULT) == MEMKIND_SUCCESS);
    exercise(MEMKIND_DEFAULT, "default");
    CHECK(memkind_check_available(MEMKIND_INTERLEAVE) == MEMKIND_SUCCESS);
    exercise(MEMKIND_INTERLEAVE, "interleave");
    if (memkind_check_available(MEMKIND_HUGETLB) == MEMKIND_SUCCESS) exercise(MEMKIND_HUGETLB, "hugetlb");
    else printf("  note: MEMKIND_HUGETLB unavailable (no huge pages reserved): skipped\n");

    /* HBW: strict fails cleanly on a machine without high-bandwidth memory, preferred falls back. */
    if (memkind_check_available(MEMKIND_HBW) != MEMKIND_SUCCESS) {
        errno = 0;
        CHECK(memkind_malloc(MEMKIND_HBW, 64) == NULL && errno == ENOMEM);
        void *pref = memkind_malloc(MEMKIND_HBW_PREFERRED, 64);
        CHECK(pref != NULL);
        memkind_free(NULL, pref);
    }
    /* Kinds NativeHeap does not provide say so. */
    CHECK(memkind_check_available(MEMKIND_DAX_KMEM) == MEMKIND_ERROR_UNAVAILABLE);
    CHECK(memkind_check_available(MEMKIND_HBW_HUGETLB) != MEMKIND_SUCCESS);
    CHECK(memkind_malloc(MEMKIND_HBW_HUGETLB, 64) == NULL);

    /* A file-backed kind on a directory: allocations go to an unlinked file. */
    char dir[] = "/tmp/nh_memkind_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    memkind_t pmem = NULL;
    CHECK(memkind_create_pmem(dir, 64 << 20, &pmem) == MEMKIND_SUCCESS && pmem != NULL);
    if (pmem != NULL) {
        exercise(pmem, "pmem");
        /* the maximum is enforced as out of memory */
        void *too_big = memkind_malloc(pmem, 200 << 20);
        CHECK(too_big == NULL);
        void *x = memkind_malloc(pmem, 1000);
        CHECK(x != NULL && memkind_detect_kind(x) == pmem && memkind_detect_kind(x) != MEMKIND_DEFAULT);
        memkind_free(pmem, x);
        CHECK(memkind_destroy_kind(pmem) == MEMKIND_SUCCESS);
    }
    CHECK(rmdir(dir) == 0);   /* the file never appeared in the directory */

    /* errors */
    memkind_t k = NULL;
    CHECK(memkind_create_pmem(dir, 64 << 20, &k) == MEMKIND_ERROR_INVALID);     /* directory gone */
    CHECK(memkind_create_pmem("/tmp", 1 << 20, &k) == MEMKIND_ERROR_INVALID);   /* below MEMKIND_PMEM_MIN_SIZE */
    CHECK(memkind_destroy_kind(MEMKIND_DEFAULT) == MEMKIND_SUCCESS);   /* memkind: a no-op for static kinds */
    CHECK(memkind_malloc(MEMKIND_DEFAULT, 8) != NULL);               /* ... which stay usable */
    void *m = (void *)1;
    errno = 777;
    CHECK(memkind_posix_memalign(MEMKIND_DEFAULT, &m, 3, 64) == EINVAL && m == (void *)1 && errno == 777);
    int local;
    CHECK(memkind_detect_kind(&local) == NULL);
    return nh_finish("memkind");
}
