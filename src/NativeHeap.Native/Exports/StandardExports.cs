// StandardExports: the C standard allocation calls on NativeHeap.Heap under the nh_ prefix (nh_malloc,
// nh_calloc, nh_realloc, nh_free, nh_posix_memalign, nh_aligned_alloc, nh_memalign, nh_valloc,
// nh_malloc_usable_size). Unprefixed names would replace glibc's for the whole process; only a
// drop-in (LD_PRELOAD) library may do that.
//
// errno as glibc and jemalloc document it: malloc, calloc, realloc, aligned_alloc, memalign and
// valloc set ENOMEM on failure (and EINVAL for an alignment that is not a power of two); on success
// errno is left as it was. posix_memalign returns EINVAL or ENOMEM, leaves *memptr untouched on
// failure and never changes errno. realloc(p, 0) frees p and returns NULL without touching errno;
// realloc(NULL, n) is malloc(n). Freeing a pointer NativeHeap does not own aborts with a message.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NativeHeap.Native.Exports;

/// <summary>C exports of the standard allocation calls, prefixed nh_.</summary>
internal static unsafe class StandardExports
{
    private const nuint PageSize = 4096;

    /// <summary>void *nh_malloc(size_t size)</summary>
    [UnmanagedCallersOnly(EntryPoint = "nh_malloc")]
    internal static void* Malloc(nuint size)
    {
        void* hit = Heap.TryMallocCached(size); // no libc call: errno cannot change
        return hit != null ? hit : MallocSlow(size);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void* MallocSlow(nuint size)
    {
        int* errno = CBoundary.Errno();
        int saved = *errno;
        void* p;
        try
        {
            p = Heap.Malloc(size);
        }
        catch (Exception e)
        {
            CBoundary.OnAllocException("nh_malloc", e);
            p = null;
        }
        *errno = p != null ? saved : CBoundary.ENOMEM;
        return p;
    }

    /// <summary>void *nh_calloc(size_t count, size_t size)</summary>
    [UnmanagedCallersOnly(EntryPoint = "nh_calloc")]
    internal static void* Calloc(nuint count, nuint size)
    {
        int* errno = CBoundary.Errno();
        int saved = *errno;
        void* p;
        try
        {
            p = Heap.Calloc(count, size);
        }
        catch (Exception e)
        {
            CBoundary.OnAllocException("nh_calloc", e);
            p = null;
        }
        *errno = p != null ? saved : CBoundary.ENOMEM;
        return p;
    }

    /// <summary>void *nh_realloc(void *ptr, size_t size)</summary>
    [UnmanagedCallersOnly(EntryPoint = "nh_realloc")]
    internal static void* Realloc(void* ptr, nuint size)
    {
        int* errno = CBoundary.Errno();
        int saved = *errno;
        void* p;
        try
        {
            p = Heap.Realloc(ptr, size);
        }
        catch (Exception e)
        {
            CBoundary.OnAllocException("nh_realloc", e);
            p = null;
        }
        bool freed = ptr != null && size == 0;
        *errno = p != null || freed ? saved : CBoundary.ENOMEM;
        return p;
    }

    /// <summary>void nh_free(void *ptr)</summary>
    [UnmanagedCallersOnly(EntryPoint = "nh_free")]
    internal static void Free(void* ptr)
    {
        if (ptr == null || Heap.TryFreeCached(ptr)) return;
        FreeSlow(ptr);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void FreeSlow(void* ptr)
    {
        int* errno = CBoundary.Errno();
        int saved = *errno;
        try
        {
            Heap.Free(ptr);
        }
        catch (Exception e)
        {
            CBoundary.Fatal("nh_free", e);
        }
        *errno = saved;
    }

    /// <summary>int nh_posix_memalign(void **memptr, size_t alignment, size_t size): 0, EINVAL or ENOMEM; errno unchanged.</summary>
    [UnmanagedCallersOnly(EntryPoint = "nh_posix_memalign")]
    internal static int PosixMemalign(void** memptr, nuint alignment, nuint size)
    {
        // POSIX: the alignment must be a power of two and a multiple of sizeof(void *).
        if (alignment < (nuint)sizeof(void*) || (alignment & (alignment - 1)) != 0) return CBoundary.EINVAL;
        int* errno = CBoundary.Errno();
        int saved = *errno;
        void* p = AlignedCore("nh_posix_memalign", alignment, size);
        *errno = saved;
        if (p == null) return CBoundary.ENOMEM;
        *memptr = p;
        return 0;
    }

    /// <summary>void *nh_aligned_alloc(size_t alignment, size_t size): EINVAL for a non-power-of-two alignment.</summary>
    [UnmanagedCallersOnly(EntryPoint = "nh_aligned_alloc")]
    internal static void* AlignedAlloc(nuint alignment, nuint size) => AlignedWithErrno("nh_aligned_alloc", alignment, size);

    /// <summary>void *nh_memalign(size_t alignment, size_t size): as jemalloc, EINVAL for a non-power-of-two alignment.</summary>
    [UnmanagedCallersOnly(EntryPoint = "nh_memalign")]
    internal static void* Memalign(nuint alignment, nuint size) => AlignedWithErrno("nh_memalign", alignment, size);

    /// <summary>void *nh_valloc(size_t size): page-aligned (4 KiB).</summary>
    [UnmanagedCallersOnly(EntryPoint = "nh_valloc")]
    internal static void* Valloc(nuint size) => AlignedWithErrno("nh_valloc", PageSize, size);

    /// <summary>size_t nh_malloc_usable_size(void *ptr): 0 for NULL or a pointer NativeHeap does not own.</summary>
    [UnmanagedCallersOnly(EntryPoint = "nh_malloc_usable_size")]
    internal static nuint MallocUsableSize(void* ptr) => Heap.UsableSize(ptr);

    private static void* AlignedWithErrno(string call, nuint alignment, nuint size)
    {
        int* errno = CBoundary.Errno();
        if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        {
            *errno = CBoundary.EINVAL;
            return null;
        }
        int saved = *errno;
        void* p = AlignedCore(call, alignment, size);
        *errno = p != null ? saved : CBoundary.ENOMEM;
        return p;
    }

    private static void* AlignedCore(string call, nuint alignment, nuint size)
    {
        try
        {
            return Heap.AlignedAlloc(alignment, size == 0 ? 1 : size);
        }
        catch (Exception e)
        {
            CBoundary.OnAllocException(call, e);
            return null;
        }
    }
}
