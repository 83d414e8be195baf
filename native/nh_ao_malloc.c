/*
 * nh_ao_malloc.c: AO_malloc, AO_free and AO_malloc_enable_mmap for libnativeheap.so, in C so that they
 * never enter the .NET runtime: callable from any thread (including threads the runtime never saw),
 * from a signal handler that interrupts one of these calls on the same thread, and while a garbage
 * collection has the runtime's threads stopped.
 *
 * This file is only the algorithm's few dozen lines over the heap format that the C# side defines:
 * src/NativeHeap/LockFree/LockFreeLayout.cs (structs and constants) and LockFreeCore.cs (the same
 * algorithm, Maged Michael's lock-free allocator, with its invariants and correctness argument). Read
 * those first. nh_ao_layout below exports every offset, size and constant of the shared structs, and
 * LockFreeLayoutTests compares them with the C# view; nh_ao_heap() returns the process-wide heap so a
 * C# LockFreeHeap can attach to it (the two sides then share one heap).
 *
 * The process-wide heap is static: a 2 MiB arena in .bss and its metadata (descriptors for the arena
 * and for up to NH_MAX_CHUNKS mapped chunks, bitmap, active words, partial heads), so it needs no
 * initialisation call and costs no resident memory until used. Requests above 65,520 bytes return NULL
 * until AO_malloc_enable_mmap(); after it they get a mapping each, and small requests the arena cannot
 * serve come from mapped 2 MiB chunks of superblocks. The only system calls are mmap and munmap, made
 * directly (the one place where C calls the OS itself instead of src/NativeHeap/Os: this path must not
 * enter .NET); errno is saved and restored around them. Per-processor rows use sched_getcpu(), which
 * glibc answers from the rseq area or the vDSO without a system call.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include "atomic_ops_malloc.h"

#define NH_EXPORT __attribute__((visibility("default")))

/* ---- the format (LockFreeLayout.cs) ---- */
#define NH_MAGIC 0x4C464D4943480002ULL
#define NH_UNIT_SHIFT 14
#define NH_UNIT_SIZE (1u << NH_UNIT_SHIFT)
#define NH_SB_CLASSES 10
#define NH_CLASSES 13
#define NH_MAX_CREDITS 64u
#define NH_CHUNK_SHIFT 21
#define NH_CHUNK_UNITS (1u << (NH_CHUNK_SHIFT - NH_UNIT_SHIFT))
#define NH_MAX_CHUNKS 512u
#define NH_HASH_SLOTS (2u * NH_MAX_CHUNKS)
#define NH_ROW_WORDS 16u
#define NH_PARTIAL_STRIDE 8u
#define NH_AVAIL_MASK ((1ULL << 11) - 1)
#define NH_COUNT_SHIFT 11
#define NH_COUNT_MASK (((1ULL << 11) - 1) << NH_COUNT_SHIFT)
#define NH_COUNT_ONE (1ULL << NH_COUNT_SHIFT)
#define NH_STATE_SHIFT 22
#define NH_STATE_MASK (3ULL << NH_STATE_SHIFT)
#define NH_TAG_ONE (1ULL << 24)
enum { ST_ACTIVE = 0, ST_FULL = 1, ST_PARTIAL = 2, ST_EMPTY = 3 };
enum { K_FREE = 0, K_SUPERBLOCK = 1, K_RUN = 2, K_RUN_CONT = 3 };
#define NH_MAX_SMALL (65536u - 16u)
#define NH_MAX_SB_SIZE 8192u
#define NH_LARGE_HEADER 16u
#define NH_PAGE 4096u

typedef struct nh_desc {
    uint64_t anchor;
    uint32_t next, kind, size_class, block_size, max_count, units;
    uint8_t pad[32];
} nh_desc;

typedef struct nh_heap {
    uint64_t magic;
    uint8_t *arena;
    nh_desc *descs;
    uint64_t *bitmap;
    uint64_t *actives;
    uint64_t *partial;
    uint8_t **chunks;
    uint64_t *chunk_hash;
    uint32_t arena_units, chunk_unit_base, max_chunks, row_mask;
    int32_t chunk_count, mmap_enabled;
    int64_t large_count, large_bytes, rejected_frees;
    uint64_t mapping_size, arena_size;
    uint8_t pad[128];
} nh_heap;

_Static_assert(sizeof(nh_desc) == 64, "descriptor is one cache line");
_Static_assert(sizeof(nh_heap) == 256, "header is 256 bytes");

/* ---- the static process-wide heap ---- */
#define NH_ARENA_SIZE (2u << 20)
#define NH_ARENA_UNITS (NH_ARENA_SIZE >> NH_UNIT_SHIFT)
#define NH_CHUNK_BASE ((NH_ARENA_UNITS + 63u) & ~63u)
#define NH_ALL_UNITS (NH_CHUNK_BASE + NH_MAX_CHUNKS * NH_CHUNK_UNITS)
#define NH_ROWS 16u

