/*
 * memkind.h for libnativeheap.so: memkind 1.14's public API (kinds, status codes, heap management,
 * kind configuration, statistics) with memkind's names, values and signatures, so that source written
 * for memkind compiles unchanged against NativeHeap (link with -lnativeheap).
 *
 * Every function and kind of memkind 1.14's memkind.h is provided. Kinds this machine cannot serve
 * (no high-bandwidth, DAX KMEM or HMAT-described memory, no reserved huge pages) report so from
 * memkind_check_available with memkind's code, and their allocations return NULL with errno ENOMEM.
 * The hbw_* API is in hbwmalloc.h; memkind_arena's calls and struct memkind_ops in
 * memkind/internal/memkind_arena.h. docs/c-abi.md has the full contract.
 */
#ifndef MEMKIND_H_NATIVEHEAP
#define MEMKIND_H_NATIVEHEAP

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Memory types for memkind_create_kind (a bit set). */
typedef enum memkind_memtype_t {
    MEMKIND_MEMTYPE_DEFAULT = 1,          /* ordinary memory */
    MEMKIND_MEMTYPE_HIGH_BANDWIDTH = 2    /* high-bandwidth memory */
} memkind_memtype_t;

/* Page binding policies for memkind_create_kind. */
typedef enum memkind_policy_t {
    MEMKIND_POLICY_BIND_LOCAL = 0,
    MEMKIND_POLICY_BIND_ALL,
    MEMKIND_POLICY_PREFERRED_LOCAL,
    MEMKIND_POLICY_INTERLEAVE_LOCAL,
    MEMKIND_POLICY_INTERLEAVE_ALL,
    MEMKIND_POLICY_MAX_VALUE
} memkind_policy_t;

/* Flags for memkind_create_kind: bits 0..7 give log2 of the page size (0 = the default page). */
typedef enum memkind_bits_t {
    MEMKIND_MASK_PAGE_SIZE_2MB = 21ull
} memkind_bits_t;

/* A kind handle: opaque; compare handles, never look inside. */
typedef struct memkind *memkind_t;

