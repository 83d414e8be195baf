/*
 * test_memkind_arena: memkind_arena(3)'s functions, written from the seed's text, used as memkind's
 * own kinds use them: a struct memkind_ops filled with memkind_arena_* calls makes a kind
 * (memkind_create); memkind_malloc & co. on it reach those calls; its arenas are per-thread
 * (memkind_thread_get_arena: 4 per CPU) or one (memkind_bijective_get_arena); memory comes from the
 * kind's mmap operation, or from jemalloc extent hooks given to memkind_arena_create_map.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <memkind/internal/memkind_arena.h>
#include "check.h"

static int g_mmaps, g_inits;

static void *counting_mmap(struct memkind *kind, void *addr, size_t size)
{
    (void)kind;
    __atomic_add_fetch(&g_mmaps, 1, __ATOMIC_RELAXED);
    void *p = mmap(addr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void init_once(void) { g_inits++; }

static struct memkind_ops g_thread_ops = {
    .create = memkind_arena_create,
    .destroy = memkind_arena_destroy,
    .malloc = memkind_arena_malloc,
    .calloc = memkind_arena_calloc,
    .posix_memalign = memkind_arena_posix_memalign,
    .realloc = memkind_arena_realloc,
    .free = memkind_arena_free,
    .mmap = counting_mmap,
    .get_arena = memkind_thread_get_arena,
    .init_once = init_once,
    .finalize = memkind_arena_finalize,
    .malloc_usable_size = NULL,
    .update_memory_usage_policy = memkind_arena_update_memory_usage_policy,
};

static struct memkind_ops g_single_ops = {
    .create = memkind_arena_create,
    .destroy = memkind_arena_destroy,
    .malloc = memkind_arena_malloc,
    .calloc = memkind_arena_pmem_calloc,
    .posix_memalign = memkind_arena_posix_memalign,
    .realloc = memkind_arena_realloc,
    .free = memkind_arena_free,
    .get_arena = memkind_bijective_get_arena,
    .finalize = memkind_arena_finalize,
};

struct arena_result { memkind_t kind; unsigned arena; int rc; };

static void *thread_arena(void *arg)
{
    struct arena_result *r = arg;
    r->rc = memkind_thread_get_arena(r->kind, &r->arena, 64);
    void *p = memkind_malloc(r->kind, 64);
    memkind_free(r->kind, p);
    return NULL;
}

/* extent hooks backed by mmap, to give memkind_arena_create_map */
static int g_hook_allocs;
static void *hook_alloc(extent_hooks_t *h, void *addr, size_t size, size_t alignment, bool *zero, bool *commit, unsigned arena)
{
    (void)h; (void)arena;
    if (addr != NULL) return NULL;
    char *raw = mmap(NULL, size + alignment, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return NULL;
    char *p = (char *)(((uintptr_t)raw + alignment - 1) & ~(uintptr_t)(alignment - 1));
    if (p > raw) munmap(raw, (size_t)(p - raw));
    size_t tail = (size_t)(raw + size + alignment - (p + size));
    if (tail) munmap(p + size, tail);
    *zero = true;
    *commit = true;
    __atomic_add_fetch(&g_hook_allocs, 1, __ATOMIC_RELAXED);
    return p;
}
static bool hook_dalloc(extent_hooks_t *h, void *addr, size_t size, bool committed, unsigned arena)
{
    (void)h; (void)committed; (void)arena;
    return munmap(addr, size) != 0;
}
static extent_hooks_t g_hooks = {.alloc = hook_alloc, .dalloc = hook_dalloc};

int main(void)
{
    memkind_t kind = NULL;
    /* memkind_create: bad ops and names are refused */
    struct memkind_ops empty = {0};
    CHECK(memkind_create(&empty, "nh_empty", &kind) == MEMKIND_ERROR_BADOPS);
    CHECK(memkind_create(NULL, "nh_null", &kind) == MEMKIND_ERROR_BADOPS);
    char long_name[100];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = 0;
    CHECK(memkind_create(&g_thread_ops, long_name, &kind) == MEMKIND_ERROR_INVALID);

    /* a kind with per-thread arenas and its own mmap */
    CHECK(memkind_create(&g_thread_ops, "nh_thread_kind", &kind) == MEMKIND_SUCCESS && kind != NULL);
    CHECK(kind->ops == &g_thread_ops && strcmp(kind->name, "nh_thread_kind") == 0);   /* C and C# see one struct memkind */
    CHECK(g_inits == 1);
    char *p = memkind_malloc(kind, 100);
    CHECK(p != NULL && g_mmaps > 0);
    memset(p, 5, 100);
    CHECK(memkind_detect_kind(p) == kind && memkind_arena_detect_kind(p) == kind);
    CHECK(memkind_arena_malloc_usable_size(p) >= 100 && memkind_malloc_usable_size(kind, p) >= 100);
    p = memkind_realloc(kind, p, 50000);
    CHECK(p != NULL && p[99] == 5 && memkind_detect_kind(p) == kind);
    int *z = memkind_calloc(kind, 5000, sizeof(int));
    int zero = 1;
    for (int i = 0; z != NULL && i < 5000; i++) zero &= z[i] == 0;
    CHECK(z != NULL && zero);
    void *al = NULL;
    CHECK(memkind_posix_memalign(kind, &al, 8192, 100) == 0 && al != NULL && ((uintptr_t)al & 8191) == 0);
    CHECK(memkind_arena_posix_memalign(kind, &al, 3, 100) == EINVAL);
    void *huge = memkind_arena_malloc(kind, 5 << 20);
    CHECK(huge != NULL && memkind_arena_detect_kind(huge) == kind);

    /* arenas: 4 per CPU, threads spread by a hash; get_kind_by_arena maps them back */
    unsigned a0 = 0;
    CHECK(memkind_thread_get_arena(kind, &a0, 64) == 0);
    CHECK(get_kind_by_arena(a0) == kind);
    struct arena_result results[8];
    pthread_t threads[8];
    for (int i = 0; i < 8; i++) {
        results[i].kind = kind;
        pthread_create(&threads[i], NULL, thread_arena, &results[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(threads[i], NULL);
        CHECK(results[i].rc == 0 && get_kind_by_arena(results[i].arena) == kind);
    }
    void *mx = mallocx(64, MALLOCX_ARENA(a0));   /* a kind's arena index is a general-heap arena */
    CHECK(mx != NULL && memkind_arena_detect_kind(mx) == kind);
    dallocx(mx, 0);
    CHECK(get_kind_by_arena(0) == NULL);   /* an automatic arena belongs to no kind */

    /* the *_with_kind_detect calls find the kind from the pointer */
    char *q = memkind_arena_realloc_with_kind_detect(p, 200000);
    CHECK(q != NULL && q[99] == 5 && memkind_arena_detect_kind(q) == kind);
    memkind_arena_free_with_kind_detect(q);
    memkind_arena_free(kind, z);
    memkind_free(NULL, al);
    memkind_free(kind, huge);
    CHECK(memkind_arena_update_memory_usage_policy(kind, MEMKIND_MEM_USAGE_POLICY_CONSERVATIVE) == MEMKIND_SUCCESS);
    CHECK(memkind_arena_update_memory_usage_policy(kind, (memkind_mem_usage_policy)9) == MEMKIND_ERROR_INVALID);
    CHECK(memkind_arena_create_map(kind, NULL) == MEMKIND_ERROR_INVALID);   /* it has its arenas already */
    CHECK(memkind_destroy_kind(kind) == MEMKIND_SUCCESS);

    /* a bijective kind: one arena, memory from the default mmap */
    memkind_t single = NULL;
    CHECK(memkind_create(&g_single_ops, "nh_single_kind", &single) == MEMKIND_SUCCESS);
    unsigned b0 = 0, b1 = 1;
    CHECK(memkind_bijective_get_arena(single, &b0, 64) == 0 && memkind_thread_get_arena(single, &b1, 64) == 0 && b0 == b1);
    int *pz = memkind_calloc(single, 100, sizeof(int));
    CHECK(pz != NULL && pz[99] == 0 && memkind_detect_kind(pz) == single);
    memkind_free(single, pz);
    CHECK(memkind_arena_finalize(single) == MEMKIND_SUCCESS);   /* releases the arenas ... */
    CHECK(memkind_arena_malloc(single, 10) == NULL);            /* ... after which the kind has none */
    memkind_arena_init(single);                                 /* ... until it gets a new map */
    void *again = memkind_arena_malloc(single, 10);
    CHECK(again != NULL && memkind_detect_kind(again) == single);
    memkind_free(single, again);
    CHECK(memkind_destroy_kind(single) == MEMKIND_SUCCESS);

    /* a kind on the caller's own struct memkind and extent hooks */
    static struct memkind mine;
    memset(&mine, 0, sizeof mine);
    mine.ops = &g_single_ops;
    strcpy(mine.name, "nh_hooked");
    CHECK(memkind_arena_create_map(&mine, &g_hooks) == MEMKIND_SUCCESS);
    void *hp = memkind_arena_malloc(&mine, 1000);
    CHECK(hp != NULL && g_hook_allocs > 0 && memkind_arena_detect_kind(hp) == &mine);
    memkind_arena_free(&mine, hp);
    CHECK(memkind_arena_destroy(&mine) == MEMKIND_SUCCESS);
    CHECK(memkind_arena_destroy(&mine) == MEMKIND_ERROR_OPERATION_FAILED);   /* already */
    CHECK(memkind_arena_create(&mine, &g_thread_ops, "nh_recreated") == MEMKIND_SUCCESS && strcmp(mine.name, "nh_recreated") == 0);
    CHECK(memkind_arena_destroy(&mine) == MEMKIND_SUCCESS);

    CHECK(memkind_arena_detect_kind(NULL) == NULL && memkind_arena_malloc_usable_size(NULL) == 0);
    memkind_arena_free_with_kind_detect(NULL);
    return nh_finish("memkind_arena");
}