static uint8_t s_arena[NH_ARENA_SIZE] __attribute__((aligned(16384)));
static nh_desc s_descs[NH_ALL_UNITS] __attribute__((aligned(64)));
static uint64_t s_bitmap[NH_ALL_UNITS / 64] __attribute__((aligned(64)));
static uint64_t s_actives[NH_ROWS * NH_ROW_WORDS] __attribute__((aligned(64)));
static uint64_t s_partial[NH_SB_CLASSES * NH_PARTIAL_STRIDE] __attribute__((aligned(64)));
static uint8_t *s_chunks[NH_MAX_CHUNKS];
static uint64_t s_hash[NH_HASH_SLOTS];

static nh_heap s_heap __attribute__((aligned(64))) = {
    .magic = NH_MAGIC, .arena = s_arena, .descs = s_descs, .bitmap = s_bitmap, .actives = s_actives,
    .partial = s_partial, .chunks = s_chunks, .chunk_hash = s_hash, .arena_units = NH_ARENA_UNITS,
    .chunk_unit_base = NH_CHUNK_BASE, .max_chunks = NH_MAX_CHUNKS, .row_mask = NH_ROWS - 1,
    .arena_size = NH_ARENA_SIZE,
};

/* ---- atomics: every CAS is a full barrier (lock cmpxchg), as Interlocked on the C# side ---- */
#define LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
static inline int cas64(uint64_t *p, uint64_t *expected, uint64_t desired)
{
    return __atomic_compare_exchange_n(p, expected, desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_ACQUIRE);
}

static inline uint32_t avail_of(uint64_t a) { return (uint32_t)(a & NH_AVAIL_MASK); }
static inline uint32_t count_of(uint64_t a) { return (uint32_t)((a & NH_COUNT_MASK) >> NH_COUNT_SHIFT); }
static inline uint64_t state_of(uint64_t a) { return (a & NH_STATE_MASK) >> NH_STATE_SHIFT; }
static inline uint64_t with_state(uint64_t a, uint64_t s) { return (a & ~NH_STATE_MASK) | (s << NH_STATE_SHIFT); }
static inline uint64_t with_avail(uint64_t a, uint32_t v) { return (a & ~NH_AVAIL_MASK) | (v & NH_AVAIL_MASK); }
static inline uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }

/* ---- geometry ---- */
static inline uint8_t *unit_base(nh_heap *h, uint32_t u)
{
    if (u < h->arena_units) return h->arena + ((size_t)u << NH_UNIT_SHIFT);
    uint32_t k = u - h->chunk_unit_base;
    return LOAD(&h->chunks[k >> (NH_CHUNK_SHIFT - NH_UNIT_SHIFT)]) + ((size_t)(k & (NH_CHUNK_UNITS - 1)) << NH_UNIT_SHIFT);
}

static inline uint32_t hash_slot(uint64_t chunk)
{
    return (uint32_t)(((chunk >> NH_CHUNK_SHIFT) * 0x9E3779B97F4A7C15ULL) >> (64 - 10)) & (NH_HASH_SLOTS - 1);
}

static uint32_t unit_of(nh_heap *h, uint8_t *p)
{
    size_t off = (size_t)(p - h->arena);
    if (off < h->arena_size) return (uint32_t)(off >> NH_UNIT_SHIFT);
    uint64_t chunk = (uint64_t)(uintptr_t)p & ~((1ULL << NH_CHUNK_SHIFT) - 1);
    if (chunk == 0 || LOAD(&h->chunk_count) == 0) return UINT32_MAX;
    for (uint32_t i = hash_slot(chunk), n = 0; n < NH_HASH_SLOTS; i = (i + 1) & (NH_HASH_SLOTS - 1), n++) {
        uint64_t e = LOAD(&h->chunk_hash[i]);
        if (e == 0) return UINT32_MAX;
        if ((e & ~((1ULL << NH_CHUNK_SHIFT) - 1)) == chunk) {
            uint32_t k = (uint32_t)(e & ((1ULL << NH_CHUNK_SHIFT) - 1)) - 1;
            return h->chunk_unit_base + k * NH_CHUNK_UNITS + (uint32_t)(((uint64_t)(uintptr_t)p - chunk) >> NH_UNIT_SHIFT);
        }
    }
    return UINT32_MAX;
}

static inline uint64_t *active_slot(nh_heap *h, int c)
{
    int cpu = sched_getcpu();
    return h->actives + ((uint32_t)(cpu < 0 ? 0 : cpu) & h->row_mask) * NH_ROW_WORDS + c;
}

static inline int class_of(size_t size)
{
    size_t s = size == 0 ? 1 : size;
    return 64 - __builtin_clzll((uint64_t)((s - 1) | 15)) - 4;
}

/* ---- partial lists (tagged Treiber stacks of descriptors) ---- */
static void list_push(nh_heap *h, int c, uint32_t u)
{
    uint64_t *head = h->partial + c * NH_PARTIAL_STRIDE, old = LOAD(head);
    do {
        STORE(&h->descs[u].next, (uint32_t)old);
    } while (!cas64(head, &old, (((old >> 32) + 1) << 32) | (u + 1)));
}

