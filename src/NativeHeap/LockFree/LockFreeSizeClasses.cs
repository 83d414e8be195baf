// LockFreeSizeClasses: the size classes of the lock-free heap.
//
// A class c (0..12) serves blocks of exactly 16 << c bytes: 16, 32, 64, ... 64 KiB. Classes 0..9
// (16 B .. 8 KiB) are cut from 16 KiB superblocks (Michael's algorithm, LockFreeCore); classes 10..12
// (16, 32, 64 KiB) are runs of 1, 2 or 4 units with one object each. Every block is aligned to
// min(its size, 16 KiB) relative to its zone, which is at least 16 KiB aligned.
using System.Numerics;
using System.Runtime.CompilerServices;

namespace NativeHeap.LockFree;

internal static class LockFreeSizeClasses
{
    /// <summary>Number of classes: 16 B (class 0) up to 64 KiB (class 12).</summary>
    internal const int Count = 13;

    /// <summary>log2 of the smallest block (16 B).</summary>
    internal const int LgMin = 4;

    /// <summary>Granule in bytes.</summary>
    internal const int Granule = 1 << LgMin;

    /// <summary>The largest class (64 KiB).</summary>
    internal const int MaxClass = Count - 1;

    /// <summary>Bytes of the largest block.</summary>
    internal const int MaxBlockSize = Granule << MaxClass;

    /// <summary>The largest request served by a superblock class (8 KiB).</summary>
    internal const int MaxSuperblockSize = Granule << (LockFreeLayout.SuperblockClassCount - 1);

    /// <summary>Block size of class <paramref name="c"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static nuint SizeOf(int c) => (nuint)Granule << c;

    /// <summary>Units of a run of class <paramref name="c"/> (10..12): 1, 2 or 4.</summary>
    internal static uint RunUnits(int c) => 1u << (c - LockFreeLayout.SuperblockClassCount);

    /// <summary>
    /// The smallest class whose block holds <paramref name="size"/> bytes; the caller guarantees
    /// size ≤ 64 KiB. Sizes 0..16 map to class 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int ClassOf(nuint size)
    {
        nuint s = size == 0 ? 1 : size;
        return BitOperations.Log2((s - 1) | (Granule - 1)) + 1 - LgMin;
    }
}
