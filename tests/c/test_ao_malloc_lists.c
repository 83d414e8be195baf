/*
 * test_ao_malloc_lists.c: libatomic_ops' test_malloc pattern against AO_malloc, as a test and as a
 * benchmark against the real libatomic_ops AO_malloc and NativeHeap's general heap.
 *
 * The pattern (modelled on libatomic_ops' tests/test_malloc.c, written anew): each of 16 threads
 * builds a linked list of 1,000 nodes whose sizes cycle through 16..416 bytes, then 200 times builds
 * the reversed copy (one allocation per node) and frees the old list, checking every node's data;
 * every 10th reversal also allocates and frees a 200,000-byte object. mmap is enabled first, so the
 * 2 MiB static heap is exceeded and small nodes come from mapped chunks of superblocks.
 *
 *   test_ao_malloc_lists                     the test: the pattern on the linked AO_malloc, checked
 *   test_ao_malloc_lists --bench LIBAO [REPS] [SECONDS]
 *       the benchmark, allocators interleaved in every repetition: "nh" = this library's AO_malloc,
 *       "ao" = LIBAO's (the real libatomic_ops, built as FACTS.md says; loaded with RTLD_DEEPBIND),
 *       "general" = this library's nh_malloc/nh_free. Cases: lists at 16 threads (seconds, wall and
 *       process CPU), pairs (malloc 16..512 B, write, free) and ring (256 live blocks of 16..1,024 B,
 *       replace a random one) at 1, 2, 4, 8 threads (M malloc+free pairs per second, all threads,
 *       and process CPU ns per pair). Prints medians and min..max.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <atomic_ops_malloc.h>
#include "check.h"

typedef void *(*malloc_fn)(size_t);
typedef void (*free_fn)(void *);
typedef struct allocator { const char *name; malloc_fn m; free_fn f; void (*enable_mmap)(void); } allocator;

#define LIST_THREADS 16
#define LIST_LENGTH 1000
#define REVERSALS 200
#define LARGE_SIZE 200000

typedef struct node { struct node *next; int data; int extra; int payload[]; } node;

static const allocator *g_alloc;
static long g_list_errors;

static node *cons(int data, node *tail, int *extra)
{
    int e = *extra;
    *extra = e >= 100 ? 0 : e + 1;
    node *n = g_alloc->m(sizeof(node) + sizeof(int) * (size_t)e);
    if (n == NULL) return NULL;
    n->next = tail;
    n->data = data;
    n->extra = e;
    for (int i = 0; i < e; i++) n->payload[i] = data ^ i;
    return n;
}

static void *list_worker(void *arg)
{
    (void)arg;
    int extra = 0;
    long errors = 0;
    node *list = NULL;
    for (int i = LIST_LENGTH; i >= 1; i--) list = cons(i, list, &extra);
    for (int r = 0; r < REVERSALS; r++) {
        node *rev = NULL;
        int expect = (r % 2 == 0) ? 1 : LIST_LENGTH, step = (r % 2 == 0) ? 1 : -1, count = 0;
        for (node *n = list; n != NULL; n = n->next, expect += step, count++) {
            if (n->data != expect) errors++;
            for (int i = 0; i < n->extra; i++) if (n->payload[i] != (n->data ^ i)) { errors++; break; }
            node *c = cons(n->data, rev, &extra);
            if (c == NULL) { errors++; break; }
            rev = c;
        }
        if (count != LIST_LENGTH) errors++;
        while (list != NULL) { node *next = list->next; g_alloc->f(list); list = next; }
        list = rev;
        if (r % 10 == 0) {
            char *big = g_alloc->m(LARGE_SIZE);
            if (big == NULL) errors++;
            else { big[0] = 1; big[LARGE_SIZE - 1] = 2; g_alloc->f(big); }
        }
    }
    while (list != NULL) { node *next = list->next; g_alloc->f(list); list = next; }
    __atomic_fetch_add(&g_list_errors, errors, __ATOMIC_RELAXED);
    return NULL;
}

static double now(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Runs the list pattern on a; returns wall seconds, *cpu gets the process CPU seconds. */
static double run_lists(const allocator *a, double *cpu)
{
    g_alloc = a;
    pthread_t t[LIST_THREADS];
    double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
    for (int i = 0; i < LIST_THREADS; i++) pthread_create(&t[i], NULL, list_worker, NULL);
    for (int i = 0; i < LIST_THREADS; i++) pthread_join(t[i], NULL);
    *cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
    return now(CLOCK_MONOTONIC) - w0;
}