static uint32_t list_pop(nh_heap *h, int c)
{
    uint64_t *head = h->partial + c * NH_PARTIAL_STRIDE, old = LOAD(head);
    for (;;) {
        uint32_t top = (uint32_t)old;
        if (top == 0) return UINT32_MAX;
        uint32_t next = LOAD(&h->descs[top - 1].next);
        if (cas64(head, &old, (((old >> 32) + 1) << 32) | next)) return top - 1;
    }
}

/* ---- the pool ---- */
static void retire(nh_heap *h, uint32_t u)
{
    nh_desc *d = h->descs + u;
    uint32_t n = LOAD(&d->kind) == K_RUN ? d->units : 1;
    for (uint32_t i = n; i-- > 0;) STORE(&h->descs[u + i].kind, (uint32_t)K_FREE);
    uint64_t bits = ((1ULL << n) - 1) << (u & 63), *word = h->bitmap + (u >> 6), old = LOAD(word);
    while (!cas64(word, &old, old & ~bits)) {}
}

static uint32_t take_in_word(nh_heap *h, uint32_t w, uint32_t valid, uint32_t n)
{
    uint64_t *word = h->bitmap + w, mask = valid == 64 ? ~0ULL : (1ULL << valid) - 1, old = LOAD(word);
    for (;;) {
        uint64_t f = ~old & mask, g;
        if (n == 1) g = f;
        else if (n == 2) g = f & (f >> 1) & 0x5555555555555555ULL;
        else g = f & (f >> 1) & (f >> 2) & (f >> 3) & 0x1111111111111111ULL;
        if (g == 0) return UINT32_MAX;
        int pos = n == 1 ? __builtin_ctzll(g) : 63 - __builtin_clzll(g);
        if (cas64(word, &old, old | (((1ULL << n) - 1) << pos))) return w * 64 + (uint32_t)pos;
    }
}

static uint32_t take_from_zones(nh_heap *h, uint32_t n)
{
    uint32_t words = (h->arena_units + 63) >> 6;
    for (uint32_t i = 0; i < words; i++) {
        uint32_t w = n == 1 ? i : words - 1 - i;
        uint32_t u = take_in_word(h, w, min_u32(64, h->arena_units - w * 64), n);
        if (u != UINT32_MAX) return u;
    }
    int32_t chunks = LOAD(&h->chunk_count);
    if (chunks > (int32_t)h->max_chunks) chunks = (int32_t)h->max_chunks;
    for (int32_t k = 0; k < chunks; k++) {
        if (LOAD(&h->chunks[k]) == NULL) continue;
        uint32_t w0 = (h->chunk_unit_base + (uint32_t)k * NH_CHUNK_UNITS) >> 6;
        for (uint32_t i = 0; i < NH_CHUNK_UNITS / 64; i++) {
            uint32_t u = take_in_word(h, w0 + i, 64, n);
            if (u != UINT32_MAX) return u;
        }
    }
    return UINT32_MAX;
}

/* mmap of `size` bytes aligned to `align` (a power of two >= the page size); NULL on failure; errno kept. */
static void *map_aligned(size_t size, size_t align)
{
    int saved = errno;
    uint8_t *p = mmap(NULL, size + align - NH_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { errno = saved; return NULL; }
    uint8_t *a = (uint8_t *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
    if (a > p) munmap(p, (size_t)(a - p));
    size_t tail = (size_t)((p + size + align - NH_PAGE) - (a + size));
    if (tail) munmap(a + size, tail);
    errno = saved;
    return a;
}

static int map_chunk(nh_heap *h)
{
    int32_t k = __atomic_fetch_add(&h->chunk_count, 1, __ATOMIC_SEQ_CST);
    if (k >= (int32_t)h->max_chunks) return 0;
    uint8_t *p = map_aligned((size_t)1 << NH_CHUNK_SHIFT, (size_t)1 << NH_CHUNK_SHIFT);
    if (p == NULL) return 0; /* the slot stays reserved and empty */
    uint64_t chunk = (uint64_t)(uintptr_t)p, zero;
    for (uint32_t i = hash_slot(chunk);; i = (i + 1) & (NH_HASH_SLOTS - 1)) {
        zero = 0;
        if (cas64(&h->chunk_hash[i], &zero, chunk | (uint32_t)(k + 1))) break;
    }
    STORE(&h->chunks[k], p);
    return 1;
}

static void reclaim(nh_heap *h);

static uint32_t take_units(nh_heap *h, uint32_t n)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        uint32_t u = take_from_zones(h, n);
        if (u != UINT32_MAX) return u;
        if (attempt == 0) reclaim(h);
    }
    while (LOAD(&h->mmap_enabled)) {
        if (!map_chunk(h)) return UINT32_MAX;
        uint32_t u = take_from_zones(h, n);
        if (u != UINT32_MAX) return u;
    }
    return UINT32_MAX;
}

