// MemkindExports: memkind's heap-management calls under memkind's names, on NativeHeap.Kinds.
// Handles are mapped by MemkindHandles (predefined kinds are data symbols from native/nh_kinds.c);
// kinds made by memkind_create (MemkindArenaExports) dispatch to their struct memkind_ops.
//
// Semantics (memkind(3), 1.14, checked against libmemkind.so.0 1.14 on this machine):
//  - memkind_malloc(k, 0), memkind_calloc(k, 0, n) / (k, n, 0) return NULL and leave errno alone;
//    memkind_posix_memalign(k, &p, a, 0) returns 0 with *p = NULL (a valid alignment) — 0 bytes are
//    never a block.
//  - Failures return NULL with errno ENOMEM — also for a kind this machine cannot serve
//    (memkind_check_available tells which).
//  - memkind_realloc(k, NULL, n) allocates (n = 0: NULL); (k, p, 0) frees and returns NULL;
//    (NULL, NULL, n) returns NULL with errno EINVAL; a NULL kind otherwise means "the pointer's kind".
//  - memkind_posix_memalign returns 0, EINVAL or ENOMEM and never changes errno.
//  - A NULL kind in memkind_free/memkind_malloc_usable_size means "find the kind from the pointer"
//    (O(1) here: the page map). A pointer NativeHeap does not own aborts with a message (CBoundary).
using System.Runtime.InteropServices;
using NativeHeap.Kinds;

namespace NativeHeap.Native.Exports;

/// <summary>C exports with memkind's names: heap management.</summary>
internal static unsafe class MemkindExports
{
    /// <summary>void *memkind_malloc(memkind_t kind, size_t size)</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_malloc")]
    internal static void* Malloc(void* handle, nuint size) => MallocCore(handle, size);

    internal static void* MallocCore(void* handle, nuint size)
    {
        if (size == 0) return null;
        int* errno = CBoundary.Errno();
        int saved = *errno;
        MemkindOps* ops = MemkindHandles.OpsOf(handle);
        if (ops != null) return ops->Malloc((MemkindHandle*)handle, size);
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
    internal static void* Calloc(void* handle, nuint num, nuint size) => CallocCore(handle, num, size);

    internal static void* CallocCore(void* handle, nuint num, nuint size)
    {
        if (num == 0 || size == 0) return null;
        MemkindOps* ops = MemkindHandles.OpsOf(handle);
        if (ops != null) return ops->Calloc((MemkindHandle*)handle, num, size);
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
    internal static void* Realloc(void* handle, void* ptr, nuint size) => ReallocCore(handle, ptr, size);

    internal static void* ReallocCore(void* handle, void* ptr, nuint size)
    {
        int* errno = CBoundary.Errno();
        if (handle == null)
        {
            if (ptr == null)
            {
                *errno = CBoundary.EINVAL;
                return null;
            }
            MemoryKind? owner = MemoryKind.DetectKind(ptr);
            if (owner != null) handle = MemkindHandles.HandleOf(owner);
        }
        MemkindOps* ops = MemkindHandles.OpsOf(handle);
        if (ops != null) return ops->Realloc((MemkindHandle*)handle, ptr, size);
        if (ptr == null && size == 0) return null;
        int saved = *errno;
        void* p = null;
        try
        {
            if (handle == null)
            {
                p = MemoryKind.ReallocAny(ptr, size);   // not NativeHeap's pointer: ReallocAny reports it
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

    /// <summary>void memkind_free(memkind_t kind, void *ptr): the block's kind is found from the pointer (its ops' free for memkind_create kinds).</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_free")]
    internal static void Free(void* handle, void* ptr) => FreeCore(handle, ptr);

    internal static void FreeCore(void* handle, void* ptr)
    {
        if (ptr == null) return;
        int* errno = CBoundary.Errno();
        int saved = *errno;
        if (handle == null)
        {
            MemoryKind? owner = MemoryKind.DetectKind(ptr);
            if (owner != null && !owner.Equals(MemoryKind.Default)) handle = MemkindHandles.HandleOf(owner);
        }
        MemkindOps* ops = MemkindHandles.OpsOf(handle);
        if (ops != null && ops->Free != null)
        {
            ops->Free((MemkindHandle*)handle, ptr);
            return;
        }
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
    internal static int PosixMemalign(void* handle, void** memptr, nuint alignment, nuint size) => PosixMemalignCore(handle, memptr, alignment, size);

    internal static int PosixMemalignCore(void* handle, void** memptr, nuint alignment, nuint size)
    {
        if (memptr == null || alignment < (nuint)sizeof(void*) || (alignment & (alignment - 1)) != 0) return CBoundary.EINVAL;
        if (size == 0)
        {
            *memptr = null;
            return 0;
        }
        MemkindOps* ops = MemkindHandles.OpsOf(handle);
        if (ops != null && ops->PosixMemalign != null) return ops->PosixMemalign((MemkindHandle*)handle, memptr, alignment, size);
        int* errno = CBoundary.Errno();
        int saved = *errno;
        int rc;
        try
        {
            MemoryKind? kind = MemkindHandles.KindOf(handle, out _);
            if (kind == null)
            {
                rc = CBoundary.ENOMEM;
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
    internal static nuint UsableSize(void* handle, void* ptr)
    {
        MemkindOps* ops = MemkindHandles.OpsOf(handle);
        if (ops != null && ops->MallocUsableSize != null) return ops->MallocUsableSize((MemkindHandle*)handle, ptr);
        return MemoryKind.UsableSize(ptr);
    }

    /// <summary>
    /// void *memkind_defrag_reallocate(memkind_t kind, void *ptr): NULL — the block is never judged
    /// worth moving (NativeHeap's bins already refill from their lowest slab, packing live blocks
    /// low); NULL for a NULL pointer, as memkind. The block stays valid.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_defrag_reallocate")]
    internal static void* DefragReallocate(void* handle, void* ptr)
    {
        MemkindOps* ops = MemkindHandles.OpsOf(handle);
        if (ops != null && ops->DefragReallocate != null && ptr != null) return ops->DefragReallocate((MemkindHandle*)handle, ptr);
        return null;
    }

    /// <summary>memkind_t memkind_detect_kind(void *ptr): the kind of a block, NULL for NULL or a pointer NativeHeap does not own.</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_detect_kind")]
    internal static void* DetectKind(void* ptr)
    {
        MemoryKind? kind = MemoryKind.DetectKind(ptr);
        return kind == null ? null : MemkindHandles.HandleOf(kind);
    }
}