/* ---- throughput cases ---- */
static volatile int g_stop;
typedef struct tput { const allocator *a; int ring; long pairs; } tput;

static void *tput_worker(void *arg)
{
    tput *t = arg;
    malloc_fn m = t->a->m;
    free_fn f = t->a->f;
    uint64_t s = 0x9E3779B97F4A7C15ULL ^ (uint64_t)(uintptr_t)t;
    long pairs = 0;
    void *ring[256] = { 0 };
    while (!g_stop) {
        for (int i = 0; i < 1024; i++) {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            if (t->ring) {
                int k = (int)(s & 255);
                size_t size = 16 + (s >> 20) % 1009;
                if (ring[k] != NULL) f(ring[k]);
                char *p = m(size);
                if (p != NULL) { p[0] = 1; p[size - 1] = 2; }
                ring[k] = p;
            } else {
                size_t size = 16 + (s >> 20) % 497;
                char *p = m(size);
                if (p != NULL) p[0] = 1;
                f(p);
            }
        }
        pairs += 1024;
    }
    for (int k = 0; k < 256; k++) if (ring[k] != NULL) f(ring[k]);
    t->pairs = pairs;
    return NULL;
}

static double run_tput(const allocator *a, int threads, int ring, double seconds, double *cpu)
{
    tput t[8];
    pthread_t th[8];
    g_stop = 0;
    double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
    for (int i = 0; i < threads; i++) { t[i].a = a; t[i].ring = ring; t[i].pairs = 0; pthread_create(&th[i], NULL, tput_worker, &t[i]); }
    struct timespec d = { (time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9) };
    nanosleep(&d, NULL);
    g_stop = 1;
    long pairs = 0;
    for (int i = 0; i < threads; i++) { pthread_join(th[i], NULL); pairs += t[i].pairs; }
    *cpu = (now(CLOCK_PROCESS_CPUTIME_ID) - c0) / (double)pairs * 1e9; /* CPU ns per pair, all threads */
    double wall = now(CLOCK_MONOTONIC) - w0;
    return pairs / wall / 1e6;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int bench(const char *libao, int reps, double seconds)
{
    void *h = dlopen(libao, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (h == NULL) { fprintf(stderr, "cannot load %s: %s\n", libao, dlerror()); return 2; }
    allocator all[3] = {
        { "nh", AO_malloc, AO_free, AO_malloc_enable_mmap },
        { "ao", (malloc_fn)dlsym(h, "AO_malloc"), (free_fn)dlsym(h, "AO_free"), (void (*)(void))dlsym(h, "AO_malloc_enable_mmap") },
        { "general", (malloc_fn)dlsym(RTLD_DEFAULT, "nh_malloc"), (free_fn)dlsym(RTLD_DEFAULT, "nh_free"), NULL },
    };
    if (all[1].m == NULL) { fprintf(stderr, "%s has no AO_malloc\n", libao); return 2; }
    int general = all[2].m != NULL; /* absent when this file is linked with nh_ao_malloc.c alone */
    all[0].enable_mmap();
    all[1].enable_mmap();
    enum { CASES = 1 + 2 * 4, MAXREPS = 64 };
    static double val[CASES][3][MAXREPS], cpu[CASES][3][MAXREPS];
    const int threads[4] = { 1, 2, 4, 8 };
    if (reps > MAXREPS) reps = MAXREPS;
    for (int r = 0; r < reps; r++) {
        for (int c = 0; c < CASES; c++) {
            for (int k = 0; k < 3; k++) {
                int a = (k + r) % 3; /* rotate the order every repetition */
                if (a == 2 && !general) { val[c][a][r] = 0; cpu[c][a][r] = 0; continue; }
                if (c == 0) {
                    if (a == 2) { val[c][a][r] = 0; cpu[c][a][r] = 0; continue; } /* lists: AO_malloc's interface only */
                    val[c][a][r] = run_lists(&all[a], &cpu[c][a][r]);
                } else {
                    int ring = (c - 1) / 4, n = threads[(c - 1) % 4];
                    val[c][a][r] = run_tput(&all[a], n, ring, seconds, &cpu[c][a][r]);
                }
            }
        }
        fprintf(stderr, "repetition %d of %d done\n", r + 1, reps);
    }
    printf("| case | threads | nh AO_malloc | libatomic_ops AO_malloc | general heap (nh_malloc) | nh / ao | nh / general |\n");
    printf("| --- | --- | --- | --- | --- | --- | --- |\n");
    for (int c = 0; c < CASES; c++) {
        double med[3], lo[3], hi[3], cmed[3];
        for (int a = 0; a < 3; a++) {
            double v[MAXREPS], w[MAXREPS];
            memcpy(v, val[c][a], sizeof(double) * (size_t)reps);
            memcpy(w, cpu[c][a], sizeof(double) * (size_t)reps);
            med[a] = median(v, reps);
            lo[a] = v[0];
            hi[a] = v[reps - 1];
            cmed[a] = median(w, reps);
        }
        if (c == 0) {
            printf("| lists (s, lower is better) | 16 | %.3f (%.3f..%.3f; CPU %.2f) | %.3f (%.3f..%.3f; CPU %.2f) | - | %.2fx faster | - |\n",
                   med[0], lo[0], hi[0], cmed[0], med[1], lo[1], hi[1], cmed[1], med[1] / med[0]);
        } else {
            printf("| %s (M pairs/s) | %d | %.1f (%.1f..%.1f; %.0f CPU ns) | %.1f (%.1f..%.1f; %.0f CPU ns) | %.1f (%.1f..%.1f; %.0f CPU ns) | %.2fx | %.2fx |\n",
                   (c - 1) / 4 ? "ring" : "pairs", threads[(c - 1) % 4], med[0], lo[0], hi[0], cmed[0], med[1], lo[1], hi[1], cmed[1],
                   med[2], lo[2], hi[2], cmed[2], med[0] / med[1], med[0] / med[2]);
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "--bench") == 0)
        return bench(argv[2], argc > 3 ? atoi(argv[3]) : 5, argc > 4 ? atof(argv[4]) : 0.3);
    allocator nh = { "nh", AO_malloc, AO_free, AO_malloc_enable_mmap };
    nh.enable_mmap();
    double cpu, wall = run_lists(&nh, &cpu);
    CHECK_MSG(g_list_errors == 0, "%ld list errors", g_list_errors);
    /* The nodes came from superblocks (arena and chunks), not a mapping each: HeapHeader.LargeCount
       (offset 88) is back to 0 and HeapHeader.ChunkCount (offset 80) stayed small. */
    extern void *nh_ao_heap(void);
    char *h = nh_ao_heap();
    int64_t large = *(volatile int64_t *)(h + 88);
    int32_t chunks = *(volatile int32_t *)(h + 80);
    CHECK_MSG(large == 0, "%lld large objects left", (long long)large);
    CHECK_MSG(chunks > 0 && chunks < 64, "%d chunks mapped", chunks);
    printf("lists: %d threads x %d reversals of %d nodes in %.3f s (CPU %.2f s), %d chunks mapped\n",
           LIST_THREADS, REVERSALS, LIST_LENGTH, wall, cpu, chunks);
    return nh_finish("ao_malloc_lists");
}
