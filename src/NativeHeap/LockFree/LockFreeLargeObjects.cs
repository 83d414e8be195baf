// LockFreeLargeObjects: requests above LockFreeHeap.MaxSmallSize (and small ones when even the mapped
// chunks are used up), served by one mmap each once mmap is enabled, as AO_malloc does.
//
// Layout of a large object: [16-byte header: magic of the owning heap, mapping size][user bytes], the
// mapping page aligned, so a large object's address is always 16 bytes past a page boundary. Free
// recognises one by that position and the magic, which also tells heaps apart (it mixes in the owning
// heap's header address). The C path (native/nh_ao_malloc.c) writes and reads the same header.
using NativeHeap.Os;

namespace NativeHeap.LockFree;

internal static unsafe class LockFreeLargeObjects
{
    /// <summary>Bytes before the user pointer.</summary>
    internal const int HeaderSize = 16;

    /// <summary>The magic that marks <paramref name="h"/>'s large objects.</summary>
    internal static ulong MagicOf(HeapHeader* h) => LockFreeLayout.Magic ^ (ulong)h;

    /// <summary>Maps an object of <paramref name="size"/> bytes for heap <paramref name="h"/>; null on failure.</summary>
    internal static void* TryAllocate(HeapHeader* h, nuint size)
    {
        nuint total = size + HeaderSize + OsMemory.PageSize - 1;
        if (total < size) return null; // overflow
        total &= ~(nuint)(OsMemory.PageSize - 1);
        if (!OsMemory.TryMapAligned(total, OsMemory.PageSize, out void* p, out _)) return null;
        var w = (ulong*)p;
        w[0] = MagicOf(h);
        w[1] = total;
        Interlocked.Increment(ref h->LargeCount);
        Interlocked.Add(ref h->LargeBytes, (long)total);
        return (byte*)p + HeaderSize;
    }

    /// <summary>
    /// Unmaps the large object at <paramref name="p"/> when its header says it belongs to heap
    /// <paramref name="h"/>; false (nothing done) otherwise. Reads only the page that holds p.
    /// </summary>
    internal static bool TryFree(HeapHeader* h, void* p)
    {
        if (((nuint)p & (OsMemory.PageSize - 1)) != HeaderSize) return false;
        var w = (ulong*)((byte*)p - HeaderSize);
        nuint total = (nuint)Volatile.Read(ref w[1]);
        if (total == 0 || total % OsMemory.PageSize != 0) return false;
        ulong magic = MagicOf(h);
        // Claim the object: of two racing frees of the same pointer only one unmaps it.
        if (Interlocked.CompareExchange(ref w[0], 0, magic) != magic) return false;
        if (!OsMemory.TryUnmap(w, total, out _)) return false;
        Interlocked.Decrement(ref h->LargeCount);
        Interlocked.Add(ref h->LargeBytes, -(long)total);
        return true;
    }
}
