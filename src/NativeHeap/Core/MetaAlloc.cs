// MetaAlloc: the allocator of NativeHeap's own metadata (arena headers, thread caches, checked-mode
// bitmaps), the analogue of jemalloc's base allocator. Bump allocation from 2 MiB OS mappings,
// with per-size free lists so recycled thread caches cost no new memory. Never returns memory to
// the OS (metadata is small and long-lived); its footprint is reported as stats.metadata.
using NativeHeap.Os;

namespace NativeHeap.Core;

internal static unsafe class MetaAlloc
{
    private const nuint BlockSize = 2 << 20;
    private const int FreeListCount = 64;

    private static readonly NativeLock* s_lock = (NativeLock*)StaticMemory.Alloc((nuint)sizeof(NativeLock));
    private static byte* s_cursor, s_end;
    private static long s_mapped, s_used;
    // Free lists keyed by size in 64-byte units (sizes up to 4 KiB); the last slot holds larger blocks.
    private static readonly void** s_free = (void**)StaticMemory.Alloc((FreeListCount + 1) * (nuint)sizeof(void*));

    private struct FreeBig
    {
        public FreeBig* Next;
        public nuint Size;
    }

    /// <summary>Bytes of OS memory mapped for metadata.</summary>
    internal static long Mapped => Volatile.Read(ref s_mapped);

    /// <summary>Bytes of metadata handed out and not yet returned.</summary>
    internal static long Used => Volatile.Read(ref s_used);

    /// <summary>Allocates zeroed, 64-byte aligned metadata; null when the OS refuses memory.</summary>
    internal static void* TryAlloc(nuint size)
    {
        size = (size + 63) & ~(nuint)63;
        s_lock->Enter();
        try
        {
            void* p = TakeFree(size);
            if (p != null)
            {
                NativeMemory.Clear(p, size);
                s_used += (long)size;
                return p;
            }
            if (s_cursor == null || (nuint)(s_end - s_cursor) < size)
            {
                nuint block = size > BlockSize ? (size + BlockSize - 1) & ~(BlockSize - 1) : BlockSize;
                if (!OsMemory.TryMapAligned(block, OsMemory.PageSize, out void* m, out _)) return null;
                s_cursor = (byte*)m;
                s_end = s_cursor + block;
                s_mapped += (long)block;
            }
            p = s_cursor;
            s_cursor += size;
            s_used += (long)size;
            return p;   // fresh OS memory is zero
        }
        finally
        {
            s_lock->Exit();
        }
    }

    /// <summary>Returns a block obtained from TryAlloc with the same size.</summary>
    internal static void Free(void* p, nuint size)
    {
        size = (size + 63) & ~(nuint)63;
        s_lock->Enter();
        s_used -= (long)size;
        nuint unit = size >> 6;
        if (unit < FreeListCount)
        {
            *(void**)p = s_free[unit];
            s_free[unit] = p;
        }
        else
        {
            FreeBig* b = (FreeBig*)p;
            b->Size = size;
            b->Next = (FreeBig*)s_free[FreeListCount];
            s_free[FreeListCount] = b;
        }
        s_lock->Exit();
    }

    private static void* TakeFree(nuint size)
    {
        nuint unit = size >> 6;
        if (unit < FreeListCount)
        {
            void* p = s_free[unit];
            if (p != null) s_free[unit] = *(void**)p;
            return p;
        }
        for (FreeBig** link = (FreeBig**)&s_free[FreeListCount]; *link != null; link = &(*link)->Next)
        {
            if ((*link)->Size == size)
            {
                FreeBig* b = *link;
                *link = b->Next;
                return b;
            }
        }
        return null;
    }

    /// <summary>Takes the lock before fork() (Heap.LockAllForFork).</summary>
    internal static void LockForFork() => s_lock->Enter();

    /// <summary>Releases it after fork(), in parent and child.</summary>
    internal static void UnlockAfterFork() => s_lock->Exit();
}
