/* startup_trivial.c: the trivial program of bench/c/startup.sh: one allocation, freed, then exit.
 * Built twice: with -DUSE_NH against libnativeheap (nh_malloc/nh_free), and plain (libc's malloc, or
 * whatever LD_PRELOAD puts in front of it). */
#include <stdio.h>
#include <stdlib.h>
#ifdef USE_NH
#include <nativeheap.h>
#define ALLOC nh_malloc
#define FREE nh_free
#else
#define ALLOC malloc
#define FREE free
#endif
int main(void)
{
    volatile char *p = ALLOC(100);
    if (!p) return 1;
    p[0] = 1;
    FREE((void *)p);
    return 0;
}
