/* startup_trivial.c: the trivial program of bench/c/startup.sh: one allocation, freed, then exit.
 * Built twice: with -DUSE_NH against libnativeheap (nh_malloc/nh_free), and plain (libc's malloc, or
 * whatever LD_PRELOAD puts in front of it). With STARTUP_ROLLUP set it prints its Rss, Pss and
 * Private_Dirty (/proc/self/smaps_rollup, kB) before exiting. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    if (getenv("STARTUP_ROLLUP")) {
        FILE *f = fopen("/proc/self/smaps_rollup", "r");
        char line[256];
        long rss = -1, pss = -1, dirty = -1, v;
        while (f && fgets(line, sizeof line, f)) {
            if (sscanf(line, "Rss: %ld", &v) == 1) rss = v;
            else if (sscanf(line, "Pss: %ld", &v) == 1) pss = v;
            else if (sscanf(line, "Private_Dirty: %ld", &v) == 1) dirty = v;
        }
        if (f) fclose(f);
        printf("%ld %ld %ld\n", rss, pss, dirty);
    }
    return 0;
}
