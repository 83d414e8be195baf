// CBoundary: the rules every export follows at the line between C callers and C# code.
//
//  - No exception crosses into C (an unhandled exception in an [UnmanagedCallersOnly] method kills
//    the process without a useful message). Each export catches and turns the exception into the
//    C error its seed documents: allocation calls return NULL; a pointer the heap does not own, given
//    to a free-like call, is reported on stderr and the process aborts, as jemalloc's debug build
//    and glibc ("free(): invalid pointer") do.
//  - errno: the heap's own libc calls (mmap, madvise, futex ...) are made with SetLastError, whose
//    stubs zero the C errno before each call. So an export saves the caller's errno on entry and
//    puts it back on every path except the ones where the seed sets it (ENOMEM from malloc, calloc,
//    realloc, aligned_alloc, memalign, valloc). posix_memalign reports through its return value and
//    leaves errno as it found it. The hottest exports (mallocx, dallocx, sdallocx, nh_malloc,
//    nh_free) first try the heap's thread-cache hit (Heap.TryMallocCached / TryFreeCached), which
//    makes no libc call and cannot throw, and only their slow paths pay for errno and the try block
//    (saving and restoring errno costs about a quarter of a cached mallocx/dallocx pair from C).
using System.Runtime.CompilerServices;
using NativeHeap.Os;

namespace NativeHeap.Native.Exports;

/// <summary>Shared error handling for the exports.</summary>
internal static unsafe class CBoundary
{
    internal const int EINVAL = Libc.EINVAL, ENOMEM = Libc.ENOMEM, EEXIST = Libc.EEXIST, EAGAIN = Libc.EAGAIN,
        EROFS = 30, EBADF = 9;

    /// <summary>The calling thread's errno cell.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int* Errno() => OsProcess.ErrnoCell();

    /// <summary>
    /// Handles an exception caught in an allocating export: a misused pointer aborts (see the file
    /// header); anything else (out of memory with oom:throw, an arena or cache index that does not
    /// exist) means the call failed and the export returns its failure value.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void OnAllocException(string call, Exception e)
    {
        if (e is HeapMisuseException) Fatal(call, e);
    }

    /// <summary>Reports an exception caught in an export that has no failure value (free-like calls) and aborts.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void Fatal(string call, Exception e)
    {
        string message = e.Message.StartsWith("NativeHeap: ", StringComparison.Ordinal) ? e.Message["NativeHeap: ".Length..] : e.Message;
        OsProcess.AbortWithMessage($"{call}: {message}");
    }
}
