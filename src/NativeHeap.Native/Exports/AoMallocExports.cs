// AoMallocExports: libatomic_ops' AO_malloc interface (AO_malloc, AO_free, AO_malloc_enable_mmap) on
// the process-wide lock-free heap (NativeHeap.LockFree.LockFreeMalloc).
//
// As the seed documents: AO_malloc returns NULL when the fixed 2 MiB heap cannot serve the request
// (objects of just under 64 KiB and more) until AO_malloc_enable_mmap has been called; it does not set
// errno (the calls save and restore it: the heap's first use and its mmap'd objects call libc). AO_free(NULL) does nothing; a pointer the heap does not recognise is ignored (and counted in
// the heap's statistics), as LockFreeHeap.Free documents. The heap itself takes no lock, but the
// reverse P/Invoke transition into these methods can wait for a garbage collection and must not be
// re-entered on one thread, so (unlike inside .NET) they are not safe from a signal handler that can
// interrupt another call of this library; include/atomic_ops_malloc.h does not claim
// AO_MALLOC_IS_LOCK_FREE.
using System.Runtime.InteropServices;
using NativeHeap.LockFree;

namespace NativeHeap.Native.Exports;

/// <summary>C exports with AO_malloc's names.</summary>
internal static unsafe class AoMallocExports
{
    /// <summary>void *AO_malloc(size_t sz)</summary>
    [UnmanagedCallersOnly(EntryPoint = "AO_malloc")]
    internal static void* Malloc(nuint size)
    {
        int* errno = CBoundary.Errno(); // first use and mmap'd objects make libc calls
        int saved = *errno;
        void* p;
        try
        {
            p = LockFreeMalloc.Malloc(size);
        }
        catch (Exception e)
        {
            CBoundary.OnAllocException("AO_malloc", e);
            p = null;
        }
        *errno = saved;
        return p;
    }

    /// <summary>void AO_free(void *p)</summary>
    [UnmanagedCallersOnly(EntryPoint = "AO_free")]
    internal static void Free(void* p)
    {
        int* errno = CBoundary.Errno(); // freeing an mmap'd object calls munmap
        int saved = *errno;
        try
        {
            LockFreeMalloc.Free(p);
        }
        catch (Exception e)
        {
            CBoundary.Fatal("AO_free", e);
        }
        *errno = saved;
    }

    /// <summary>void AO_malloc_enable_mmap(void)</summary>
    [UnmanagedCallersOnly(EntryPoint = "AO_malloc_enable_mmap")]
    internal static void EnableMmap()
    {
        int* errno = CBoundary.Errno();
        int saved = *errno;
        try
        {
            LockFreeMalloc.EnableMmap();
        }
        catch (Exception e)
        {
            CBoundary.Fatal("AO_malloc_enable_mmap", e);
        }
        *errno = saved;
    }
}
