// LockFreeLargeObjects: requests a lock-free heap's arena cannot serve (larger than
// LockFreeHeap.MaxSmallSize, or any size once the arena is exhausted), served by one mmap each once
// mmap is enabled, as AO_malloc does.
//
// Layout of a large object: [16-byte header: magic of the owning heap, mapping size][user bytes],
// the mapping page aligned, so a large object's address is always 16 bytes past a page boundary.
// Free recognises one by that position and the magic, which also tells heaps apart (the magic mixes
// in the owning heap's address). mmap and munmap are system calls, not locks: the path stays
// lock-free, but it is not on the small-object path and costs microseconds.
using NativeHeap.Os;

namespace NativeHeap.LockFree;

internal static unsafe class LockFreeLargeObjects
{
    /// <summary>Bytes before the user pointer.</summary>
    internal const int HeaderSize = 16;

    /// <summary>Maps an object of <paramref name="size"/> bytes for <paramref name="arena"/>; null on failure.</summary>
    internal static void* TryAllocate(in LockFreeArena arena, nuint size)
    {
        nuint total = size + HeaderSize + OsMemory.PageSize - 1;
        if (total < size) return null; // overflow
        total &= ~(nuint)(OsMemory.PageSize - 1);
        if (!OsMemory.TryMapAligned(total, OsMemory.PageSize, out void* p, out _)) return null;
        var h = (ulong*)p;
        h[0] = arena.Magic;
        h[1] = total;
        Interlocked.Increment(ref arena.Header->LargeCount);
        Interlocked.Add(ref arena.Header->LargeBytes, (long)total);
        return (byte*)p + HeaderSize;
    }

    /// <summary>
    /// Unmaps the large object at <paramref name="p"/> when its header says it belongs to
    /// <paramref name="arena"/>; false (nothing done) otherwise. Reads only the page that holds p.
    /// </summary>
    internal static bool TryFree(in LockFreeArena arena, void* p)
    {
        if (((nuint)p & (OsMemory.PageSize - 1)) != HeaderSize) return false;
        var h = (ulong*)((byte*)p - HeaderSize);
        nuint total = (nuint)Volatile.Read(ref h[1]);
        if (total == 0 || total % OsMemory.PageSize != 0) return false;
        // Claim the object: of two racing frees of the same pointer only one unmaps it.
        if (Interlocked.CompareExchange(ref h[0], 0, arena.Magic) != arena.Magic) return false;
        if (!OsMemory.TryUnmap(h, total, out _)) return false;
        Interlocked.Decrement(ref arena.Header->LargeCount);
        Interlocked.Add(ref arena.Header->LargeBytes, -(long)total);
        return true;
    }
}