/* ---- superblocks (Michael's MallocFromActive / UpdateActive / MallocFromPartial / MallocFromNewSB) ---- */
static void update_active(nh_heap *h, uint64_t *slot, uint32_t u, uint32_t credits)
{
    uint64_t zero = 0;
    if (cas64(slot, &zero, (u + 1) | ((uint64_t)(credits - 1) << 32))) return;
    nh_desc *d = h->descs + u;
    uint64_t a = LOAD(&d->anchor);
    while (!cas64(&d->anchor, &a, with_state(a + credits * NH_COUNT_ONE, ST_PARTIAL) + NH_TAG_ONE)) {}
    list_push(h, (int)d->size_class, u);
}

/* Takes up to `want` blocks from the row's active superblock: first its credits (CAS on the active
   word), then the blocks themselves, all in one CAS on the anchor (the avail chain cannot change while
   the anchor's tag does not, so the links read on the way are the true ones). Returns how many (0: no
   active superblock). The taker of the last credit refills credits or marks the superblock FULL. */
static uint32_t malloc_from_active(nh_heap *h, uint64_t *slot, uint32_t want, void **out)
{
    uint64_t old = LOAD(slot), desired;
    uint32_t take;
    do {
        if (old == 0) return 0;
        uint32_t credits = (uint32_t)(old >> 32) + 1;
        take = min_u32(want, credits);
        desired = take == credits ? 0 : old - ((uint64_t)take << 32);
    } while (!cas64(slot, &old, desired));
    uint32_t u = (uint32_t)old - 1, more;
    nh_desc *d = h->descs + u;
    uint8_t *sb = unit_base(h, u);
    int last = desired == 0;
    uint32_t size = d->block_size, max = d->max_count;
    uint64_t a = LOAD(&d->anchor), na;
    for (;;) {
        uint32_t avail = avail_of(a), i;
        for (i = 0; i < take; i++) {
            if (avail >= max) break; /* a link read from a block taken meanwhile: the snapshot is stale */
            uint8_t *block = sb + avail * size;
            out[i] = block;
            avail = LOAD((uint32_t *)block);
        }
        if (i < take) { a = LOAD(&d->anchor); continue; }
        na = with_avail(a, avail) + NH_TAG_ONE;
        more = 0;
        if (last) {
            uint32_t count = count_of(a);
            if (count == 0) na = with_state(na, ST_FULL);
            else { more = min_u32(count, NH_MAX_CREDITS); na -= more * NH_COUNT_ONE; }
        }
        if (cas64(&d->anchor, &a, na)) break;
    }
    if (more > 0) update_active(h, slot, u, more);
    return take;
}

static uint8_t *malloc_from_partial(nh_heap *h, int c, uint64_t *slot)
{
    for (;;) {
        uint32_t u = list_pop(h, c), more = 0;
        if (u == UINT32_MAX) return NULL;
        nh_desc *d = h->descs + u;
        uint64_t a = LOAD(&d->anchor), na;
        int retired = 0;
        for (;;) {
            if (state_of(a) == ST_EMPTY) { retire(h, u); retired = 1; break; }
            more = min_u32(count_of(a) - 1, NH_MAX_CREDITS);
            na = with_state(a - (more + 1) * NH_COUNT_ONE, more > 0 ? ST_ACTIVE : ST_FULL) + NH_TAG_ONE;
            if (cas64(&d->anchor, &a, na)) break;
        }
        if (retired) continue;
        uint8_t *sb = unit_base(h, u), *block;
        a = LOAD(&d->anchor);
        do {
            block = sb + avail_of(a) * d->block_size;
            na = with_avail(a, LOAD((uint32_t *)block)) + NH_TAG_ONE;
        } while (!cas64(&d->anchor, &a, na));
        if (more > 0) update_active(h, slot, u, more);
        return block;
    }
}

static uint8_t *malloc_from_new_sb(nh_heap *h, int c, uint64_t *slot, int *no_memory)
{
    uint32_t u = take_units(h, 1);
    *no_memory = u == UINT32_MAX;
    if (*no_memory) return NULL;
    nh_desc *d = h->descs + u;
    uint8_t *sb = unit_base(h, u);
    uint32_t size = 16u << c, max = NH_UNIT_SIZE / size;
    for (uint32_t i = 1; i < max - 1; i++) *(uint32_t *)(sb + i * size) = i + 1;
    uint32_t credits = min_u32(max - 1, NH_MAX_CREDITS);
    d->size_class = (uint32_t)c;
    d->block_size = size;
    d->max_count = max;
    d->units = 0;
    d->next = 0;
    uint64_t tag = LOAD(&d->anchor) & ~(NH_TAG_ONE - 1);
    STORE(&d->anchor, (tag + NH_TAG_ONE) | 1 | ((uint64_t)(max - 1 - credits) << NH_COUNT_SHIFT) | ((uint64_t)ST_ACTIVE << NH_STATE_SHIFT));
    STORE(&d->kind, (uint32_t)K_SUPERBLOCK);
    uint64_t zero = 0;
    if (cas64(slot, &zero, (u + 1) | ((uint64_t)(credits - 1) << 32))) return sb;
    retire(h, u);
    return NULL;
}

