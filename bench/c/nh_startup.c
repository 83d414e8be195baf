/*
 * nh_startup.c: the start-up cost of an allocator per process (docs/benchmarks.md, "Start-up").
 * Runs each configuration N times, interleaved (configuration 1, 2, ..., then again), each start a
 * fork + execve of a trivial program that allocates and frees one block and exits, and reports per
 * configuration the median and spread (p10..p90) of the wall time from fork to reaped exit, the
 * child's CPU time (user + system, from wait4) and its peak RSS (ru_maxrss).
 *
 *   nh_startup N NAME=PRELOAD:PROGRAM [NAME=PRELOAD:PROGRAM ...]
 *     PRELOAD  a library for LD_PRELOAD, or "-" for none
 *     PROGRAM  the program to run (no arguments)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

typedef struct { char name[64]; char preload[512]; char program[512]; double *wall, *cpu; long *rss; } config;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }
static int cmp_l(const void *a, const void *b) { long x = *(const long *)a, y = *(const long *)b; return x < y ? -1 : x > y; }

static int run_once(config *c, int i)
{
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        if (strcmp(c->preload, "-") != 0) setenv("LD_PRELOAD", c->preload, 1);
        else unsetenv("LD_PRELOAD");
        char *argv[] = { c->program, NULL };
        execve(c->program, argv, environ);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid) return -1;
    c->wall[i] = now_ms() - t0;
    c->cpu[i] = ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 + ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
    c->rss[i] = ru.ru_maxrss;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 3) { fprintf(stderr, "usage: %s N NAME=PRELOAD:PROGRAM...\n", argv[0]); return 2; }
    int n = atoi(argv[1]), nc = argc - 2;
    config *cs = calloc((size_t)nc, sizeof *cs);
    for (int k = 0; k < nc; k++) {
        char *eq = strchr(argv[k + 2], '='), *colon = eq ? strchr(eq, ':') : NULL;
        if (!eq || !colon) { fprintf(stderr, "bad configuration %s\n", argv[k + 2]); return 2; }
        snprintf(cs[k].name, sizeof cs[k].name, "%.*s", (int)(eq - argv[k + 2]), argv[k + 2]);
        snprintf(cs[k].preload, sizeof cs[k].preload, "%.*s", (int)(colon - eq - 1), eq + 1);
        snprintf(cs[k].program, sizeof cs[k].program, "%s", colon + 1);
        cs[k].wall = calloc((size_t)n, sizeof(double));
        cs[k].cpu = calloc((size_t)n, sizeof(double));
        cs[k].rss = calloc((size_t)n, sizeof(long));
    }
    for (int k = 0; k < nc; k++) if (run_once(&cs[k], 0) != 0) { fprintf(stderr, "%s failed\n", cs[k].name); return 1; }   /* warm-up */
    for (int i = 0; i < n; i++)
        for (int k = 0; k < nc; k++)
            if (run_once(&cs[k], i) != 0) { fprintf(stderr, "%s failed\n", cs[k].name); return 1; }
    printf("%-14s %10s %16s %10s %12s\n", "config", "wall ms", "wall p10..p90", "cpu ms", "maxrss KiB");
    for (int k = 0; k < nc; k++) {
        qsort(cs[k].wall, (size_t)n, sizeof(double), cmp_d);
        qsort(cs[k].cpu, (size_t)n, sizeof(double), cmp_d);
        qsort(cs[k].rss, (size_t)n, sizeof(long), cmp_l);
        printf("%-14s %10.2f %7.2f..%-7.2f %10.2f %12ld\n", cs[k].name, cs[k].wall[n / 2], cs[k].wall[n / 10], cs[k].wall[n * 9 / 10],
               cs[k].cpu[n / 2], cs[k].rss[n / 2]);
    }
    return 0;
}
