// Libc.LockFree: bindings the lock-free heap's tests and tools need beyond Libc.cs: native threads
// that the .NET runtime did not create (pthread_create/pthread_join) and sending a signal to the
// own process (kill), to prove the heap works from UnmanagedCallersOnly callbacks and signal handlers.
using System.Runtime.InteropServices;

namespace NativeHeap.Os;

internal static unsafe partial class Libc
{
    internal const int SIGWINCH = 28;

    [LibraryImport(LibName, EntryPoint = "pthread_create")]
    internal static partial int pthread_create(ulong* thread, void* attr, delegate* unmanaged<void*, void*> start, void* arg);

    [LibraryImport(LibName, EntryPoint = "pthread_join")]
    internal static partial int pthread_join(ulong thread, void** result);

    [LibraryImport(LibName, EntryPoint = "kill", SetLastError = true)]
    internal static partial int kill(int pid, int sig);
}
