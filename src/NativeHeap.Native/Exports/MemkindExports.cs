// MemkindExports: memkind's heap-management calls under memkind's names, on NativeHeap.Kinds.
// Handles are mapped by MemkindHandles (predefined kinds are data symbols from native/nh_kinds.c).
//
// Semantics (memkind 1.14's man page): memkind_malloc/calloc/realloc return NULL on failure with
// errno ENOMEM — also for a kind this machine cannot serve (memkind_check_available tells which);
// memkind_realloc(kind, NULL, n) allocates, memkind_realloc(kind, p, 0) frees and returns NULL; a NULL
// kind in memkind_free/memkind_realloc/memkind_malloc_usable_size means "find the kind from the
// pointer" (O(1) here: the page map). memkind_posix_memalign returns 0, EINVAL or ENOMEM and leaves
// errno alone. Status-returning calls return memkind's codes (MEMKIND_SUCCESS, MEMKIND_ERROR_*).
// A pointer NativeHeap does not own, given to memkind_free/realloc, aborts with a message (CBoundary).
using System.Runtime.InteropServices;
using NativeHeap.Kinds;

namespace NativeHeap.Native.Exports;

/// <summary>C exports with memkind's names.</summary>
internal static unsafe class MemkindExports
{
    private const int MEMKIND_SUCCESS = 0, MEMKIND_ERROR_UNAVAILABLE = -1, MEMKIND_ERROR_INVALID = -13,
        MEMKIND_ERROR_OPERATION_FAILED = -21, MEMKIND_PMEM_MIN_SIZE = 16 << 20;

    /// <summary>void *memkind_malloc(memkind_t kind, size_t size)</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_malloc")]
    internal static void* Malloc(void* handle, nuint size)
    {
        int* errno = CBoundary.Errno();
        int saved = *errno;
        void* p = null;
        try
        {
            p = MemkindHandles.KindOf(handle, out _)?.Malloc(size);
        }
        catch (Exception e)
        {
            CBoundary.OnAllocException("memkind_malloc", e);
        }
        *errno = p == null ? CBoundary.ENOMEM : saved;
        return p;
    }

    /// <summary>void *memkind_calloc(memkind_t kind, size_t num, size_t size)</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_calloc")]
    internal static void* Calloc(void* handle, nuint num, nuint size)
    {
        int* errno = CBoundary.Errno();
        int saved = *errno;
        void* p = null;
        try
        {
            p = MemkindHandles.KindOf(handle, out _)?.Calloc(num, size);
        }
        catch (Exception e)
        {
            CBoundary.OnAllocException("memkind_calloc", e);
        }
        *errno = p == null ? CBoundary.ENOMEM : saved;
        return p;
    }

    /// <summary>void *memkind_realloc(memkind_t kind, void *ptr, size_t size)</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_realloc")]
    internal static void* Realloc(void* handle, void* ptr, nuint size)
    {
        int* errno = CBoundary.Errno();
        int saved = *errno;
        void* p = null;
        try
        {
            if (handle == null)
            {
                p = MemoryKind.ReallocAny(ptr, size);
            }
            else
            {
                MemoryKind? kind = MemkindHandles.KindOf(handle, out _);
                if (kind != null) p = kind.Realloc(ptr, size);
            }
        }
        catch (Exception e)
        {
            CBoundary.OnAllocException("memkind_realloc", e);
        }
        *errno = p == null && size != 0 ? CBoundary.ENOMEM : saved;
        return p;
    }

    /// <summary>void memkind_free(memkind_t kind, void *ptr): the kind is found from the pointer either way.</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_free")]
    internal static void Free(void* handle, void* ptr)
    {
        if (ptr == null) return;
        int* errno = CBoundary.Errno();
        int saved = *errno;
        try
        {
            MemoryKind.Free(ptr);
        }
        catch (Exception e)
        {
            CBoundary.Fatal("memkind_free", e);
        }
        *errno = saved;
    }

