// SizeClasses: jemalloc 5.x's size classes on x86-64 (LG_QUANTUM 4, 4 KiB pages, four classes per
// doubling), so that nallocx(n) here equals libjemalloc.so.2's nallocx(n, 0).
//
// Terms:
//  - class index i: 0 is the tiny class 8; 1..8 are 16..128 spaced by the quantum (16); from 9 on,
//    each doubling [2^lg, 2^(lg+1)] holds four classes 2^lg + k * 2^(lg-2), k = 1..4.
//  - small classes (index < NBins = 36, sizes up to 14 KiB) live in slabs; large classes (16 KiB and
//    up) are page runs or, above LargeMax, huge mappings. Every class above 4 KiB is a page multiple.
//  - usable size ("usize"): the class size a request gets; RoundUp(n) is nallocx(n, 0).
// Invariants: IndexToSize(SizeToIndex(n)) >= n; sizes are strictly increasing with the index; the
// largest class is 7 * 2^60 (jemalloc's SC_LARGE_MAXCLASS) and larger requests fail (RoundUp = 0).
using System.Numerics;
using System.Runtime.CompilerServices;
using NativeHeap.Os;

namespace NativeHeap.Core;

internal static unsafe class SizeClasses
{
    internal const int LgQuantum = 4;
    internal const int Quantum = 1 << LgQuantum;
    internal const int TinySize = 8;
    internal const int NBins = 36;                  // small classes: 8 .. 14336
    internal const nuint SmallMax = 14336;
    internal const nuint LargeMin = 16384;
    internal const int FirstLargeIndex = NBins;     // index of 16 KiB
    internal const int NClasses = 232;              // 8 .. 7 * 2^60
    internal const ulong MaxSize = 7UL << 60;       // largest class
    internal const int LookupMax = 32768;           // sizes served by the lookup table
    internal const int PageSize = OsMemory.PageSize;

    /// <summary>(size + 7) >> 3 → class index, for size ≤ LookupMax. Native memory, never freed.</summary>
    internal static readonly byte* s_lookup = BuildLookup();

    /// <summary>class index → class size.</summary>
    internal static readonly nuint* s_sizes = BuildSizes();

    /// <summary>Slab geometry per small class: pages per slab and regions per slab.</summary>
    internal static readonly ushort* s_slabPages = BuildSlabPages();
    internal static readonly ushort* s_slabRegs = BuildSlabRegs();

    /// <summary>Class index for a size of at least 1 (computed; see the lookup table for small sizes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int ComputeIndex(nuint size)
    {
        Debug.Assert(size >= 1 && (ulong)size <= MaxSize);
        if (size <= TinySize) return 0;
        if (size <= 128) return (int)((size + Quantum - 1) >> LgQuantum);
        int lg = 63 - BitOperations.LeadingZeroCount((ulong)(size - 1));   // 2^lg < size <= 2^(lg+1)
        return 9 + (lg - 7) * 4 + (int)(((size - 1) >> (lg - 2)) & 3);
    }

    /// <summary>Class size for a class index.</summary>
    internal static nuint ComputeSize(int index)
    {
        if (index == 0) return TinySize;
        if (index <= 8) return (nuint)(index * Quantum);
        int g = (index - 9) >> 2, w = (index - 9) & 3, lg = g + 7;
        return ((nuint)1 << lg) + (nuint)(w + 1) * ((nuint)1 << (lg - 2));
    }

    /// <summary>Class index of a size (1..MaxSize). Sizes of 0 count as 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int SizeToIndex(nuint size)
        => size <= LookupMax ? s_lookup[(size + 7) >> 3] : ComputeIndex(size);

    /// <summary>The usable size a request of <paramref name="size"/> gets (nallocx(size, 0)); 0 when too large.</summary>
    internal static nuint RoundUp(nuint size)
    {
        if (size <= LookupMax) return s_sizes[s_lookup[(size + 7) >> 3]];
        if ((ulong)size > MaxSize) return 0;
        return s_sizes[ComputeIndex(size)];
    }

    /// <summary>
    /// The usable size for a request with an alignment (jemalloc's sz_sa2u): a small class that is a
    /// multiple of the alignment when one exists below 16 KiB, otherwise a large class (whose runs are
    /// placed at the alignment). Returns 0 when the request cannot be satisfied.
    /// </summary>
    internal static nuint RoundUpAligned(nuint size, nuint alignment)
    {
        Debug.Assert(BitOperations.IsPow2(alignment));
        if (size == 0) size = 1;
        if ((ulong)size > MaxSize) return 0;
        if (size <= SmallMax && alignment <= (nuint)PageSize)
        {
            nuint usize = RoundUp((size + alignment - 1) & ~(alignment - 1));
            if (usize < LargeMin) return usize;
        }
        if ((ulong)alignment > MaxSize) return 0;
        nuint u;
        if (size <= LargeMin) u = LargeMin;
        else
        {
            u = RoundUp(size);
            if (u == 0) return 0;
        }
        // The run needs room to place the block at the alignment.
        nuint padded = u + ((alignment + (nuint)PageSize - 1) & ~(nuint)(PageSize - 1)) - (nuint)PageSize;
        return padded < u ? 0 : u;
    }

    private static byte* BuildLookup()
    {
        int n = (LookupMax >> 3) + 1;
        byte* t = (byte*)StaticMemory.Alloc((nuint)n);
        for (int i = 0; i < n; i++)
        {
            nuint size = (nuint)Math.Max(1, i << 3);
            t[i] = (byte)ComputeIndex(size);
        }
        return t;
    }

    private static nuint* BuildSizes()
    {
        nuint* t = (nuint*)StaticMemory.Alloc((nuint)(NClasses * sizeof(nuint)));
        for (int i = 0; i < NClasses; i++) t[i] = ComputeSize(i);
        return t;
    }

    // Slab size for each small class, by jemalloc's rule: the fewest pages that the class divides
    // exactly (no waste), so arenas.bin.<i>.slab_size matches jemalloc's and small slabs drain and
    // return to the arena easily.
    private static ushort* BuildSlabPages()
    {
        ushort* t = (ushort*)StaticMemory.Alloc(NBins * sizeof(ushort));
        for (int i = 0; i < NBins; i++)
        {
            nuint size = ComputeSize(i);
            int p = 1;
            while ((nuint)(p * PageSize) % size != 0) p++;
            t[i] = (ushort)p;
        }
        return t;
    }

    private static ushort* BuildSlabRegs()
    {
        ushort* t = (ushort*)StaticMemory.Alloc(NBins * sizeof(ushort));
        for (int i = 0; i < NBins; i++)
            t[i] = (ushort)((nuint)(s_slabPages[i] * PageSize) / ComputeSize(i));
        return t;
    }
}