static void sweep_partial(nh_heap *h, int c, int limit)
{
    uint32_t keep = UINT32_MAX;
    for (int i = 0; i < limit; i++) {
        uint32_t u = list_pop(h, c);
        if (u == UINT32_MAX) break;
        if (state_of(LOAD(&h->descs[u].anchor)) == ST_EMPTY) retire(h, u);
        else { h->descs[u].next = keep == UINT32_MAX ? 0 : keep + 1; keep = u; }
    }
    while (keep != UINT32_MAX) {
        uint32_t next = h->descs[keep].next;
        list_push(h, c, keep);
        keep = next == 0 ? UINT32_MAX : next - 1;
    }
}

static void reclaim(nh_heap *h)
{
    for (uint32_t row = 0; row <= h->row_mask; row++) {
        for (int c = 0; c < NH_SB_CLASSES; c++) {
            uint64_t old = __atomic_exchange_n(&h->actives[row * NH_ROW_WORDS + c], 0, __ATOMIC_SEQ_CST);
            if (old == 0) continue;
            uint32_t u = (uint32_t)old - 1, credits = (uint32_t)(old >> 32) + 1;
            nh_desc *d = h->descs + u;
            uint64_t a = LOAD(&d->anchor), na;
            do {
                na = a + credits * NH_COUNT_ONE + NH_TAG_ONE;
                na = with_state(na, count_of(na) == d->max_count ? ST_EMPTY : ST_PARTIAL);
            } while (!cas64(&d->anchor, &a, na));
            if (state_of(na) == ST_EMPTY) retire(h, u);
            else list_push(h, c, u);
        }
    }
    for (int c = 0; c < NH_SB_CLASSES; c++) sweep_partial(h, c, 1 << 30);
}

/* ---- runs and large objects ---- */
static uint8_t *allocate_run(nh_heap *h, int c, uint32_t units)
{
    uint32_t u = take_units(h, units);
    if (u == UINT32_MAX) return NULL;
    nh_desc *d = h->descs + u;
    for (uint32_t i = 1; i < units; i++) STORE(&h->descs[u + i].kind, (uint32_t)K_RUN_CONT);
    d->size_class = (uint32_t)c;
    d->block_size = units << NH_UNIT_SHIFT;
    d->max_count = 1;
    d->units = units;
    uint64_t tag = LOAD(&d->anchor) & ~(NH_TAG_ONE - 1);
    STORE(&d->anchor, (tag + NH_TAG_ONE) | ((uint64_t)ST_FULL << NH_STATE_SHIFT));
    STORE(&d->kind, (uint32_t)K_RUN);
    return unit_base(h, u);
}

static int free_run(nh_heap *h, uint8_t *p, uint32_t u, nh_desc *d)
{
    if (LOAD(&d->kind) != K_RUN || p != unit_base(h, u)) return 0;
    uint64_t a = LOAD(&d->anchor);
    if (state_of(a) != ST_FULL || !cas64(&d->anchor, &a, with_state(a, ST_EMPTY) + NH_TAG_ONE)) return 0;
    retire(h, u);
    return 1;
}

static void *large_allocate(nh_heap *h, size_t size)
{
    size_t total = size + NH_LARGE_HEADER + NH_PAGE - 1;
    if (total < size) return NULL;
    total &= ~(size_t)(NH_PAGE - 1);
    uint64_t *w = map_aligned(total, NH_PAGE);
    if (w == NULL) return NULL;
    w[0] = NH_MAGIC ^ (uint64_t)(uintptr_t)h;
    w[1] = total;
    __atomic_fetch_add(&h->large_count, 1, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&h->large_bytes, (int64_t)total, __ATOMIC_SEQ_CST);
    return (uint8_t *)w + NH_LARGE_HEADER;
}

static int large_free(nh_heap *h, void *p)
{
    if (((uintptr_t)p & (NH_PAGE - 1)) != NH_LARGE_HEADER) return 0;
    uint64_t *w = (uint64_t *)((uint8_t *)p - NH_LARGE_HEADER), total = LOAD(&w[1]), magic = NH_MAGIC ^ (uint64_t)(uintptr_t)h;
    if (total == 0 || total % NH_PAGE != 0) return 0;
    if (!cas64(&w[0], &magic, 0)) return 0;
    int saved = errno;
    int ok = munmap(w, total) == 0;
    errno = saved;
    if (!ok) return 0;
    __atomic_fetch_sub(&h->large_count, 1, __ATOMIC_SEQ_CST);
    __atomic_fetch_sub(&h->large_bytes, (int64_t)total, __ATOMIC_SEQ_CST);
    return 1;
}

/* ---- the calls ---- */

