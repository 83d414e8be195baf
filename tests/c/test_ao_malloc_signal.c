/*
 * test_ao_malloc_signal.c: AO_malloc and AO_free from a signal handler that interrupts the same calls
 * on the same thread (the first purpose the AO_malloc seed names). Two threads allocate, fill, check
 * and free blocks in a loop (some handed to the other thread to free); each has its own 10 kHz timer
 * (timer_create with SIGEV_THREAD_ID) whose handler frees a block an earlier handler run allocated,
 * checks it, and allocates and fills a new one. Every block carries a stamp and a pattern, checked
 * before it is freed: a block handed out twice or scribbled on by the heap fails. The test counts the
 * signals that arrived while the interrupted thread was inside AO_malloc/AO_free and requires some.
 * 5 s by default, 60 s with NATIVEHEAP_LONG=1. mmap is enabled, so chunks and large objects are on
 * the paths too. The threads are plain pthreads the .NET runtime never sees.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <atomic_ops_malloc.h>
#include "check.h"

#ifndef AO_MALLOC_IS_LOCK_FREE
#error "atomic_ops_malloc.h must define AO_MALLOC_IS_LOCK_FREE"
#endif

void *nh_ao_heap(void);

#define THREADS 2
#define SLOTS 256
#define HELD 8

typedef struct block_head { uint64_t stamp; uint64_t size; } block_head;

static void fill(void *p, size_t size, uint64_t stamp)
{
    block_head *b = p;
    b->stamp = stamp;
    b->size = size;
    unsigned char *c = p;
    size_t head = size - 1 < 64 ? size - 1 : 64;
    for (size_t i = sizeof(block_head); i < head; i++) c[i] = (unsigned char)(stamp + i);
    if (size > sizeof(block_head)) c[size - 1] = (unsigned char)(stamp ^ 0x5A);
}

static int check_block(const void *p)
{
    const block_head *b = p;
    const unsigned char *c = p;
    size_t size = b->size;
    if (size < sizeof(block_head) || size > (1u << 20)) return 0;
    size_t head = size - 1 < 64 ? size - 1 : 64;
    for (size_t i = sizeof(block_head); i < head; i++) if (c[i] != (unsigned char)(b->stamp + i)) return 0;
    return size == sizeof(block_head) || c[size - 1] == (unsigned char)(b->stamp ^ 0x5A);
}

static size_t pick_size(uint64_t r)
{
    unsigned pick = (unsigned)(r % 1000);
    r >>= 10;
    if (pick == 0) return 70000 + r % 100000;        /* a mapping of its own */
    if (pick < 20) return 8193 + r % (65520 - 8193); /* runs of 1, 2 or 4 units */
    if (pick < 200) return 512 + r % 7680;
    return 16 + r % 496;
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Per-thread state the handler shares with the thread it interrupts. */
static __thread volatile int in_call;
static __thread void *held[HELD];
static __thread unsigned held_next;
static __thread uint64_t handler_seed;

static long handler_runs[THREADS], handler_in_call[THREADS], handler_errors[THREADS], handler_nulls[THREADS];
static __thread int my_id;
static void *volatile exchange[SLOTS];
static long thread_errors[THREADS], thread_ops[THREADS], thread_nulls[THREADS];
static volatile int stop;

static void on_tick(int sig)
{
    (void)sig;
    int saved = errno;
    int id = my_id;
    handler_runs[id]++;
    if (in_call) handler_in_call[id]++;
    unsigned i = held_next++ % HELD;
    if (held[i] != NULL) {
        if (!check_block(held[i])) handler_errors[id]++;
        AO_free(held[i]);
        held[i] = NULL;
    }
    size_t size = pick_size(xorshift(&handler_seed));
    if (size > 65520) size = 16 + size % 4000; /* keep the handler off mmap most of the time */
    void *p = AO_malloc(size);
    if (p == NULL) handler_nulls[id]++;
    else { fill(p, size, ((uint64_t)(id + 1) << 56) | (uint64_t)handler_runs[id] << 8 | 0xEE); held[i] = p; }
    errno = saved;
}

