/*
 * nh_realloc_bench.c: how often a growing large block stays in place, NativeHeap's C ABI
 * (libnativeheap.so) against jemalloc's library (libjemalloc.so.2), both through dlopen + dlsym, in
 * one run, interleaved. Two workloads, each REPEATS times:
 *  - grow: one block grown from 100,000 bytes to 2 MB in 16 KiB steps with rallocx (the newest
 *    block, nothing allocated above it);
 *  - grow-blocked: the same, but a 64 KiB block is allocated right after each growth step (so the
 *    pages above are taken and the next step usually has to move or find room elsewhere).
 * Prints per workload: the share of steps that kept the pointer (in place; counted, so independent
 * of machine load), and the median wall and thread-CPU time per step. Usage:
 *   GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384 artifacts/native/bin/nh_realloc_bench
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REPEATS 9
#define STEP 16384
#define FROM 100000
#define TO 2000000
#define MALLOCX_TCACHE_NONE (1 << 8)

typedef void *(*mallocx_fn)(size_t, int);
typedef void *(*rallocx_fn)(void *, size_t, int);
typedef void (*dallocx_fn)(void *, int);

struct allocator { const char *name; mallocx_fn mallocx; rallocx_fn rallocx; dallocx_fn dallocx; };

static double now(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One pass; returns steps kept in place, adds wall/cpu ns per step. */
static int run(struct allocator *al, int blocked, double *wall, double *cpu, int *steps)
{
    void *blockers[TO / STEP + 1];
    int nb = 0, kept = 0, n = 0;
    double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_THREAD_CPUTIME_ID);
    char *p = al->mallocx(FROM, 0);
    p[0] = 1;
    for (size_t size = FROM + STEP; size <= TO; size += STEP) {
        char *q = al->rallocx(p, size, 0);
        if (q == NULL) { fprintf(stderr, "%s: rallocx failed\n", al->name); exit(1); }
        kept += q == p;
        q[size - 1] = 1;
        p = q;
        n++;
        if (blocked) blockers[nb++] = al->mallocx(65536, 0);
    }
    al->dallocx(p, 0);
    for (int i = 0; i < nb; i++) al->dallocx(blockers[i], 0);
    *wall = (now(CLOCK_MONOTONIC) - w0) / n;
    *cpu = (now(CLOCK_THREAD_CPUTIME_ID) - c0) / n;
    *steps = n;
    return kept;
}

static int load(struct allocator *al, const char *name, const char *path)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) { fprintf(stderr, "%s: %s (skipped)\n", name, dlerror()); return 0; }
    al->name = name;
    al->mallocx = (mallocx_fn)dlsym(h, "mallocx");
    al->rallocx = (rallocx_fn)dlsym(h, "rallocx");
    al->dallocx = (dallocx_fn)dlsym(h, "dallocx");
    return al->mallocx && al->rallocx && al->dallocx;
}

int main(int argc, char **argv)
{
    (void)argc;
    char self[PATH_MAX], lib[PATH_MAX + 32];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) return 1;
    self[len] = 0;
    snprintf(lib, sizeof lib, "%s/../libnativeheap.so", dirname(self));
    (void)argv;
    struct allocator al[2];
    int n = 0;
    if (load(&al[n], "nativeheap", lib)) n++;
    if (load(&al[n], "jemalloc", "libjemalloc.so.2")) n++;
    for (int blocked = 0; blocked < 2; blocked++) {
        double walls[2][REPEATS], cpus[2][REPEATS];
        int kept[2] = {0, 0}, steps = 0;
        for (int r = 0; r < REPEATS; r++)            /* interleaved: one pass of each allocator per round */
            for (int a = 0; a < n; a++) kept[a] = run(&al[a], blocked, &walls[a][r], &cpus[a][r], &steps);
        for (int a = 0; a < n; a++) {
            qsort(walls[a], REPEATS, sizeof walls[a][0], cmp);
            qsort(cpus[a], REPEATS, sizeof cpus[a][0], cmp);
            printf("%-13s %-10s in place %3d/%d steps  wall %7.0f ns/step (min %.0f, max %.0f)  cpu %7.0f ns/step\n",
                blocked ? "grow-blocked" : "grow", al[a].name, kept[a], steps,
                walls[a][REPEATS / 2], walls[a][0], walls[a][REPEATS - 1], cpus[a][REPEATS / 2]);
        }
    }
    return 0;
}