/* Up to `want` blocks of superblock class c (at least one unless memory is exhausted). */
static uint32_t malloc_small(nh_heap *h, int c, uint32_t want, void **out)
{
    uint64_t *slot = active_slot(h, c);
    uint32_t n = malloc_from_active(h, slot, want, out);
    while (n == 0) {
        int no_memory;
        if ((out[0] = malloc_from_partial(h, c, slot)) != NULL) return 1;
        if ((out[0] = malloc_from_new_sb(h, c, slot, &no_memory)) != NULL) return 1;
        /* take_units reclaimed every row's active superblock onto the partial lists before it gave
         * up (a thread that moved to another CPU left one there): one more look before NULL. */
        if (no_memory) return (out[0] = malloc_from_partial(h, c, slot)) != NULL;
        n = malloc_from_active(h, slot, want, out);
    }
    return n;
}

static void *heap_malloc(nh_heap *h, size_t size)
{
    if (size <= NH_MAX_SB_SIZE) {
        int c = class_of(size);
        void *p = NULL;
        if (malloc_small(h, c, 1, &p) != 0) return p;
    } else if (size <= NH_MAX_SMALL) {
        int c = class_of(size);
        uint8_t *p = allocate_run(h, c, 1u << (c - NH_SB_CLASSES));
        if (p != NULL) return p;
    }
    return LOAD(&h->mmap_enabled) ? large_allocate(h, size) : NULL;
}

/* Pushes the k blocks b[0..k-1] (live blocks of superblock u) on its avail chain with one CAS. */
static void free_chain(nh_heap *h, uint32_t u, void **b, uint32_t k)
{
    nh_desc *d = h->descs + u;
    uint8_t *sb = unit_base(h, u);
    uint32_t size = d->block_size;
    for (uint32_t i = 0; i + 1 < k; i++) *(uint32_t *)b[i] = (uint32_t)(((uint8_t *)b[i + 1] - sb) / size);
    uint32_t first = (uint32_t)(((uint8_t *)b[0] - sb) / size);
    uint64_t a = LOAD(&d->anchor), na;
    do {
        STORE((uint32_t *)b[k - 1], avail_of(a));
        na = with_avail(a, first) + k * NH_COUNT_ONE + NH_TAG_ONE;
        if (state_of(a) == ST_FULL) na = with_state(na, ST_PARTIAL);
        if (count_of(na) == d->max_count) na = with_state(na, ST_EMPTY);
    } while (!cas64(&d->anchor, &a, na));
    /* FULL -> EMPTY in one CAS (the chain was every block): on no list, in no active word, nothing
     * live: this thread alone holds it. */
    if (state_of(na) == ST_EMPTY) {
        if (state_of(a) == ST_FULL) retire(h, u);
        else sweep_partial(h, (int)d->size_class, 8);
    }
    else if (state_of(a) == ST_FULL) list_push(h, (int)d->size_class, u);
}

static void heap_free(nh_heap *h, void *ptr)
{
    uint8_t *p = ptr;
    if (p == NULL) return;
    uint32_t u = unit_of(h, p);
    if (u == UINT32_MAX) {
        if (!large_free(h, p)) __atomic_fetch_add(&h->rejected_frees, 1, __ATOMIC_SEQ_CST);
        return;
    }
    nh_desc *d = h->descs + u;
    if (LOAD(&d->kind) != K_SUPERBLOCK) {
        if (!free_run(h, p, u, d)) __atomic_fetch_add(&h->rejected_frees, 1, __ATOMIC_SEQ_CST);
        return;
    }
    uint8_t *sb = unit_base(h, u);
    uint32_t size = d->block_size;
    size_t off = (size_t)(p - sb);
    if ((off & (size - 1)) != 0) { __atomic_fetch_add(&h->rejected_frees, 1, __ATOMIC_SEQ_CST); return; }
    uint32_t index = (uint32_t)(off / size);
    uint64_t a = LOAD(&d->anchor), na;
    do {
        if (avail_of(a) == index && state_of(a) != ST_FULL && count_of(a) > 0) {
            __atomic_fetch_add(&h->rejected_frees, 1, __ATOMIC_SEQ_CST); /* immediate double free */
            return;
        }
        STORE((uint32_t *)p, avail_of(a));
        na = with_avail(a, index) + NH_COUNT_ONE + NH_TAG_ONE;
        if (state_of(a) == ST_FULL) na = with_state(na, ST_PARTIAL);
        if (count_of(na) == d->max_count) na = with_state(na, ST_EMPTY);
    } while (!cas64(&d->anchor, &a, na));
    if (state_of(na) == ST_EMPTY) sweep_partial(h, (int)d->size_class, 8);
    else if (state_of(a) == ST_FULL) list_push(h, (int)d->size_class, u);
}