    /// <summary>int memkind_posix_memalign(memkind_t kind, void **memptr, size_t alignment, size_t size): 0, EINVAL or ENOMEM; errno unchanged.</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_posix_memalign")]
    internal static int PosixMemalign(void* handle, void** memptr, nuint alignment, nuint size)
    {
        if (memptr == null) return CBoundary.EINVAL;
        int* errno = CBoundary.Errno();
        int saved = *errno;
        int rc;
        try
        {
            MemoryKind? kind = MemkindHandles.KindOf(handle, out _);
            if (kind == null)
            {
                rc = alignment < (nuint)sizeof(void*) || (alignment & (alignment - 1)) != 0 ? CBoundary.EINVAL : CBoundary.ENOMEM;
            }
            else
            {
                rc = kind.PosixMemalign(out void* p, alignment, size);
                if (rc == 0) *memptr = p;
            }
        }
        catch (Exception e)
        {
            CBoundary.OnAllocException("memkind_posix_memalign", e);
            rc = CBoundary.ENOMEM;
        }
        *errno = saved;
        return rc;
    }

    /// <summary>size_t memkind_malloc_usable_size(memkind_t kind, void *ptr): 0 for NULL or a pointer NativeHeap does not own.</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_malloc_usable_size")]
    internal static nuint UsableSize(void* handle, void* ptr) => MemoryKind.UsableSize(ptr);

    /// <summary>memkind_t memkind_detect_kind(void *ptr): the kind of a block, NULL for a pointer NativeHeap does not own.</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_detect_kind")]
    internal static void* DetectKind(void* ptr)
    {
        MemoryKind? kind = MemoryKind.DetectKind(ptr);
        return kind == null ? null : MemkindHandles.HandleOf(kind);
    }

    /// <summary>int memkind_check_available(memkind_t kind): MEMKIND_SUCCESS or MEMKIND_ERROR_UNAVAILABLE.</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_check_available")]
    internal static int CheckAvailable(void* handle)
    {
        try
        {
            MemoryKind? kind = MemkindHandles.KindOf(handle, out _);
            return kind != null && kind.CheckAvailable(out _) ? MEMKIND_SUCCESS : MEMKIND_ERROR_UNAVAILABLE;
        }
        catch (Exception)
        {
            return MEMKIND_ERROR_UNAVAILABLE;
        }
    }

    /// <summary>
    /// int memkind_create_pmem(const char *dir, size_t max_size, memkind_t *kind): a file-backed kind in
    /// dir (a temporary file, unlinked at once). max_size 0 means as large as the file system allows
    /// (NativeHeap caps it at 1 TiB of address space); otherwise it must be at least
    /// MEMKIND_PMEM_MIN_SIZE (16 MiB). MEMKIND_ERROR_INVALID for bad arguments or an unusable directory.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_create_pmem")]
    internal static int CreatePmem(byte* dir, nuint maxSize, void** kindOut)
    {
        if (dir == null || kindOut == null || (maxSize != 0 && maxSize < MEMKIND_PMEM_MIN_SIZE)) return MEMKIND_ERROR_INVALID;
        int* errno = CBoundary.Errno();
        int saved = *errno;
        int rc;
        try
        {
            string path = Marshal.PtrToStringUTF8((nint)dir)!;
            long max = maxSize == 0 || (ulong)maxSize > 1UL << 40 ? 1L << 40 : (long)maxSize;
            if (MemoryKind.TryCreatePmem(path, max, out MemoryKind? kind, out _))
            {
                *kindOut = MemkindHandles.HandleOf(kind!);
                rc = MEMKIND_SUCCESS;
            }
            else
            {
                rc = MEMKIND_ERROR_INVALID;
            }
        }
        catch (Exception)
        {
            rc = MEMKIND_ERROR_INVALID;
        }
        *errno = saved;
        return rc;
    }

    /// <summary>int memkind_destroy_kind(memkind_t kind): frees the kind and all its memory; predefined kinds cannot be destroyed.</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_destroy_kind")]
    internal static int DestroyKind(void* handle)
    {
        if (handle == null || *(int*)handle < 0) return MEMKIND_ERROR_OPERATION_FAILED;
        int* errno = CBoundary.Errno();
        int saved = *errno;
        int rc;
        try
        {
            MemoryKind? kind = MemkindHandles.KindOf(handle, out _);
            if (kind != null && kind.TryDestroy(out _))
            {
                MemkindHandles.Release(handle);
                rc = MEMKIND_SUCCESS;
            }
            else
            {
                rc = MEMKIND_ERROR_OPERATION_FAILED;
            }
        }
        catch (Exception)
        {
            rc = MEMKIND_ERROR_OPERATION_FAILED;
        }
        *errno = saved;
        return rc;
    }
}