enum memkind_const {
    MEMKIND_MAX_KIND = 512,                    /* most kinds that can exist at once */
    MEMKIND_ERROR_MESSAGE_SIZE = 128,          /* size of an error message buffer */
    MEMKIND_PMEM_MIN_SIZE = (1024 * 1024 * 16) /* smallest non-zero max_size a file-backed kind accepts */
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

/* How fast a kind gives freed pages back (memkind_config_set_memory_usage_policy). */
typedef enum memkind_mem_usage_policy {
    MEMKIND_MEM_USAGE_POLICY_DEFAULT = 0,
    MEMKIND_MEM_USAGE_POLICY_CONSERVATIVE = 1,
    MEMKIND_MEM_USAGE_POLICY_MAX_VALUE
} memkind_mem_usage_policy;

/* Statistics for memkind_get_stat. */
typedef enum memkind_stat_type {
    MEMKIND_STAT_TYPE_RESIDENT = 0,
    MEMKIND_STAT_TYPE_ACTIVE = 1,
    MEMKIND_STAT_TYPE_ALLOCATED = 2,
    MEMKIND_STAT_TYPE_MAX_VALUE
} memkind_stat_type;

/* Options for memkind_stats_print (a bit set; jemalloc's malloc_stats_print letters). */
typedef enum memkind_stat_print_opt {
    MEMKIND_STAT_PRINT_ALL = 0,
    MEMKIND_STAT_PRINT_JSON_FORMAT = 1 << 0,
    MEMKIND_STAT_PRINT_OMIT_GENERAL = 1 << 1,
    MEMKIND_STAT_PRINT_OMIT_MERGED_ARENA = 1 << 2,
    MEMKIND_STAT_PRINT_OMIT_DESTROYED_MERGED_ARENA = 1 << 3,
    MEMKIND_STAT_PRINT_OMIT_PER_ARENA = 1 << 4,
    MEMKIND_STAT_PRINT_OMIT_PER_SIZE_CLASS_BINS = 1 << 5,
    MEMKIND_STAT_PRINT_OMIT_PER_SIZE_CLASS_LARGE = 1 << 6,
    MEMKIND_STAT_PRINT_OMIT_MUTEX = 1 << 7,
    MEMKIND_STAT_PRINT_OMIT_EXTENT = 1 << 8
} memkind_stat_print_opt;

/* A configuration for memkind_create_pmem_with_config (opaque). */
struct memkind_config;

struct memkind_config *memkind_config_new(void);
void memkind_config_delete(struct memkind_config *cfg);
void memkind_config_set_path(struct memkind_config *cfg, const char *pmem_dir);
void memkind_config_set_size(struct memkind_config *cfg, size_t pmem_size);
void memkind_config_set_memory_usage_policy(struct memkind_config *cfg, memkind_mem_usage_policy policy);

/* The predefined kinds. */
extern memkind_t MEMKIND_REGULAR;
extern memkind_t MEMKIND_DEFAULT;
extern memkind_t MEMKIND_HUGETLB;
extern memkind_t MEMKIND_INTERLEAVE;
extern memkind_t MEMKIND_HBW;
extern memkind_t MEMKIND_HBW_ALL;
extern memkind_t MEMKIND_HBW_PREFERRED;
extern memkind_t MEMKIND_HBW_HUGETLB;
extern memkind_t MEMKIND_HBW_ALL_HUGETLB;
extern memkind_t MEMKIND_HBW_PREFERRED_HUGETLB;
extern memkind_t MEMKIND_HBW_INTERLEAVE;
extern memkind_t MEMKIND_DAX_KMEM;
extern memkind_t MEMKIND_DAX_KMEM_ALL;
extern memkind_t MEMKIND_DAX_KMEM_PREFERRED;
extern memkind_t MEMKIND_DAX_KMEM_INTERLEAVE;
extern memkind_t MEMKIND_HIGHEST_CAPACITY;
extern memkind_t MEMKIND_HIGHEST_CAPACITY_PREFERRED;
extern memkind_t MEMKIND_HIGHEST_CAPACITY_LOCAL;
extern memkind_t MEMKIND_HIGHEST_CAPACITY_LOCAL_PREFERRED;
extern memkind_t MEMKIND_LOWEST_LATENCY_LOCAL;
extern memkind_t MEMKIND_LOWEST_LATENCY_LOCAL_PREFERRED;
extern memkind_t MEMKIND_HIGHEST_BANDWIDTH_LOCAL;
extern memkind_t MEMKIND_HIGHEST_BANDWIDTH_LOCAL_PREFERRED;
/* memkind's deprecated 1 GiB-page kinds (always unavailable here). */
extern memkind_t MEMKIND_GBTLB;
extern memkind_t MEMKIND_HBW_GBTLB;
extern memkind_t MEMKIND_HBW_PREFERRED_GBTLB;

/* Errors and version. */
void memkind_error_message(int err, char *msg, size_t size);
int memkind_get_version(void);

/* Kind management. */
int memkind_create_kind(memkind_memtype_t memtype_flags, memkind_policy_t policy, memkind_bits_t flags, memkind_t *kind);
int memkind_create_fixed(void *addr, size_t size, memkind_t *kind);
int memkind_create_pmem(const char *dir, size_t max_size, memkind_t *kind);
int memkind_create_pmem_with_config(struct memkind_config *cfg, memkind_t *kind);
int memkind_destroy_kind(memkind_t kind);
int memkind_check_available(memkind_t kind);
ssize_t memkind_get_capacity(memkind_t kind);
int memkind_check_dax_path(const char *pmem_dir);
memkind_t memkind_detect_kind(void *ptr);
int memkind_set_bg_threads(bool state);
/* NativeHeap's name for memkind_arena_update_memory_usage_policy on any kind. */
int memkind_update_memory_usage_policy(memkind_t kind, memkind_mem_usage_policy policy);

/* Statistics. */
int memkind_update_cached_stats(void);
int memkind_get_stat(memkind_t kind, memkind_stat_type stat, size_t *value);
int memkind_stats_print(void (*write_cb)(void *, const char *), void *cbopaque, memkind_stat_print_opt opts);

/* Heap management. */
void *memkind_malloc(memkind_t kind, size_t size);
void *memkind_calloc(memkind_t kind, size_t num, size_t size);
void *memkind_realloc(memkind_t kind, void *ptr, size_t size);
void memkind_free(memkind_t kind, void *ptr);
int memkind_posix_memalign(memkind_t kind, void **memptr, size_t alignment, size_t size);
size_t memkind_malloc_usable_size(memkind_t kind, void *ptr);
void *memkind_defrag_reallocate(memkind_t kind, void *ptr);

#ifdef __cplusplus
}
#endif

#endif /* MEMKIND_H_NATIVEHEAP */