/* ---- the per-thread cache (C only: a private front of the shared heap; the format does not know it) ----
   Each thread keeps up to cache_cap(c) free blocks per superblock class (at most 8 KiB per class, so
   at most ~48 KiB per thread), so that a malloc/free pair on one thread needs no atomic operation at
   all. A refill takes up to half the capacity from the active superblock with two CASes; a full cache
   returns half of it to the superblocks. The cache is signal-safe by one thread-local flag: `busy` is
   set while the thread works on its cache, and a call that finds it set (a signal handler that
   interrupted AO_malloc/AO_free on this thread) bypasses the cache and uses the shared lock-free
   heap. A thread's cache goes back to the heap when the thread exits (a pthread key destructor),
   when AO_malloc finds the heap exhausted (the thread's own cache), or on nh_ao_thread_flush(). */
#define NH_CACHE_BYTES 8192u
#define NH_CACHE_MAX 32u

typedef struct nh_cache {
    volatile int busy;
    int registered;
    uint32_t n[NH_SB_CLASSES];
    void *blocks[NH_SB_CLASSES][NH_CACHE_MAX];
    uint32_t units[NH_SB_CLASSES][NH_CACHE_MAX]; /* the unit of each cached block */
} nh_cache;

/* One initial-exec TLS word (8 bytes of static TLS: one fs-relative load) points at the thread's cache,
   which is itself a block of the heap, made on the thread's first call. */
static __thread nh_cache *t_cache __attribute__((tls_model("initial-exec")));
static pthread_key_t s_cache_key;
static int s_cache_enabled;

static inline uint32_t cache_cap(int c)
{
    uint32_t cap = NH_CACHE_BYTES >> (4 + c);
    return cap > NH_CACHE_MAX ? NH_CACHE_MAX : cap;
}

#define SIGNAL_FENCE() __atomic_signal_fence(__ATOMIC_SEQ_CST)

/* Frees the cached blocks above `keep`; consecutive blocks of one superblock go back as one chain. */
static void cache_drain(nh_cache *t, int c, uint32_t keep)
{
    while (t->n[c] > keep) {
        uint32_t top = t->n[c], u = t->units[c][top - 1], first = top - 1;
        while (first > keep && t->units[c][first - 1] == u) first--;
        free_chain(&s_heap, u, &t->blocks[c][first], top - first);
        t->n[c] = first;
    }
}

static void cache_flush_all(nh_cache *t)
{
    for (int c = 0; c < NH_SB_CLASSES; c++) cache_drain(t, c, 0);
}

static void cache_on_thread_exit(void *arg)
{
    nh_cache *t = arg;
    t->busy = 1;
    SIGNAL_FENCE();
    cache_flush_all(t);
    t_cache = NULL; /* a later call in another destructor makes a new cache */
    SIGNAL_FENCE();
    heap_free(&s_heap, t);
}

/* The thread's cache, made on first use; NULL when caching is off or no memory is left. A signal
   handler that interrupts the making makes its own and installs it first; the interrupted call then
   sees the slot taken and gives its block back. */
