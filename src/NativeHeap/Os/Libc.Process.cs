// Libc.Process: the bindings a C ABI needs from libc — the calling thread's errno cell, and the
// write-then-abort pair used to report a caller's mistake the way a C allocator does.
//
// Terms: "errno cell" is the thread-local int that __errno_location returns; reading or writing it
// through the pointer is how C code sees errno. The pointer is valid for the life of the thread.
using System.Runtime.InteropServices;

namespace NativeHeap.Os;

internal static unsafe partial class Libc
{
    /// <summary>The address of the calling thread's errno (never null, never fails, async-signal-safe).</summary>
    [LibraryImport(LibName, EntryPoint = "__errno_location")]
    [SuppressGCTransition]
    internal static partial int* __errno_location();

    /// <summary>write(2): writes up to <paramref name="count"/> bytes; returns the count written or -1 (errno).</summary>
    [LibraryImport(LibName, EntryPoint = "write", SetLastError = true)]
    internal static partial nint write(int fd, byte* buffer, nuint count);

    /// <summary>abort(3): raises SIGABRT; does not return.</summary>
    [LibraryImport(LibName, EntryPoint = "abort")]
    internal static partial void abort();
}
