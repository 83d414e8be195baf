// MmallocExports: GNU mmalloc's interface (mmalloc_attach, mmalloc_detach, mmalloc, mrealloc, mcalloc,
// mvalloc, mmemalign, mfree, mmalloc_setkey, mmalloc_getkey, mmalloc_errno) on NativeHeap.Mapped.
//
// Mapping of the seed's semantics:
//  - mmalloc_attach(fd, baseaddr): fd >= 0 attaches the heap in that file (an empty file gets a new
//    heap; the heap keeps its own dup of fd, so the caller may close fd); fd < 0 gives an anonymous
//    heap (mmalloc's /dev/zero case). baseaddr NULL: an existing heap goes back to its recorded
//    address, a new one goes where NativeHeap chooses; non-NULL: exactly there or fail. Returns the
//    descriptor (the heap's base address) or NULL with errno set (EEXIST address taken, EAGAIN
//    another writer holds the file, EINVAL not a heap / corrupt / bad options, or the OS's errno).
//  - mmalloc_detach(md): NULL on success, md on failure (mmalloc_errno(md) then tells why).
//  - A NULL descriptor means the default heap, as mmalloc's sbrk region: mmalloc(NULL, n) is
//    NativeHeap.Heap's malloc, mfree(NULL, p) its free, and so on. setkey/getkey need a real heap.
//  - Allocation failure returns NULL with errno ENOMEM; mmalloc_errno(md) gives the reason of the
//    heap's most recent failure as an errno value (ENOMEM full or impossible size, EINVAL bad pointer,
//    double free or key out of range, EROFS read-only, EBADF detached, or the failing OS call's errno).
//  - mfree of a pointer that is not a live block of that heap changes nothing; the reason is kept for
//    mmalloc_errno (the heap checks bounds, alignment and a per-block cookie before it trusts a block).
//  - mmalloc_setkey returns 1 on success and 0 on failure (as GNU mmalloc); keys 0..31, and the
//    pointer must be NULL or point into the heap (keys are stored as offsets, so they survive reopening
//    at another address — a difference from mmalloc, where any value can be stored).
// Every call restores the caller's errno unless it sets ENOMEM or the attach error.
using System.Runtime.InteropServices;
using NativeHeap.Mapped;

namespace NativeHeap.Native.Exports;

/// <summary>C exports with GNU mmalloc's names.</summary>
internal static unsafe class MmallocExports
{
    private const nuint PageSize = 4096;

    /// <summary>void *mmalloc_attach(int fd, void *baseaddr)</summary>
    [UnmanagedCallersOnly(EntryPoint = "mmalloc_attach")]
    internal static void* Attach(int fd, void* baseaddr) => AttachCore(fd, baseaddr, allowRelocation: false);

    /// <summary>mmalloc_attach, and mmalloc_attach_flags with MMALLOC_ALLOW_RELOCATION (MmallocDebugExports).</summary>
    internal static void* AttachCore(int fd, void* baseaddr, bool allowRelocation)
    {
        int* errno = CBoundary.Errno();
        int saved = *errno;
        try
        {
            var options = new MappedHeapOptions { BaseAddress = (nint)baseaddr, AllowRelocation = allowRelocation };
            bool ok = fd >= 0
                ? MappedHeap.TryAttach(fd, options, out MappedHeap? heap, out MappedHeapFailure failure)
                : MappedHeap.TryAttachAnonymous(options, out heap, out failure);
            if (!ok || heap == null)
            {
                *errno = ErrnoOf(failure.Code, failure.Os.Errno);
                return null;
            }
            *errno = saved;
            return MappedHeapTable.Add(heap);
        }
        catch (Exception e)
        {
            CBoundary.OnAllocException("mmalloc_attach", e);
            *errno = CBoundary.ENOMEM;
            return null;
        }
    }

    /// <summary>void *mmalloc_detach(void *md): NULL on success, md on failure.</summary>
    [UnmanagedCallersOnly(EntryPoint = "mmalloc_detach")]
    internal static void* Detach(void* md)
    {
        if (md == null) return null;
        int* errno = CBoundary.Errno();
        int saved = *errno;
        try
        {
            MappedHeap? heap = MappedHeapTable.Find(md);
            if (heap == null) return md;
            if (heap.TryDetach() || heap.LastError == MappedHeapError.Detached)
            {
                MappedHeapTable.Remove(heap);
                MmallocDebugExports.OnDetach(md);
                return null;
            }
            return md; // unmapped, but closing the file failed: kept so mmalloc_errno(md) can tell why
        }
        catch (Exception e)
        {
            CBoundary.Fatal("mmalloc_detach", e);
            return md;
        }
        finally
        {
            *errno = saved;
        }
    }