static void *worker(void *arg)
{
    my_id = (int)(intptr_t)arg;
    handler_seed = 0x9E3779B97F4A7C15ULL * (uint64_t)(my_id + 7);
    uint64_t seed = 0xD1B54A32D192ED03ULL * (uint64_t)(my_id + 1);
    void *mine[SLOTS] = { 0 };

    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGRTMIN + 1;
    sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
    timer_t timer;
    if (timer_create(CLOCK_MONOTONIC, &sev, &timer) != 0) { thread_errors[my_id]++; return NULL; }
    struct itimerspec every = { { 0, 100000 }, { 0, 100000 } }; /* 10 kHz */
    timer_settime(timer, 0, &every, NULL);

    uint64_t ops = 0;
    while (!stop) {
        uint64_t r = xorshift(&seed);
        int slot = (int)(r % SLOTS);
        if (mine[slot] != NULL) {
            void *p = mine[slot];
            mine[slot] = NULL;
            if (!check_block(p)) thread_errors[my_id]++;
            if (((r >> 40) & 3) == 0) {
                p = __atomic_exchange_n(&exchange[(r >> 20) % SLOTS], p, __ATOMIC_ACQ_REL);
                if (p == NULL) continue;
                if (!check_block(p)) thread_errors[my_id]++;
            }
            in_call = 1;
            AO_free(p);
            in_call = 0;
        } else {
            size_t size = pick_size(r >> 9);
            in_call = 1;
            void *p = AO_malloc(size);
            in_call = 0;
            if (p == NULL) { thread_nulls[my_id]++; continue; }
            fill(p, size, ((uint64_t)(my_id + 1) << 56) | ops << 8);
            mine[slot] = p;
        }
        ops++;
    }
    timer_delete(timer);
    /* Block the signal while cleaning up the handler's blocks. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN + 1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    for (int i = 0; i < SLOTS; i++) {
        if (mine[i] == NULL) continue;
        if (!check_block(mine[i])) thread_errors[my_id]++;
        AO_free(mine[i]);
    }
    for (int i = 0; i < HELD; i++) {
        if (held[i] == NULL) continue;
        if (!check_block(held[i])) handler_errors[my_id]++;
        AO_free(held[i]);
    }
    thread_ops[my_id] = (long)ops;
    return NULL;
}

int main(void)
{
    const char *lm = getenv("NATIVEHEAP_LONG");
    int seconds = lm != NULL && strcmp(lm, "1") == 0 ? 60 : 5;
    AO_malloc_enable_mmap();

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_tick;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGRTMIN + 1, &sa, NULL) == 0);

    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    struct timespec left = { seconds, 0 };
    while (nanosleep(&left, &left) != 0 && errno == EINTR) {}
    stop = 1;
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < SLOTS; i++) {
        if (exchange[i] == NULL) continue;
        CHECK(check_block(exchange[i]));
        AO_free(exchange[i]);
    }

    long runs = 0, in_call_runs = 0, ops = 0;
    for (int i = 0; i < THREADS; i++) {
        CHECK_MSG(thread_errors[i] == 0, "thread %d: %ld bad blocks", i, thread_errors[i]);
        CHECK_MSG(handler_errors[i] == 0, "handler on thread %d: %ld bad blocks", i, handler_errors[i]);
        CHECK_MSG(thread_nulls[i] == 0 && handler_nulls[i] == 0, "thread %d: %ld + %ld NULLs with mmap enabled", i, thread_nulls[i], handler_nulls[i]);
        CHECK_MSG(handler_in_call[i] > 0, "thread %d: no signal arrived inside AO_malloc/AO_free (%ld runs)", i, handler_runs[i]);
        runs += handler_runs[i];
        in_call_runs += handler_in_call[i];
        ops += thread_ops[i];
    }
    /* The heap's own count of frees it rejected (HeapHeader.RejectedFrees, offset 104). */
    int64_t rejected = *(volatile int64_t *)((char *)nh_ao_heap() + 104);
    CHECK_MSG(rejected == 0, "%lld frees rejected", (long long)rejected);
    /* Everything is free again: the heap still serves blocks of every size. */
    for (size_t size = 16; size <= 65520; size *= 2) {
        void *p = AO_malloc(size);
        CHECK_MSG(p != NULL, "AO_malloc(%zu) after the run", size);
        AO_free(p);
    }
    printf("%d s: %ld operations on %d threads, %ld handler runs, %ld of them inside AO_malloc/AO_free\n",
           seconds, ops, THREADS, runs, in_call_runs);
    return nh_finish("ao_malloc_signal");
}
