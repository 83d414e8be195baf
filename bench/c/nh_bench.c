/*
 * nh_bench.c: per-call cost, from C, of NativeHeap's C ABI (libnativeheap.so) against jemalloc's own
 * library (libjemalloc.so.2), both loaded the same way (dlopen + dlsym, calls through function
 * pointers), in one run, interleaved:
 *  - mallocx/dallocx pairs (16, 64, 256, 1024 B): one block allocated and freed at a time;
 *  - batches: 1000 mallocx then 1000 dallocx (per pair);
 *  - the standard pair (nh_malloc/nh_free vs jemalloc's malloc/free);
 *  - the reverse P/Invoke transition alone: an empty exported function (nh_abi_nop) against an empty
 *    C function, both called through a function pointer.
 * Prints the median of REPEATS runs in ns per call (or pair). Usage:
 *   GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384 artifacts/native/bin/nh_bench [iterations]
 * (jemalloc needs the tunable to be dlopen'ed; without it its column is skipped.)
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

#define REPEATS 7
#define BATCH 1000

typedef void *(*mallocx_fn)(size_t, int);
typedef void (*dallocx_fn)(void *, int);
typedef void *(*malloc_fn)(size_t);
typedef void (*free_fn)(void *);
typedef void (*nop_fn)(void);

struct allocator {
    const char *name;
    void *handle;
    mallocx_fn mallocx;
    dallocx_fn dallocx;
    malloc_fn malloc;
    free_fn free;
};

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

#define ESCAPE(p) __asm__ volatile("" : : "r"(p) : "memory")

static double pairs(const struct allocator *a, size_t size, long n)
{
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        void *p = a->mallocx(size, 0);
        ESCAPE(p);
        a->dallocx(p, 0);
    }
    return (now_ns() - t0) / (double)n;
}

static double batches(const struct allocator *a, size_t size, long n)
{
    static void *blocks[BATCH];
    long rounds = n / BATCH;
    double t0 = now_ns();
    for (long r = 0; r < rounds; r++) {
        for (int i = 0; i < BATCH; i++) blocks[i] = a->mallocx(size, 0);
        ESCAPE(blocks);
        for (int i = 0; i < BATCH; i++) a->dallocx(blocks[i], 0);
    }
    return (now_ns() - t0) / (double)(rounds * BATCH);
}

static double std_pairs(const struct allocator *a, size_t size, long n)
{
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        void *p = a->malloc(size);
        ESCAPE(p);
        a->free(p);
    }
    return (now_ns() - t0) / (double)n;
}

__attribute__((noinline)) static void c_nop(void)
{
    __asm__ volatile("");
}

static double calls(nop_fn volatile *fp, long n)
{
    nop_fn f = *fp;
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        f();
        __asm__ volatile("" : "+r"(f)); /* the compiler cannot assume f is the same each time */
    }
    return (now_ns() - t0) / (double)n;
}

static int cmp(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return v[n / 2];
}

static int load(struct allocator *a, const char *name, const char *path, const char *malloc_name, const char *free_name)
{
    a->name = name;
    a->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (a->handle == NULL) {
        printf("# %s not loaded: %s\n", name, dlerror());
        return 0;
    }
    a->mallocx = (mallocx_fn)dlsym(a->handle, "mallocx");
    a->dallocx = (dallocx_fn)dlsym(a->handle, "dallocx");
    a->malloc = (malloc_fn)dlsym(a->handle, malloc_name);
    a->free = (free_fn)dlsym(a->handle, free_name);
    if (!a->mallocx || !a->dallocx || !a->malloc || !a->free) {
        printf("# %s: missing symbols\n", name);
        return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 5000000;
    char self[PATH_MAX], nh_path[PATH_MAX + 32];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) return 1;
    self[len] = 0;
    snprintf(nh_path, sizeof nh_path, "%s/../libnativeheap.so", dirname(self));

    struct allocator nh, je;
    if (!load(&nh, "nativeheap", nh_path, "nh_malloc", "nh_free")) return 1;
    int have_je = load(&je, "jemalloc", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2", "malloc", "free");
    nop_fn volatile nh_nop = (nop_fn)dlsym(nh.handle, "nh_abi_nop");
    nop_fn volatile c_fn = c_nop;

    printf("# %ld iterations per measurement, median of %d interleaved runs, ns per pair (or call)\n", n, REPEATS);
    printf("%-28s %12s %12s %8s\n", "measurement", "nativeheap", "jemalloc", "ratio");
    size_t sizes[] = { 16, 64, 256, 1024 };
    for (int kind = 0; kind < 3; kind++) {
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            double a[REPEATS], b[REPEATS];
            for (int r = 0; r < REPEATS; r++) {
                const long m = r == 0 ? n / 10 : n; /* first run: warm-up, cheaper */
                a[r] = kind == 0 ? pairs(&nh, sizes[s], m) : kind == 1 ? batches(&nh, sizes[s], m) : std_pairs(&nh, sizes[s], m);
                b[r] = !have_je ? 0 : kind == 0 ? pairs(&je, sizes[s], m) : kind == 1 ? batches(&je, sizes[s], m) : std_pairs(&je, sizes[s], m);
            }
            double x = median(a, REPEATS), y = median(b, REPEATS);
            char label[64];
            snprintf(label, sizeof label, "%s %zu B", kind == 0 ? "mallocx/dallocx" : kind == 1 ? "batch 1000 mallocx/dallocx" : "malloc/free", sizes[s]);
            if (have_je) printf("%-28s %12.2f %12.2f %8.2f\n", label, x, y, x / y);
            else printf("%-28s %12.2f %12s %8s\n", label, x, "-", "-");
        }
    }
    double t[REPEATS], c[REPEATS];
    for (int r = 0; r < REPEATS; r++) {
        t[r] = calls(&nh_nop, n * 4);
        c[r] = calls(&c_fn, n * 4);
    }
    double tm = median(t, REPEATS), cm = median(c, REPEATS);
    printf("%-28s %12.2f %12s\n", "empty export (nh_abi_nop)", tm, "-");
    printf("%-28s %12.2f %12s\n", "empty C function", cm, "-");
    printf("%-28s %12.2f %12s\n", "transition cost (difference)", tm - cm, "-");
    return 0;
}
