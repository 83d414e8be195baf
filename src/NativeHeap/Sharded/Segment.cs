// Segment: the unit of memory core v2 takes from the OS (docs/core-v2.md).
//
// Terms:
//  - segment: 4 MiB, 4 MiB-aligned (one PageMap granule), registered in the PageMap with itself as
//    owner, so the owner of a block is p & ~(4 MiB - 1). One page kind per segment: Small (64 pages of
//    64 KiB), Medium (8 of 512 KiB), Large (1 page of 4 MiB). Page 0 starts after the 20 KiB header.
//  - huge segment: one block above 512 KiB in a mapping of its own (header 4 KiB, then the block);
//    every granule it covers maps to it in the PageMap.
//  - header layout: bytes 0..1023 stay zero and 1024 (the current core's Chunk.PageBin and
//    Chunk.Arena) stays null, so the current core routes a v2 pointer to its slow path and rejects it;
//    1032 holds Tag (3) and 1034 PageShift (padding in a Chunk, so zero there): the free path reads
//    both with one 4-byte load (TagWord); 1036 the memory-source id (Chunk.SourceId's offset); our
//    other fields from 1088;
//    the Page descriptors from 2048 (256 bytes each); page 0's blocks from 20 KiB.
// Invariants: PageMap.Lookup(seg) == seg for every granule of a live segment; UsedPages is the
// number of its pages not in the pool (changed only under SegmentPool's lock).
using System.Runtime.CompilerServices;
using NativeHeap.Core;

namespace NativeHeap.Sharded;

internal enum SegmentKind : byte
{
    Small = 0,
    Medium = 1,
    Large = 2,
    Huge = 3,
}

[StructLayout(LayoutKind.Explicit, Size = PagesOffset)]
internal unsafe struct Segment
{
    internal const nuint Size = PageMap.GranuleSize;            // 4 MiB
    internal const nuint Mask = Size - 1;
    internal const int PagesOffset = 2048;
    internal const int HeaderSize = 20 * 1024;                   // page 0's blocks start here (2 KiB + 64 x 256 B, rounded up)
    internal const int HugeHeaderSize = 4096;
    internal const byte V2Tag = 3;                               // at Chunk.Kind's offset

    // Number of page kinds that come from shared segments (Small, Medium, Large).
    internal const int PagedKinds = 3;

    [FieldOffset(1024)] public void* CompatArena;                 // always null (Chunk.Arena)
    [FieldOffset(1032)] public byte Tag;                          // V2Tag (Chunk.Kind)
    [FieldOffset(1034)] public byte PageShift;                    // log2 of the page size (16, 19, 22); in Chunk's padding
    [FieldOffset(1036)] public int SourceId;                      // Chunk.SourceId; 0 = the OS
    [FieldOffset(1092)] public int PageCount;                     // 64, 8, 1 (huge: 1)
    [FieldOffset(1096)] public int UsedPages;                     // pages not in the pool (pool lock)
    [FieldOffset(1100)] public SegmentKind Kind;
    [FieldOffset(1104)] public nuint MapSize;                     // bytes mapped (Size, or a huge mapping)
    [FieldOffset(1112)] public nuint HugeUsable;                  // huge: the block's usable size
    [FieldOffset(1120)] public Segment* Next;                     // SegmentPool's list of live segments
    [FieldOffset(1128)] public Segment* Prev;

    /// <summary>The page descriptors.</summary>
    internal Page* Pages
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (Page*)((byte*)Unsafe.AsPointer(ref this) + PagesOffset);
    }

    internal const int TagOffset = 1032;

    /// <summary>Tag | PageShift &lt;&lt; 16, read with one load (a current-core Chunk has 1 or 2 in the low byte and 0 in the shift byte).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static uint TagWord(Segment* seg) => *(uint*)((byte*)seg + TagOffset);

    /// <summary>The descriptor of the page holding <paramref name="p"/> (p inside this segment).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Page* PageOf(Segment* seg, void* p)
        => (Page*)((byte*)seg + PagesOffset + ((((nuint)p - (nuint)seg) >> seg->PageShift) << Page.LgSize));

    /// <summary>PageOf with the shift taken from a TagWord already loaded.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Page* PageOf(Segment* seg, void* p, uint tagWord)
        => (Page*)((byte*)seg + PagesOffset + ((((nuint)p - (nuint)seg) >> (int)(tagWord >> 16)) << Page.LgSize));

    /// <summary>The segment holding a page descriptor (descriptors live in their segment's header).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Segment* Of(Page* page) => (Segment*)((nuint)page & ~Mask);

    /// <summary>log2 of the page size of a kind.</summary>
    internal static int PageShiftOf(SegmentKind kind) => kind switch
    {
        SegmentKind.Small => 16,
        SegmentKind.Medium => 19,
        _ => 22,
    };
}
