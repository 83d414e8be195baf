/*
 * test_thread_churn.c: a program that keeps starting short-lived threads, each allocating through
 * the library, must not keep growing. Every such thread leaves ~8 KiB of .NET runtime garbage (its
 * per-thread objects) and a thread cache for the heap to reclaim; native/nh_init.c gives the runtime a
 * 4 MiB gen0 budget, so the garbage is collected early. Without that, resident memory grows by about
 * 8 KiB per thread up to ~90 MB before the first collection; the heap's own metadata stays flat.
 */
#include <pthread.h>
#include <stdio.h>
#include <jemalloc/jemalloc.h>
#include "check.h"

static void *one_allocation(void *arg)
{
    (void)arg;
    void *p = mallocx(64, 0);
    if (p != NULL) dallocx(p, 0);
    return p;
}

static long resident_kib(void)
{
    long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL) return -1;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2) resident = -1;
    fclose(f);
    return resident * 4;
}

static int churn(int threads)
{
    int failures = 0;
    for (int i = 0; i < threads; i++) {
        pthread_t t;
        void *r = NULL;
        if (pthread_create(&t, NULL, one_allocation, NULL) != 0) return -1;
        pthread_join(t, &r);
        failures += r == NULL;
    }
    return failures;
}

int main(void)
{
    CHECK(churn(1000) == 0);
    long before = resident_kib();
    CHECK(churn(6000) == 0);
    long after = resident_kib();
    printf("resident: %ld KiB after 1000 threads, %ld KiB after 7000\n", before, after);
    CHECK_MSG(before > 0 && after - before < 16 * 1024, "grew by %ld KiB over 6000 threads", after - before);
    return nh_finish("thread_churn");
}
