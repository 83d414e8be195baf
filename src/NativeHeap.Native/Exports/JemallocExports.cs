// JemallocExports: jemalloc's extended API under its own names (mallocx, rallocx, xallocx, sallocx,
// dallocx, sdallocx, nallocx), on NativeHeap.Heap. Flags pass through unchanged: MallocFlags has
// jemalloc's bit layout (include/jemalloc/jemalloc.h has the MALLOCX_* macros).
//
// Semantics as jemalloc 5 documents them: none of these sets errno (a thread-cache hit makes no libc
// call; every other path saves and restores it around the heap call); allocation failure — out of
// memory, an impossible size, an arena or explicit cache that does not exist — returns NULL (rallocx
// leaves the old block as it was); a size of 0 is treated as 1 (jemalloc leaves it undefined). Freeing or resizing a pointer NativeHeap does not own
// aborts with a message (CBoundary). The mallctl family and malloc_stats_print live in their own file.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NativeHeap.Native.Exports;

/// <summary>C exports with jemalloc's names for the extended (*allocx) API.</summary>
internal static unsafe class JemallocExports
{
    /// <summary>void *mallocx(size_t size, int flags)</summary>
    [UnmanagedCallersOnly(EntryPoint = "mallocx")]
    internal static void* MallocX(nuint size, int flags)
    {
        // A thread-cache hit makes no libc call, so it needs neither errno handling nor a try block.
        if (flags == 0)
        {
            void* hit = Heap.TryMallocCached(size);
            if (hit != null) return hit;
        }
        return MallocXSlow(size, flags);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void* MallocXSlow(nuint size, int flags)
    {
        int* errno = CBoundary.Errno();
        int saved = *errno;
        void* p;
        try
        {
            p = Heap.MallocX(size == 0 ? 1 : size, new MallocFlags(flags));
        }
        catch (Exception e)
        {
            CBoundary.OnAllocException("mallocx", e);
            p = null;
        }
        *errno = saved;
        return p;
    }

    /// <summary>void *rallocx(void *ptr, size_t size, int flags)</summary>
    [UnmanagedCallersOnly(EntryPoint = "rallocx")]
    internal static void* RallocX(void* ptr, nuint size, int flags)
    {
        int* errno = CBoundary.Errno();
        int saved = *errno;
        void* p;
        try
        {
            p = Heap.RallocX(ptr, size == 0 ? 1 : size, new MallocFlags(flags));
        }
        catch (Exception e)
        {
            CBoundary.OnAllocException("rallocx", e);
            p = null;
        }
        *errno = saved;
        return p;
    }

    /// <summary>size_t xallocx(void *ptr, size_t size, size_t extra, int flags): the usable size after an in-place resize attempt.</summary>
    [UnmanagedCallersOnly(EntryPoint = "xallocx")]
    internal static nuint XallocX(void* ptr, nuint size, nuint extra, int flags)
    {
        int* errno = CBoundary.Errno();
        int saved = *errno;
        nuint r;
        try
        {
            r = Heap.XallocX(ptr, size == 0 ? 1 : size, extra, new MallocFlags(flags));
        }
        catch (Exception e)
        {
            CBoundary.OnAllocException("xallocx", e);
            r = Heap.UsableSize(ptr);
        }
        *errno = saved;
        return r;
    }

    /// <summary>size_t sallocx(const void *ptr, int flags): the usable size (0 for a pointer NativeHeap does not own).</summary>
    [UnmanagedCallersOnly(EntryPoint = "sallocx")]
    internal static nuint SallocX(void* ptr, int flags) => Heap.SallocX(ptr, new MallocFlags(flags));

    /// <summary>void dallocx(void *ptr, int flags)</summary>
    [UnmanagedCallersOnly(EntryPoint = "dallocx")]
    internal static void DallocX(void* ptr, int flags)
    {
        if (ptr == null || (flags == 0 && Heap.TryFreeCached(ptr))) return;
        DallocXSlow(ptr, flags);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void DallocXSlow(void* ptr, int flags)
    {
        int* errno = CBoundary.Errno();
        int saved = *errno;
        try
        {
            Heap.DallocX(ptr, new MallocFlags(flags));
        }
        catch (Exception e)
        {
            CBoundary.Fatal("dallocx", e);
        }
        *errno = saved;
    }

    /// <summary>void sdallocx(void *ptr, size_t size, int flags)</summary>
    [UnmanagedCallersOnly(EntryPoint = "sdallocx")]
    internal static void SdallocX(void* ptr, nuint size, int flags)
    {
        // A cached free never happens in checked mode (its blocks are not cacheable), so the size check
        // of checked mode is never skipped here.
        if (ptr == null || (flags == 0 && Heap.TryFreeCached(ptr))) return;
        SdallocXSlow(ptr, size, flags);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void SdallocXSlow(void* ptr, nuint size, int flags)
    {
        int* errno = CBoundary.Errno();
        int saved = *errno;
        try
        {
            Heap.SdallocX(ptr, size, new MallocFlags(flags));
        }
        catch (Exception e)
        {
            CBoundary.Fatal("sdallocx", e);
        }
        *errno = saved;
    }

    /// <summary>size_t nallocx(size_t size, int flags): the usable size mallocx would give, 0 when impossible.</summary>
    [UnmanagedCallersOnly(EntryPoint = "nallocx")]
    internal static nuint NallocX(nuint size, int flags) => Heap.NallocX(size, new MallocFlags(flags));
}
