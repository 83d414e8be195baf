/*
 * test_prof: jemalloc's heap-profiling controls against libnativeheap.so, as a C program written for
 * jemalloc uses them: profiling on from the program's malloc_conf (prof:true, as MALLOC_CONF), a
 * leaking site, mallctl("prof.dump", NULL, NULL, &filename, sizeof(const char *)) to a named file and
 * to the default name, EFAULT for an unwritable file, thread.prof.name, prof.reset. With a file name
 * argument the named dump goes there and is kept (CAbiTests decodes it and looks for this program's
 * native frames); otherwise it is removed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <jemalloc/jemalloc.h>
#include "check.h"

const char *malloc_conf = "prof:true,prof_seed:11";

static void *g_blocks[20000];

__attribute__((noinline)) static void *leak_site(size_t size)
{
    void *p = mallocx(size, 0);
    __asm__ volatile("" ::: "memory");   /* no tail call: this frame stays on the stack */
    return p;
}

__attribute__((noinline)) static void leak_many(void)
{
    for (int i = 0; i < 20000; i++) g_blocks[i] = leak_site(4096);
    __asm__ volatile("" ::: "memory");
}

static bool gzip_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) return false;
    unsigned char magic[2] = {0, 0};
    size_t n = fread(magic, 1, 2, f);
    fclose(f);
    return n == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

int main(int argc, char **argv)
{
    printf("pid %d\n", (int)getpid());   /* names the default-prefix files (prof.prefix below) */
    fflush(stdout);
    bool on = false;
    size_t len = sizeof on;
    CHECK(mallctl("opt.prof", &on, &len, NULL, 0) == 0 && on);
    on = false;
    CHECK(mallctl("prof.active", &on, &len, NULL, 0) == 0 && on);
    size_t lg = 0;
    len = sizeof lg;
    CHECK(mallctl("prof.lg_sample", &lg, &len, NULL, 0) == 0 && lg == 19);
    CHECK(mallctl("prof.lg_sample", NULL, NULL, &lg, sizeof lg) == EPERM);

    const char *name = "c-main";
    CHECK(mallctl("thread.prof.name", NULL, NULL, &name, sizeof name) == 0);
    const char *got = NULL;
    len = sizeof got;
    CHECK(mallctl("thread.prof.name", &got, &len, NULL, 0) == 0 && got != NULL && strcmp(got, "c-main") == 0);

    leak_many();

    char path[512];
    if (argc > 1) snprintf(path, sizeof path, "%s", argv[1]);
    else snprintf(path, sizeof path, "/tmp/nh_test_prof.%d.heap", (int)getpid());
    const char *file = path;
    CHECK(mallctl("prof.dump", NULL, NULL, &file, sizeof file) == 0);
    CHECK(gzip_file(path));
    if (argc <= 1) remove(path);

    const char *bad = "/nonexistent-directory-nh/x.heap";
    CHECK(mallctl("prof.dump", NULL, NULL, &bad, sizeof bad) == EFAULT);

    char prefix[256];
    snprintf(prefix, sizeof prefix, "/tmp/nh_test_prof_prefix.%d", (int)getpid());
    const char *pre = prefix;
    CHECK(mallctl("prof.prefix", NULL, NULL, &pre, sizeof pre) == 0);
    CHECK(mallctl("prof.dump", NULL, NULL, NULL, 0) == 0);   /* the default name: <prefix>.<pid>.<seq>.m<mseq>.heap */
    char expected[512];
    snprintf(expected, sizeof expected, "%s.%d.0.m0.heap", prefix, (int)getpid());
    CHECK(gzip_file(expected));
    remove(expected);

    CHECK(mallctl("prof.reset", NULL, NULL, NULL, 0) == 0);
    size_t lg12 = 12;
    CHECK(mallctl("prof.reset", NULL, NULL, &lg12, sizeof lg12) == 0);
    len = sizeof lg;
    CHECK(mallctl("prof.lg_sample", &lg, &len, NULL, 0) == 0 && lg == 12);

    /* "leak" as the second argument keeps the blocks: prof_leak/prof_final (from NATIVEHEAP_CONF) report them at exit. */
    if (argc <= 2 || strcmp(argv[2], "leak") != 0)
        for (int i = 0; i < 20000; i++) dallocx(g_blocks[i], 0);
    else
        leak_many();   /* after prof.reset: a fresh site for the exit report, at lg_sample 12 */
    return nh_finish("prof");
}
