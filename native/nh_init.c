/*
 * nh_init.c: linked into libnativeheap.so (see src/NativeHeap.Native/NativeHeap.Native.csproj).
 *
 * Starts the .NET runtime when the library is loaded, from this ELF constructor, for two reasons:
 *  - errno: starting the runtime changes errno (it looks for configuration files), and a C caller must
 *    not see that: posix_memalign and every successful allocation leave errno alone. Each export then
 *    saves and restores errno itself (src/NativeHeap.Native/Exports/CBoundary.cs).
 *  - memory: every C thread that calls into the library leaves about 8 KiB of garbage in the managed
 *    heap when it exits (the runtime's per-thread objects). With the default gen0 budget (tens of
 *    MiB here) a program that keeps starting threads grows by ~90 MB before the first collection.
 *    The library allocates managed memory only on slow paths, so a 4 MiB budget costs nothing
 *    measurable; it is set through DOTNET_GCgen0size (hexadecimal) for the start and removed again,
 *    so the program's environment (and its children's) is as it was. A value the user set is kept.
 *  - signals: starting the runtime sets SIGPIPE to "ignore" (for .NET's own pipes and sockets, which
 *    this library does not use); the program's disposition is put back, so a C program that relies
 *    on SIGPIPE behaves as without the library. The runtime keeps its handlers for SIGSEGV and SIGFPE
 *    (chained to earlier ones) and SIGRTMIN (suspending threads for a garbage collection).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>

void nh_abi_nop(void);

__attribute__((constructor)) static void nh_start_runtime(void)
{
    int saved = errno;
    struct sigaction pipe_action;
    int have_pipe = sigaction(SIGPIPE, NULL, &pipe_action) == 0;
    int set_budget = getenv("DOTNET_GCgen0size") == NULL && setenv("DOTNET_GCgen0size", "400000", 0) == 0;
    nh_abi_nop(); /* the first call starts the runtime */
    if (set_budget) unsetenv("DOTNET_GCgen0size");
    if (have_pipe) sigaction(SIGPIPE, &pipe_action, NULL);
    errno = saved;
}
