/*
 * test_dlopen.c: the library loaded at run time with dlopen (as plugins and language runtimes load
 * allocators), not linked: loading starts the .NET runtime (native/nh_init.c) and must leave errno,
 * the environment and the SIGPIPE disposition as they were; the first calls through dlsym'd pointers work and keep errno.
 * build.sh does not link this program against the library.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"

int main(void)
{
    char self[PATH_MAX], path[PATH_MAX + 32];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) return 1;
    self[len] = 0;
    snprintf(path, sizeof path, "%s/../libnativeheap.so", dirname(self));

    CHECK(dlopen(path, RTLD_NOW | RTLD_NOLOAD) == NULL); /* not loaded before this point */
    struct sigaction before, after;
    signal(SIGPIPE, SIG_DFL); /* a parent (such as the .NET test host) may have left it ignored */
    sigaction(SIGPIPE, NULL, &before);
    errno = 4242;
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    CHECK_MSG(h != NULL, "dlopen: %s", dlerror());
    if (h == NULL) return nh_finish("dlopen");
    CHECK(errno == 4242);
    CHECK(getenv("DOTNET_GCgen0size") == NULL);
    sigaction(SIGPIPE, NULL, &after);
    CHECK(before.sa_handler == SIG_DFL && after.sa_handler == SIG_DFL);

    void *(*mallocx)(size_t, int) = (void *(*)(size_t, int))dlsym(h, "mallocx");
    void (*dallocx)(void *, int) = (void (*)(void *, int))dlsym(h, "dallocx");
    int (*pm)(void **, size_t, size_t) = (int (*)(void **, size_t, size_t))dlsym(h, "nh_posix_memalign");
    CHECK(mallocx != NULL && dallocx != NULL && pm != NULL);
    if (mallocx == NULL || dallocx == NULL || pm == NULL) return nh_finish("dlopen");
    void *p = mallocx(100, 0);
    CHECK(p != NULL && errno == 4242);
    dallocx(p, 0);
    void *q = NULL;
    CHECK(pm(&q, 3, 10) == EINVAL && errno == 4242);
    CHECK(pm(&q, 64, 10) == 0 && q != NULL && errno == 4242);
    dallocx(q, 0);
    return nh_finish("dlopen");
}
