/*
 * memkind.h for libnativeheap.so: memkind's kind handles, status codes and heap-management calls with
 * memkind's names and signatures, so that source written for memkind compiles unchanged against
 * NativeHeap (link with -lnativeheap).
 *
 * Provided: the predefined kinds (MEMKIND_DEFAULT, MEMKIND_REGULAR, MEMKIND_HUGETLB, ...; kinds this
 * machine cannot serve report MEMKIND_ERROR_UNAVAILABLE from memkind_check_available), file-backed
 * kinds (memkind_create_pmem), kind detection, and the malloc-style calls. memkind's configuration
 * objects, memkind_create_kind, statistics and the deprecated hbw_* / partition API are not provided.
 * docs/c-abi.md has the full contract.
 */
#ifndef MEMKIND_H_NATIVEHEAP
#define MEMKIND_H_NATIVEHEAP

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A kind handle: opaque; compare handles, never look inside. */
typedef struct memkind *memkind_t;

enum memkind_const {
    MEMKIND_MAX_KIND = 512,                    /* most kinds that can exist at once */
    MEMKIND_ERROR_MESSAGE_SIZE = 128,          /* size of an error message buffer */
    MEMKIND_PMEM_MIN_SIZE = (1024 * 1024 * 16) /* smallest max_size a file-backed kind accepts */
};

/* Status codes (memkind's values). */
enum {
    MEMKIND_SUCCESS = 0,
    MEMKIND_ERROR_UNAVAILABLE = -1,
    MEMKIND_ERROR_MBIND = -2,
    MEMKIND_ERROR_MMAP = -3,
    MEMKIND_ERROR_MALLOC = -6,
    MEMKIND_ERROR_ENVIRON = -12,
    MEMKIND_ERROR_INVALID = -13,
    MEMKIND_ERROR_TOOMANY = -15,
    MEMKIND_ERROR_BADOPS = -17,
    MEMKIND_ERROR_HUGETLB = -18,
    MEMKIND_ERROR_MEMTYPE_NOT_AVAILABLE = -20,
    MEMKIND_ERROR_OPERATION_FAILED = -21,
    MEMKIND_ERROR_ARENAS_CREATE = -22,
    MEMKIND_ERROR_RUNTIME = -255
};

/* The predefined kinds. */
extern memkind_t MEMKIND_REGULAR;
extern memkind_t MEMKIND_DEFAULT;
extern memkind_t MEMKIND_HUGETLB;
extern memkind_t MEMKIND_HBW;
extern memkind_t MEMKIND_HBW_ALL;
extern memkind_t MEMKIND_HBW_PREFERRED;
extern memkind_t MEMKIND_HBW_HUGETLB;
extern memkind_t MEMKIND_HBW_ALL_HUGETLB;
extern memkind_t MEMKIND_HBW_PREFERRED_HUGETLB;
extern memkind_t MEMKIND_HBW_INTERLEAVE;
extern memkind_t MEMKIND_INTERLEAVE;
extern memkind_t MEMKIND_DAX_KMEM;
extern memkind_t MEMKIND_DAX_KMEM_ALL;
extern memkind_t MEMKIND_DAX_KMEM_PREFERRED;
extern memkind_t MEMKIND_DAX_KMEM_INTERLEAVE;

/* Kind management. */
int memkind_create_pmem(const char *dir, size_t max_size, memkind_t *kind);
int memkind_destroy_kind(memkind_t kind);
int memkind_check_available(memkind_t kind);
memkind_t memkind_detect_kind(void *ptr);

/* Heap management. */
void *memkind_malloc(memkind_t kind, size_t size);
void *memkind_calloc(memkind_t kind, size_t num, size_t size);
void *memkind_realloc(memkind_t kind, void *ptr, size_t size);
void memkind_free(memkind_t kind, void *ptr);
int memkind_posix_memalign(memkind_t kind, void **memptr, size_t alignment, size_t size);
size_t memkind_malloc_usable_size(memkind_t kind, void *ptr);

#ifdef __cplusplus
}
#endif

#endif /* MEMKIND_H_NATIVEHEAP */
