/*
 * nh_init.c: linked into libnativeheap.so (see src/NativeHeap.Native/NativeHeap.Native.csproj).
 *
 * The NativeAOT runtime starts on the first call into the library, and starting it changes errno
 * (it looks for configuration files). A C caller must not see that: posix_memalign and every
 * successful allocation leave errno alone. So the library starts the runtime when it is loaded,
 * from this ELF constructor, with errno saved around it. Each export then saves and restores errno
 * itself (src/NativeHeap.Native/Exports/CBoundary.cs).
 */
#include <errno.h>

void nh_abi_nop(void);

__attribute__((constructor)) static void nh_start_runtime(void)
{
    int saved = errno;
    nh_abi_nop();
    errno = saved;
}
