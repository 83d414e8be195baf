/*
 * test_ao_malloc.c: AO_malloc's interface through libnativeheap.so — sizes and alignment, the fixed
 * heap's limit (requests of just under 64 KiB and more fail until AO_malloc_enable_mmap), several
 * threads allocating and freeing (with blocks freed by another thread than the one that allocated
 * them), errno never changed, and a call from a signal handler (test_ao_malloc_signal interrupts the calls themselves).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <atomic_ops_malloc.h>
#include "check.h"

#define THREADS 4
#define ROUNDS 20000
#define SLOTS 64

/* Blocks handed from each thread to the next: slot values are claimed with atomic exchanges. */
static void *volatile handoff[THREADS][SLOTS];
static int thread_errors[THREADS];

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    unsigned seed = 12345u + (unsigned)id;
    void *mine[SLOTS] = { 0 };
    for (int r = 0; r < ROUNDS; r++) {
        seed = seed * 1103515245u + 12345u;
        int slot = (int)((seed >> 8) % SLOTS);
        size_t size = 8 + (seed >> 16) % 2000;
        if (mine[slot] != NULL) {
            unsigned char *old = mine[slot];
            if (old[0] != (unsigned char)id) thread_errors[id]++;
            /* Give it to the next thread to free; free whatever it left for us in that slot. */
            void *theirs = __atomic_exchange_n(&handoff[(id + 1) % THREADS][slot], old, __ATOMIC_ACQ_REL);
            if (theirs != NULL) AO_free(theirs);
            mine[slot] = NULL;
        }
        unsigned char *p = AO_malloc(size);
        if (p == NULL || ((uintptr_t)p & 15) != 0) { thread_errors[id]++; continue; }
        memset(p, id, size);
        mine[slot] = p;
        void *left = __atomic_exchange_n(&handoff[id][slot], NULL, __ATOMIC_ACQ_REL);
        if (left != NULL) AO_free(left);
    }
    for (int s = 0; s < SLOTS; s++) AO_free(mine[s]);
    return NULL;
}

static volatile sig_atomic_t handler_ok;

static void on_signal(int sig)
{
    (void)sig;
    void *p = AO_malloc(100);
    if (p != NULL) {
        memset(p, 1, 100);
        AO_free(p);
        handler_ok = 1;
    }
}

int main(void)
{
    /* AO_malloc does not set errno: not on the heap's first use, not for mmap'd objects. */
    errno = 2718;
    void *first = AO_malloc(24);
    CHECK(first != NULL && errno == 2718);
    AO_free(first);
    CHECK(errno == 2718);

    for (size_t n = 1; n < 60000; n = n * 3 / 2 + 1) {
        unsigned char *p = AO_malloc(n);
        CHECK_MSG(p != NULL && ((uintptr_t)p & 15) == 0, "AO_malloc(%zu)", n);
        if (p != NULL) { p[0] = 1; p[n - 1] = 2; }
        AO_free(p);
    }
    AO_free(NULL);

    /* Without mmap the fixed heap serves nothing of 64 KiB or more. */
    CHECK(AO_malloc(64 * 1024) == NULL);
    CHECK(AO_malloc(1 << 20) == NULL);
    AO_malloc_enable_mmap();
    errno = 2718;
    unsigned char *big = AO_malloc(1 << 20);
    CHECK(big != NULL && errno == 2718);
    if (big != NULL) { memset(big, 7, 1 << 20); AO_free(big); }
    CHECK(errno == 2718);

    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < THREADS; i++) {
        CHECK_MSG(thread_errors[i] == 0, "thread %d: %d errors", i, thread_errors[i]);
        for (int s = 0; s < SLOTS; s++) AO_free(handoff[i][s]);
    }

    /* After all that, the fixed heap still serves (nothing leaked into a state that fails). */
    void *again[200];
    int served = 0;
    for (int i = 0; i < 200; i++) served += (again[i] = AO_malloc(1000)) != NULL;
    CHECK(served == 200);
    for (int i = 0; i < 200; i++) AO_free(again[i]);

    signal(SIGUSR1, on_signal);
    raise(SIGUSR1);
    CHECK(handler_ok == 1);
    return nh_finish("ao_malloc");
}
