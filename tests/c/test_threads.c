/*
 * test_threads.c: the general heap from many C threads through libnativeheap.so.
 *  - Producer/consumer pairs: producers mallocx blocks (sizes 17 B to 64 KiB, some with alignment or
 *    MALLOCX_ZERO, checked), stamp them, and pass them through a ring; consumers check the stamp and free them
 *    with dallocx/sdallocx/nh_free — every free is a cross-thread free.
 *  - Short-lived threads: 200 threads each allocate, keep some blocks for the main thread to free
 *    after they have exited, and exit (each thread's first call attaches it to the .NET runtime).
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <jemalloc/jemalloc.h>
#include "check.h"

#define PAIRS 3
#define ITEMS 100000
#define RING 256

struct ring {
    void *volatile slot[RING];
    char pad[64];
};

static struct ring rings[PAIRS];
static int producer_errors[PAIRS], consumer_errors[PAIRS];

struct stamp {
    uint32_t pair, seq, size, flags;
};

static size_t size_for(uint32_t seq)
{
    static const size_t sizes[] = { 17, 24, 64, 100, 256, 1024, 3000, 4096, 20000, 65536 };
    return sizes[(seq * 2654435761u >> 7) % (sizeof sizes / sizeof sizes[0])];
}

static int flags_for(uint32_t seq)
{
    switch (seq % 8) {
    case 3: return MALLOCX_ZERO;
    case 5: return MALLOCX_ALIGN(64);
    case 7: return MALLOCX_LG_ALIGN(12);
    default: return 0;
    }
}

static void *producer(void *arg)
{
    int pair = (int)(intptr_t)arg;
    for (uint32_t seq = 0; seq < ITEMS; seq++) {
        size_t size = size_for(seq);
        int flags = flags_for(seq);
        unsigned char *p = mallocx(size, flags);
        if (p == NULL) { producer_errors[pair]++; continue; }
        if (flags & MALLOCX_ZERO)
            for (size_t i = 0; i < size; i++)
                if (p[i] != 0) { producer_errors[pair]++; break; }
        if ((flags & 0x3f) && ((uintptr_t)p & (((uintptr_t)1 << (flags & 0x3f)) - 1)) != 0) producer_errors[pair]++;
        struct stamp s = { (uint32_t)pair, seq, (uint32_t)size, (uint32_t)flags };
        memcpy(p, &s, sizeof s);
        p[size - 1] = (unsigned char)seq;
        void *volatile *slot = &rings[pair].slot[seq % RING];
        while (__atomic_load_n(slot, __ATOMIC_ACQUIRE) != NULL) sched_yield();
        __atomic_store_n(slot, p, __ATOMIC_RELEASE);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    int pair = (int)(intptr_t)arg;
    for (uint32_t seq = 0; seq < ITEMS; seq++) {
        void *volatile *slot = &rings[pair].slot[seq % RING];
        unsigned char *p;
        while ((p = __atomic_load_n(slot, __ATOMIC_ACQUIRE)) == NULL) sched_yield();
        __atomic_store_n(slot, NULL, __ATOMIC_RELEASE);
        struct stamp s;
        memcpy(&s, p, sizeof s);
        if (s.pair != (uint32_t)pair || s.seq != seq || s.size != size_for(seq) || p[s.size - 1] != (unsigned char)seq
            || sallocx(p, 0) < s.size)
            consumer_errors[pair]++;
        switch (seq % 3) {
        case 0: dallocx(p, 0); break;
        case 1: sdallocx(p, s.size, s.flags & 0x3f); break;
        default: nh_free(p); break;
        }
    }
    return NULL;
}

#define SHORT_THREADS 200
static void *kept[SHORT_THREADS][8];
static int short_errors;

static void *short_lived(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < 100; i++) {
        void *p = mallocx(32 + (size_t)i * 8, 0);
        if (p == NULL) { __atomic_fetch_add(&short_errors, 1, __ATOMIC_RELAXED); continue; }
        if (i % 16 == 0) kept[id][i / 16] = p; /* freed by the main thread after this one exits */
        else dallocx(p, 0);
    }
    return NULL;
}

int main(void)
{
    pthread_t prod[PAIRS], cons[PAIRS];
    for (int i = 0; i < PAIRS; i++) {
        pthread_create(&cons[i], NULL, consumer, (void *)(intptr_t)i);
        pthread_create(&prod[i], NULL, producer, (void *)(intptr_t)i);
    }
    for (int i = 0; i < PAIRS; i++) {
        pthread_join(prod[i], NULL);
        pthread_join(cons[i], NULL);
        CHECK_MSG(producer_errors[i] == 0 && consumer_errors[i] == 0, "pair %d: %d producer, %d consumer errors",
            i, producer_errors[i], consumer_errors[i]);
    }

    for (int round = 0; round < SHORT_THREADS; round += 8) {
        pthread_t t[8];
        for (int i = 0; i < 8; i++) pthread_create(&t[i], NULL, short_lived, (void *)(intptr_t)(round + i));
        for (int i = 0; i < 8; i++) pthread_join(t[i], NULL);
    }
    CHECK(short_errors == 0);
    int freed = 0;
    for (int i = 0; i < SHORT_THREADS; i++)
        for (int j = 0; j < 8; j++)
            if (kept[i][j] != NULL) { dallocx(kept[i][j], 0); freed++; }
    CHECK(freed == SHORT_THREADS * 7); /* i = 0, 16, ..., 96 */
    return nh_finish("threads");
}
