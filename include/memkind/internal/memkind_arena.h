/*
 * memkind/internal/memkind_arena.h for libnativeheap.so: memkind_arena(3)'s 19 functions, which
 * implement a kind's operations on arenas, and the struct memkind_ops / struct memkind that
 * user-defined kinds are made of (memkind_create). As in memkind this is an experimental interface.
 *
 * NativeHeap's struct memkind is its own (memkind's private layout is not part of any API): the
 * fields a kind's operations use are here under memkind's names (ops, name, priv); nh_code and
 * nh_flags belong to the library. A kind's arenas are explicit arenas of NativeHeap's general heap,
 * so the index memkind_thread_get_arena/memkind_bijective_get_arena return works with
 * MALLOCX_ARENA(). docs/c-abi.md has the full contract.
 */
#ifndef MEMKIND_ARENA_H_NATIVEHEAP
#define MEMKIND_ARENA_H_NATIVEHEAP

#include <memkind.h>
#include <jemalloc/jemalloc.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { MEMKIND_NAME_LENGTH_PRIV = 64 };

/* A kind's operations (memkind's member order). NULL members are not supported / not needed. */
struct memkind_ops {
    int (*create)(struct memkind *kind, struct memkind_ops *ops, const char *name);
    int (*destroy)(struct memkind *kind);
    void *(*malloc)(struct memkind *kind, size_t size);
    void *(*calloc)(struct memkind *kind, size_t num, size_t size);
    int (*posix_memalign)(struct memkind *kind, void **memptr, size_t alignment, size_t size);
    void *(*realloc)(struct memkind *kind, void *ptr, size_t size);
    void (*free)(struct memkind *kind, void *ptr);
    void *(*mmap)(struct memkind *kind, void *addr, size_t size);
    int (*mbind)(struct memkind *kind, void *ptr, size_t size);
    int (*madvise)(struct memkind *kind, void *addr, size_t size);
    int (*get_mmap_flags)(struct memkind *kind, int *flags);
    int (*get_mbind_mode)(struct memkind *kind, int *mode);
    int (*get_mbind_nodemask)(struct memkind *kind, unsigned long *nodemask, unsigned long maxnode);
    int (*get_arena)(struct memkind *kind, unsigned int *arena, size_t size);
    int (*check_available)(struct memkind *kind);
    void (*init_once)(void);
    int (*finalize)(struct memkind *kind);
    size_t (*malloc_usable_size)(struct memkind *kind, void *ptr);
    int (*update_memory_usage_policy)(struct memkind *kind, memkind_mem_usage_policy policy);
    int (*get_stat)(memkind_t kind, memkind_stat_type stat, size_t *value);
    void *(*defrag_reallocate)(struct memkind *kind, void *ptr);
};

/* A kind (NativeHeap's layout). */
struct memkind {
    int nh_code;                             /* library: <0 predefined, >0 the kind's arenas, 0 none yet */
    int nh_flags;                            /* library */
    struct memkind_ops *ops;                 /* NULL for predefined and file-backed kinds */
    char name[MEMKIND_NAME_LENGTH_PRIV];
    void *priv;                              /* free for the kind's operations */
};

/*
 * Creates a kind from operations (memkind's internal memkind_create, exported here): checks that
 * create, destroy, malloc, calloc, realloc and free are set (else MEMKIND_ERROR_BADOPS), that the
 * name fits (MEMKIND_ERROR_INVALID), calls ops->create and ops->init_once. memkind_malloc & co. on
 * the kind call its operations; memkind_destroy_kind calls ops->destroy and frees the handle.
 */
int memkind_create(struct memkind_ops *ops, const char *name, memkind_t *kind);

int memkind_arena_create(struct memkind *kind, struct memkind_ops *ops, const char *name);
int memkind_arena_create_map(struct memkind *kind, extent_hooks_t *hooks);
int memkind_arena_destroy(struct memkind *kind);
void *memkind_arena_malloc(struct memkind *kind, size_t size);
void *memkind_arena_calloc(struct memkind *kind, size_t num, size_t size);
void *memkind_arena_pmem_calloc(struct memkind *kind, size_t num, size_t size);
int memkind_arena_posix_memalign(struct memkind *kind, void **memptr, size_t alignment, size_t size);
void *memkind_arena_realloc(struct memkind *kind, void *ptr, size_t size);
void *memkind_arena_realloc_with_kind_detect(void *ptr, size_t size);
int memkind_thread_get_arena(struct memkind *kind, unsigned int *arena, size_t size);
int memkind_bijective_get_arena(struct memkind *kind, unsigned int *arena, size_t size);
struct memkind *get_kind_by_arena(unsigned arena_ind);
struct memkind *memkind_arena_detect_kind(void *ptr);
int memkind_arena_finalize(struct memkind *kind);
void memkind_arena_init(struct memkind *kind);
void memkind_arena_free(struct memkind *kind, void *ptr);
void memkind_arena_free_with_kind_detect(void *ptr);
size_t memkind_arena_malloc_usable_size(void *ptr);
int memkind_arena_update_memory_usage_policy(struct memkind *kind, memkind_mem_usage_policy policy);

#ifdef __cplusplus
}
#endif

#endif /* MEMKIND_ARENA_H_NATIVEHEAP */
