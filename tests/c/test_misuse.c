/*
 * test_misuse.c: caller mistakes with pointers end the process the way a C allocator does — a
 * message on stderr naming the call and the pointer, then abort() (SIGABRT) — instead of letting a
 * .NET exception loose in a C program. Each mistake runs in a child process (this program re-executed
 * with the case's name); the parent checks the signal and the message. Checked mode
 * (NATIVEHEAP_CONF=checked:true) adds double frees and wrong sizes given to sdallocx.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <nativeheap.h>
#include <jemalloc/jemalloc.h>
#include "check.h"

static int run_case(const char *name)
{
    static int on_stack;
    if (strcmp(name, "free-stack") == 0) nh_free(&on_stack);
    else if (strcmp(name, "dallocx-glibc") == 0) dallocx(malloc(32), 0);
    else if (strcmp(name, "rallocx-glibc") == 0) rallocx(malloc(32), 64, 0);
    else if (strcmp(name, "double-free") == 0) {
        void *p = nh_malloc(48);
        nh_free(p);
        nh_free(p);
    } else if (strcmp(name, "sdallocx-wrong-size") == 0) {
        void *p = mallocx(100, 0);
        sdallocx(p, 5000, 0);
    } else return 2;
    return 0; /* not reached when the library aborts */
}

/* Runs this program with a case name and optional NATIVEHEAP_CONF; returns the wait status and stderr. */
static int spawn(const char *self, const char *name, const char *conf, char *err, size_t errlen)
{
    char *const argv[] = {(char *)self, (char *)name, NULL};
    return nh_spawn(argv, 2, conf, err, errlen);
}

static void expect_abort(const char *self, const char *name, const char *conf, const char *call, const char *words)
{
    char err[4096];
    int status = spawn(self, name, conf, err, sizeof err);
    CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "%s: status 0x%x", name, status);
    CHECK_MSG(strstr(err, "<nativeheap>: ") != NULL && strstr(err, call) != NULL && strstr(err, words) != NULL,
        "%s: stderr was: %s", name, err);
}

int main(int argc, char **argv)
{
    if (argc > 1) return run_case(argv[1]);
    expect_abort(argv[0], "free-stack", NULL, "nh_free", "was not allocated by NativeHeap");
    expect_abort(argv[0], "dallocx-glibc", NULL, "dallocx", "was not allocated by NativeHeap");
    expect_abort(argv[0], "rallocx-glibc", NULL, "rallocx", "was not allocated by NativeHeap");
    expect_abort(argv[0], "double-free", "checked:true", "nh_free", "double free");
    expect_abort(argv[0], "sdallocx-wrong-size", "checked:true", "sdallocx", "size class");
    return nh_finish("misuse");
}