    /// <summary>void *mmalloc(void *md, size_t size)</summary>
    [UnmanagedCallersOnly(EntryPoint = "mmalloc")]
    internal static void* Malloc(void* md, nuint size) => Allocate("mmalloc", md, size, pageAligned: false);

    /// <summary>void *mvalloc(void *md, size_t size): page-aligned.</summary>
    [UnmanagedCallersOnly(EntryPoint = "mvalloc")]
    internal static void* Valloc(void* md, nuint size) => Allocate("mvalloc", md, size, pageAligned: true);

    /// <summary>void *mcalloc(void *md, size_t count, size_t size): zeroed; NULL when the product overflows.</summary>
    [UnmanagedCallersOnly(EntryPoint = "mcalloc")]
    internal static void* Calloc(void* md, nuint count, nuint size)
    {
        ulong hi = Math.BigMul((ulong)count, (ulong)size, out ulong total);
        if (hi != 0)
        {
            *CBoundary.Errno() = CBoundary.ENOMEM;
            return null;
        }
        void* p = Allocate("mcalloc", md, (nuint)total, pageAligned: false);
        if (p != null) NativeMemory.Clear(p, (nuint)total); // a reused block of either heap holds old data
        return p;
    }

    /// <summary>void *mmemalign(void *md, size_t alignment, size_t size): a power of two up to the page size for a mapped heap.</summary>
    [UnmanagedCallersOnly(EntryPoint = "mmemalign")]
    internal static void* Memalign(void* md, nuint alignment, nuint size)
    {
        if (alignment == 0 || (alignment & (alignment - 1)) != 0 || (md != null && alignment > PageSize))
        {
            *CBoundary.Errno() = CBoundary.EINVAL;
            return null;
        }
        if (md == null) return Allocate("mmemalign", md, size, pageAligned: false, alignment);
        return Allocate("mmemalign", md, size, pageAligned: alignment > 16);
    }

    /// <summary>void *mrealloc(void *md, void *ptr, size_t size): NULL ptr allocates; size 0 frees and returns NULL.</summary>
    [UnmanagedCallersOnly(EntryPoint = "mrealloc")]
    internal static void* Realloc(void* md, void* ptr, nuint size)
    {
        int* errno = CBoundary.Errno();
        int saved = *errno;
        void* p;
        try
        {
            if (md == null) p = Heap.Realloc(ptr, size);
            else
            {
                MappedHeap? heap = MappedHeapTable.Find(md);
                p = heap?.Reallocate(ptr, size);
                if (heap != null && p == null && ptr != null && heap.LastError is MappedHeapError.InvalidPointer or MappedHeapError.DoubleFree)
                    MmallocDebugExports.OnBadPointer(md, heap, ptr, "mrealloc");
                if (MmallocDebugExports.Tracing && (p != null || (ptr != null && size == 0)))
                    MmallocDebugExports.Trace(ptr == null ? $"@ 0x{(nuint)md:x} + 0x{(nuint)p:x} 0x{size:x}"
                        : p == null ? $"@ 0x{(nuint)md:x} - 0x{(nuint)ptr:x}"
                        : $"@ 0x{(nuint)md:x} < 0x{(nuint)ptr:x}\n@ 0x{(nuint)md:x} > 0x{(nuint)p:x} 0x{size:x}");
            }
        }
        catch (Exception e)
        {
            CBoundary.OnAllocException("mrealloc", e);
            p = null;
        }
        bool freed = ptr != null && size == 0;
        *errno = p != null || freed ? saved : CBoundary.ENOMEM;
        return p;
    }

