/*
 * test_mmalloc_debug: the rest of GNU mmalloc's interface — mmcheck/mmcheckf (a handler for bad frees),
 * mmtrace (MALLOC_TRACE), mmstats, mmalloc_findbase — and opening a heap file at another address than
 * the one it was created at (mmalloc_attach_flags with MMALLOC_ALLOW_RELOCATION).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <mmalloc.h>
#include "check.h"

static int g_bad;
static void on_bad(void) { g_bad++; }

static int abort_child(void)
{
    void *md = mmalloc_attach(-1, NULL);
    if (md == NULL || mmcheck(md, NULL) != 1) return 2;
    void *p = mmalloc(md, 64);
    mfree(md, p);
    mfree(md, p);   /* double free: mmcheck without a handler aborts */
    return 3;
}

static void checks(char *self)
{
    void *md = mmalloc_attach(-1, NULL);
    CHECK(md != NULL);
    CHECK(mmcheck(md, on_bad) == 1);
    char *p = mmalloc(md, 100);
    CHECK(p != NULL);
    mfree(md, p);
    CHECK(g_bad == 0);
    mfree(md, p);                     /* double free */
    CHECK(g_bad == 1 && mmalloc_errno(md) == EINVAL);
    int local;
    mfree(md, &local);                /* not the heap's */
    CHECK(g_bad == 2);
    CHECK(mrealloc(md, &local, 10) == NULL && g_bad == 3);
    void *q = mmalloc(md, 10);
    mfree(md, q);
    CHECK(g_bad == 3);                /* good frees do not call it */
    CHECK(mmalloc_detach(md) == NULL);

    void *md2 = mmalloc_attach(-1, NULL);
    void *keep = mmalloc(md2, 10);
    CHECK(mmcheck(md2, on_bad) == 0);        /* blocks already there */
    CHECK(mmcheckf(md2, on_bad, 1) == 1);    /* forced */
    mfree(md2, keep);
    mfree(md2, keep);
    CHECK(g_bad == 4);
    CHECK(mmcheck(NULL, on_bad) == 0);
    CHECK(mmalloc_detach(md2) == NULL);

    char *argv[] = {self, "abort", NULL};
    char err[1024];
    int status = nh_spawn(argv, 2, NH_KEEP_ENV, err, sizeof err);
    CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT && strstr(err, "mmcheck") != NULL, "status %d: %s", status, err);
}

static void stats(void)
{
    void *md = mmalloc_attach(-1, NULL);
    void *blocks[10];
    for (int i = 0; i < 10; i++) blocks[i] = mmalloc(md, 100);
    struct mstats s = mmstats(md);
    CHECK(s.chunks_used >= 10 && s.bytes_used >= 1000 && s.bytes_total >= s.bytes_used + s.bytes_free);
    for (int i = 0; i < 5; i++) mfree(md, blocks[i]);
    struct mstats t = mmstats(md);
    CHECK(t.chunks_used == s.chunks_used - 5 && t.bytes_used < s.bytes_used && t.bytes_free > s.bytes_free);
    CHECK(mmalloc_detach(md) == NULL);
    struct mstats none = mmstats((void *)0x1000);
    CHECK(none.bytes_total == 0 && none.chunks_used == 0);
    void *g = mmalloc(NULL, 1000);
    struct mstats general = mmstats(NULL);
    CHECK(general.bytes_total > 0 && general.bytes_used >= 1000);
    mfree(NULL, g);
}

static void trace(void)
{
    char path[] = "/tmp/nh_mmtrace_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unsetenv("MALLOC_TRACE");
    CHECK(mmtrace() == 0);
    setenv("MALLOC_TRACE", path, 1);
    CHECK(mmtrace() == 1);
    void *md = mmalloc_attach(-1, NULL);
    void *p = mmalloc(md, 123);
    p = mrealloc(md, p, 456);
    mfree(md, p);
    mmalloc_detach(md);
    char buf[4096] = {0};
    ssize_t n = read(fd, buf, sizeof buf - 1);
    CHECK(n > 0);
    char plus[64], minus[64];
    snprintf(plus, sizeof plus, " 0x7b\n");            /* the 123-byte mmalloc */
    snprintf(minus, sizeof minus, "- 0x%lx", (unsigned long)(uintptr_t)p);
    CHECK_MSG(strstr(buf, plus) != NULL && strstr(buf, minus) != NULL && strstr(buf, " > ") != NULL, "trace: %s", buf);
    close(fd);
    unlink(path);
}

static void findbase_and_relocation(void)
{
    void *base = mmalloc_findbase(64 << 20);
    CHECK(base != NULL && ((uintptr_t)base & ((1u << 30) - 1)) == 0);
    char path[] = "/tmp/nh_mmreloc_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    void *md = mmalloc_attach(fd, base);
    CHECK(md == base);
    char *s = mmalloc(md, 32);
    strcpy(s, "relocated text");
    CHECK(mmalloc_setkey(md, 0, s) == 1);
    CHECK(mmalloc_detach(md) == NULL);

    /* the recorded range is taken now: plain attach refuses, relocation opens it elsewhere */
    void *block = mmap(base, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    CHECK(block == base);
    errno = 0;
    CHECK(mmalloc_attach(fd, NULL) == NULL && errno != 0);
    void *other = mmalloc_findbase(64 << 20);
    CHECK(other != NULL && other != base);
    errno = 0;
    CHECK(mmalloc_attach(fd, other) == NULL && errno == EINVAL);   /* would break raw pointers */
    errno = 0;
    CHECK(mmalloc_attach_flags(fd, other, 2) == NULL && errno == EINVAL);
    void *moved = mmalloc_attach_flags(fd, other, MMALLOC_ALLOW_RELOCATION);
    CHECK(moved == other);
    char *k = mmalloc_getkey(moved, 0);
    CHECK(k != NULL && (char *)k >= (char *)moved && strcmp(k, "relocated text") == 0);   /* keys are offsets: they follow */
    CHECK(mmalloc_detach(moved) == NULL);
    munmap(block, 1 << 20);
    close(fd);
    unlink(path);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "abort") == 0) return abort_child();
    checks(argv[0]);
    stats();
    trace();
    findbase_and_relocation();
    return nh_finish("mmalloc_debug");
}
