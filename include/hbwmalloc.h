/*
 * hbwmalloc.h for libnativeheap.so: memkind 1.14's high-bandwidth-memory interface (hbw_*) with its
 * names, values and signatures (link with -lnativeheap). The calls allocate from memkind's HBW kinds
 * according to the fallback policy: HBW_POLICY_PREFERRED (the default) falls back to ordinary memory
 * when the machine has no high-bandwidth memory; BIND, BIND_ALL and INTERLEAVE then return NULL.
 * docs/c-abi.md has the full contract.
 */
#ifndef HBWMALLOC_H_NATIVEHEAP
#define HBWMALLOC_H_NATIVEHEAP

#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What happens when there is not enough high-bandwidth memory. */
typedef enum {
    HBW_POLICY_BIND = 1,        /* fail (NULL) */
    HBW_POLICY_PREFERRED = 2,   /* fall back to ordinary memory (the default) */
    HBW_POLICY_INTERLEAVE = 3,  /* interleave over the HBW nodes, fail when there are none */
    HBW_POLICY_BIND_ALL = 4     /* any HBW node, fail when there is none */
} hbw_policy_t;

/* Page sizes for hbw_posix_memalign_psize. */
typedef enum {
    HBW_PAGESIZE_4KB = 1,
    HBW_PAGESIZE_2MB = 2,
    HBW_PAGESIZE_MAX_VALUE
} hbw_pagesize_t;

/* Flags of hbw_verify_memory_region. */
enum {
    HBW_TOUCH_PAGES = (1 << 0)  /* read and write back the first byte of every page first */
};

hbw_policy_t hbw_get_policy(void);
int hbw_set_policy(hbw_policy_t mode);
int hbw_check_available(void);
int hbw_verify_memory_region(void *addr, size_t size, int flags);
void *hbw_malloc(size_t size);
void *hbw_calloc(size_t num, size_t size);
int hbw_posix_memalign(void **memptr, size_t alignment, size_t size);
int hbw_posix_memalign_psize(void **memptr, size_t alignment, size_t size, hbw_pagesize_t pagesize);
void *hbw_realloc(void *ptr, size_t size);
void hbw_free(void *ptr);
size_t hbw_malloc_usable_size(void *ptr);

#ifdef __cplusplus
}
#endif

#endif /* HBWMALLOC_H_NATIVEHEAP */