    /// <summary>void mfree(void *md, void *ptr)</summary>
    [UnmanagedCallersOnly(EntryPoint = "mfree")]
    internal static void Free(void* md, void* ptr)
    {
        int* errno = CBoundary.Errno();
        int saved = *errno;
        try
        {
            if (md == null) Heap.Free(ptr);
            else if (MappedHeapTable.Find(md) is MappedHeap heap)
            {
                if (heap.TryFree(ptr))
                {
                    if (MmallocDebugExports.Tracing && ptr != null) MmallocDebugExports.Trace($"@ 0x{(nuint)md:x} - 0x{(nuint)ptr:x}");
                }
                else if (heap.LastError is MappedHeapError.InvalidPointer or MappedHeapError.DoubleFree)
                {
                    MmallocDebugExports.OnBadPointer(md, heap, ptr, "mfree");
                }
            }
        }
        catch (Exception e)
        {
            CBoundary.Fatal("mfree", e);
        }
        *errno = saved;
    }

    /// <summary>int mmalloc_setkey(void *md, int keynum, void *key): 1 on success, 0 on failure.</summary>
    [UnmanagedCallersOnly(EntryPoint = "mmalloc_setkey")]
    internal static int SetKey(void* md, int keynum, void* key)
    {
        int* errno = CBoundary.Errno();
        int saved = *errno;
        try
        {
            MappedHeap? heap = md == null ? null : MappedHeapTable.Find(md);
            return heap != null && heap.TrySetKey(keynum, key) ? 1 : 0;
        }
        catch (Exception e)
        {
            CBoundary.Fatal("mmalloc_setkey", e);
            return 0;
        }
        finally
        {
            *errno = saved;
        }
    }

    /// <summary>void *mmalloc_getkey(void *md, int keynum): NULL when unset or invalid.</summary>
    [UnmanagedCallersOnly(EntryPoint = "mmalloc_getkey")]
    internal static void* GetKey(void* md, int keynum)
    {
        try
        {
            MappedHeap? heap = md == null ? null : MappedHeapTable.Find(md);
            return heap == null ? null : heap.GetKey(keynum);
        }
        catch (Exception e)
        {
            CBoundary.Fatal("mmalloc_getkey", e);
            return null;
        }
    }

    /// <summary>int mmalloc_errno(void *md): the errno of the heap's most recent failure, 0 when none (and for NULL).</summary>
    [UnmanagedCallersOnly(EntryPoint = "mmalloc_errno")]
    internal static int Errno(void* md)
    {
        MappedHeap? heap = md == null ? null : MappedHeapTable.Find(md);
        if (heap == null) return md == null ? 0 : CBoundary.EBADF;
        return ErrnoOf(heap.LastError, heap.LastOsError.Errno);
    }

    private static void* Allocate(string call, void* md, nuint size, bool pageAligned, nuint alignment = 0)
    {
        int* errno = CBoundary.Errno();
        int saved = *errno;
        void* p;
        try
        {
            if (md == null)
                p = alignment > 1 ? Heap.AlignedAlloc(alignment, size)
                    : pageAligned ? Heap.AlignedAlloc(PageSize, size) : Heap.Malloc(size);
            else
            {
                MappedHeap? heap = MappedHeapTable.Find(md);
                p = heap == null ? null : pageAligned ? heap.AllocatePageAligned(size) : heap.Allocate(size);
                if (p != null && MmallocDebugExports.Tracing) MmallocDebugExports.Trace($"@ 0x{(nuint)md:x} + 0x{(nuint)p:x} 0x{size:x}");
            }
        }
        catch (Exception e)
        {
            CBoundary.OnAllocException(call, e);
            p = null;
        }
        *errno = p != null ? saved : CBoundary.ENOMEM;
        return p;
    }

    /// <summary>A mapped-heap error as the errno value C callers expect.</summary>
    private static int ErrnoOf(MappedHeapError error, int osErrno) => error switch
    {
        MappedHeapError.None => 0,
        MappedHeapError.OsFailure => osErrno != 0 ? osErrno : CBoundary.EINVAL,
        MappedHeapError.HeapFull => osErrno != 0 ? osErrno : CBoundary.ENOMEM,
        MappedHeapError.InvalidSize => CBoundary.ENOMEM,
        MappedHeapError.ReadOnly => CBoundary.EROFS,
        MappedHeapError.Detached => CBoundary.EBADF,
        MappedHeapError.AddressInUse => CBoundary.EEXIST,
        MappedHeapError.Locked => CBoundary.EAGAIN,
        _ => CBoundary.EINVAL, // InvalidPointer, DoubleFree, InvalidKey, InvalidName, NotAHeap, Truncated, Corrupt*, UnsupportedVersion, InvalidOptions
    };
}