static nh_cache *cache_make(void)
{
    if (!s_cache_enabled) return NULL;
    nh_cache *mine = heap_malloc(&s_heap, sizeof(nh_cache)), *none = NULL;
    if (mine == NULL) return NULL;
    memset(mine, 0, sizeof *mine);
    if (!__atomic_compare_exchange_n(&t_cache, &none, mine, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
        heap_free(&s_heap, mine);
        return none;
    }
    return mine;
}

__attribute__((constructor)) static void cache_init(void)
{
    s_cache_enabled = pthread_key_create(&s_cache_key, cache_on_thread_exit) == 0;
}

/* With t->busy set: registers the thread's cache for its exit (glibc's pthread_setspecific takes no
   lock and allocates nothing for the first 32 keys). */
static inline int cache_ready(nh_cache *t)
{
    if (__builtin_expect(t->registered, 1)) return 1;
    t->registered = 1;
    pthread_setspecific(s_cache_key, t);
    return 1;
}

static void *cache_refill(nh_cache *t, int c)
{
    void *got[NH_CACHE_MAX];
    uint32_t want = cache_cap(c) / 2;
    uint32_t n = malloc_small(&s_heap, c, want == 0 ? 1 : want, got);
    if (n == 0) {
        cache_flush_all(t); /* the heap is exhausted: give back what this thread holds, and retry once */
        n = malloc_small(&s_heap, c, 1, got);
        if (n == 0) return NULL;
    }
    for (uint32_t i = 1; i < n; i++) {
        t->units[c][t->n[c]] = unit_of(&s_heap, got[i]);
        t->blocks[c][t->n[c]++] = got[i];
    }
    return got[0];
}

NH_EXPORT void *AO_malloc(size_t size)
{
    nh_cache *t = t_cache;
    if (__builtin_expect(t == NULL, 0)) t = cache_make();
    if (size <= NH_MAX_SB_SIZE && t != NULL && !t->busy) {
        int c = class_of(size);
        void *p = NULL;
        t->busy = 1;
        SIGNAL_FENCE();
        if (t->n[c] != 0) p = t->blocks[c][--t->n[c]];
        else if (cache_ready(t)) p = cache_refill(t, c);
        SIGNAL_FENCE();
        t->busy = 0;
        if (p != NULL) return p;
    }
    return heap_malloc(&s_heap, size);
}

NH_EXPORT void AO_free(void *ptr)
{
    nh_cache *t = t_cache;
    uint8_t *p = ptr;
    if (p != NULL && t != NULL && !t->busy) {
        uint32_t u = unit_of(&s_heap, p);
        if (u != UINT32_MAX) {
            nh_desc *d = s_heap.descs + u;
            uint32_t size = d->block_size;
            if (LOAD(&d->kind) == K_SUPERBLOCK && ((size_t)(p - unit_base(&s_heap, u)) & (size - 1)) == 0) {
                int c = (int)d->size_class;
                t->busy = 1;
                SIGNAL_FENCE();
                int cached = cache_ready(t);
                if (cached) {
                    if (t->n[c] >= cache_cap(c)) cache_drain(t, c, cache_cap(c) / 2);
                    t->units[c][t->n[c]] = u;
                    t->blocks[c][t->n[c]++] = p;
                }
                SIGNAL_FENCE();
                t->busy = 0;
                if (cached) return;
            }
        }
    }
    heap_free(&s_heap, p);
}

NH_EXPORT void AO_malloc_enable_mmap(void) { STORE(&s_heap.mmap_enabled, 1); }

/* Returns the calling thread's cached blocks, and the cache itself, to the shared heap (for example
   before the heap is inspected from C#); the next call makes a new cache. Does nothing in a signal
   handler that interrupted AO_malloc/AO_free. */
NH_EXPORT void nh_ao_thread_flush(void)
{
    nh_cache *t = t_cache;
    if (t == NULL || t->busy) return;
    t->busy = 1;
    SIGNAL_FENCE();
    cache_flush_all(t);
    if (t->registered) pthread_setspecific(s_cache_key, NULL);
    t_cache = NULL;
    SIGNAL_FENCE();
    heap_free(&s_heap, t);
}

/* The process-wide heap's header, for a C# LockFreeHeap that shares it (LockFreeHeap.Attach). */
NH_EXPORT void *nh_ao_heap(void) { return &s_heap; }

/* Offsets, sizes and constants of the shared format, compared with the C# view by LockFreeLayoutTests.
   Pairs of (name, value), ended by a null name. */
typedef struct nh_layout_entry { const char *name; int64_t value; } nh_layout_entry;
#define F(s, f) { #s "." #f, (int64_t)offsetof(s, f) }
NH_EXPORT const nh_layout_entry nh_ao_layout[] = {
    { "sizeof(HeapHeader)", sizeof(nh_heap) },
    F(nh_heap, magic), F(nh_heap, arena), F(nh_heap, descs), F(nh_heap, bitmap), F(nh_heap, actives),
    F(nh_heap, partial), F(nh_heap, chunks), F(nh_heap, chunk_hash), F(nh_heap, arena_units),
    F(nh_heap, chunk_unit_base), F(nh_heap, max_chunks), F(nh_heap, row_mask), F(nh_heap, chunk_count),
    F(nh_heap, mmap_enabled), F(nh_heap, large_count), F(nh_heap, large_bytes), F(nh_heap, rejected_frees),
    F(nh_heap, mapping_size), F(nh_heap, arena_size),
    { "sizeof(Descriptor)", sizeof(nh_desc) },
    F(nh_desc, anchor), F(nh_desc, next), F(nh_desc, kind), F(nh_desc, size_class), F(nh_desc, block_size),
    F(nh_desc, max_count), F(nh_desc, units),
    { "Magic", (int64_t)NH_MAGIC }, { "UnitShift", NH_UNIT_SHIFT }, { "SuperblockClassCount", NH_SB_CLASSES },
    { "ClassCount", NH_CLASSES }, { "MaxCredits", NH_MAX_CREDITS }, { "ChunkShift", NH_CHUNK_SHIFT },
    { "MaxChunks", NH_MAX_CHUNKS }, { "ChunkHashSlots", NH_HASH_SLOTS }, { "ActiveRowWords", NH_ROW_WORDS },
    { "PartialStrideWords", NH_PARTIAL_STRIDE }, { "AvailMask", (int64_t)NH_AVAIL_MASK },
    { "CountShift", NH_COUNT_SHIFT }, { "StateShift", NH_STATE_SHIFT }, { "TagOne", (int64_t)NH_TAG_ONE },
    { "Active", ST_ACTIVE }, { "Full", ST_FULL }, { "Partial", ST_PARTIAL }, { "Empty", ST_EMPTY },
    { "KindFree", K_FREE }, { "KindSuperblock", K_SUPERBLOCK }, { "KindRun", K_RUN }, { "KindRunContinuation", K_RUN_CONT },
    { "MaxSmallSize", NH_MAX_SMALL }, { "MaxSuperblockSize", NH_MAX_SB_SIZE }, { "LargeHeaderSize", NH_LARGE_HEADER },
    { 0, 0 },
};
