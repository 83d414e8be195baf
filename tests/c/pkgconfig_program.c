/* pkgconfig_program.c: built by tests/NativeHeap.Tests/Native/InstallTests.cs against an installed
 * libnativeheap (native/install.sh) with nothing but `pkg-config --cflags --libs nativeheap`: the
 * installed headers, -lnativeheap through the libnativeheap.so link, libnativeheap.so.1 at run time. */
#include <jemalloc/jemalloc.h>
#include <nativeheap.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    char *p = nh_malloc(100);
    if (p == NULL) return 1;
    strcpy(p, "installed");
    void *q = mallocx(1 << 20, MALLOCX_ZERO);
    if (q == NULL || ((char *)q)[12345] != 0) return 2;
    size_t usable = sallocx(q, 0);
    dallocx(q, 0);
    const char *version = nh_version();
    printf("%s %s %zu\n", p, version, usable);
    nh_free(p);
    return usable >= (1 << 20) ? 0 : 3;
}
