// LockFreeSizeClasses: the size classes of the lock-free heap.
//
// Terms: a *granule* is 16 bytes, the unit of every offset the heap stores. A *class* c (0..12)
// serves blocks of exactly 16 << c bytes: 16, 32, 64, ... 64 KiB. A *page* is the 4 KiB OS page;
// classes below PageClass (4 KiB) are carved several to a page, classes from PageClass up take one
// or more whole pages. Every block is aligned to min(its size, 4 KiB) inside the arena, which is
// what lets Free recognise a pointer from the page table alone (no header before the block).
using System.Numerics;
using System.Runtime.CompilerServices;

namespace NativeHeap.LockFree;

internal static class LockFreeSizeClasses
{
    /// <summary>Number of classes: 16 B (class 0) up to 64 KiB (class 12).</summary>
    internal const int Count = 13;

    /// <summary>log2 of the smallest block (16 B), also the granule size.</summary>
    internal const int LgMin = 4;

    /// <summary>Granule in bytes: offsets are stored in these units.</summary>
    internal const int Granule = 1 << LgMin;

    /// <summary>The class whose block is exactly one page (4 KiB).</summary>
    internal const int PageClass = 12 - LgMin;

    /// <summary>The largest class (64 KiB).</summary>
    internal const int MaxClass = Count - 1;

    /// <summary>Bytes of the largest block.</summary>
    internal const int MaxBlockSize = Granule << MaxClass;

    /// <summary>Block size of class <paramref name="c"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static nuint SizeOf(int c) => (nuint)Granule << c;

    /// <summary>
    /// The smallest class whose block holds <paramref name="size"/> bytes; the caller guarantees
    /// size ≤ 64 KiB. Sizes 0..16 map to class 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int ClassOf(nuint size)
    {
        // For 1 ≤ size, (size - 1) | 15 has its top bit at ceil(log2(size)) - 1, or at bit 3 when
        // size ≤ 16. Size 0 would wrap to all ones, so it is counted as 1 first.
        nuint s = size == 0 ? 1 : size;
        return BitOperations.Log2((s - 1) | (Granule - 1)) + 1 - LgMin;
    }
}
