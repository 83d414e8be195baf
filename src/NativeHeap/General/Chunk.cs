// Chunk: the unit of memory an arena gets from its memory source, and the header of a huge block.
//
// Terms:
//  - chunk: a 4 MiB, 4 MiB-aligned region (one page-map granule) owned by one arena. Its first
//    HeaderPages pages hold this header: the fast-path byte table PageBin, the chunk's fields, and
//    one 64-byte PageDesc per page. Pages HeaderPages..1023 hold runs.
//  - run: consecutive pages that are one of: a free run (dirty, muzzy or clean), a slab (regions of
//    one small class), or a large block. The head page's PageDesc describes the run.
//  - huge block: a mapping of its own whose first page holds a Chunk header with no PageDescs
//    (Kind = Huge); the user's block starts at HugeOffset.
//  - retained huge extent: a freed huge mapping kept by its arena for reuse (HugeCache); its header
//    page stays resident and holds the list links, state and stamp; it has no page-map entries.
//  - PageBin[i]: for the page at index i of the granule, 1 + the thread-cache bin of the run there
//    when a free of a pointer on that page may go straight to the thread cache (slab pages and the
//    head page of cacheable large runs of automatic arenas); 0 sends the free to the slow path.
// Invariants (checked by HeapValidator):
//  - runs tile pages HeaderPages..1023 exactly; a free run's tail PageDesc points back to its head;
//  - two adjacent free runs never have the same state (they would have been coalesced);
//  - every page of a slab has Kind Slab/SlabInterior with Head = the slab's head page;
//  - PageBin is 0 on every page that is not part of a live slab or the head of a live large run.
using System.Runtime.CompilerServices;
using NativeHeap.Core;

namespace NativeHeap.General;

internal enum ChunkKind : byte
{
    Arena = 1,
    Huge = 2,
}

internal enum PageKind : byte
{
    Header = 0,       // metadata page, or a page inside a run that is not its head
    Free = 1,         // head or tail of a free run
    Slab = 2,         // head page of a slab
    SlabInterior = 3, // other pages of a slab
    Large = 4,        // head page of a live large block
    Busy = 5,         // head of a free run being purged (out of every set while the arena lock is dropped)
}

/// <summary>The three states a free run can be in (jemalloc's extent states).</summary>
internal enum RunState : byte
{
    Dirty = 0,   // freed recently, pages resident, contents stale
    Muzzy = 1,   // purged lazily (MADV_FREE): the OS may take the pages; contents undefined
    Clean = 2,   // purged (MADV_DONTNEED) or never touched: zero-filled, not resident
}

[StructLayout(LayoutKind.Explicit, Size = 64)]
internal unsafe struct PageDesc
{
    [FieldOffset(0)] public PageKind Kind;
    [FieldOffset(1)] public RunState State;      // free runs
    [FieldOffset(2)] public ushort Bin;          // size-class index of a slab or large block
    [FieldOffset(4)] public uint Pages;          // run length (head; and tail for free runs)
    [FieldOffset(8)] public uint Head;           // index of the run's head page (tails, slab pages)
    [FieldOffset(12)] public ushort NFree;       // slab: free regions (free list + never used)
    [FieldOffset(14)] public ushort Bump;        // slab: index of the first never-used region
    [FieldOffset(16)] public void* FreeList;     // slab: singly linked free regions
    [FieldOffset(16)] public PageDesc* AgeNext;  // free run (dirty/muzzy): decay FIFO, oldest first
    [FieldOffset(24)] public PageDesc* Next;     // slab: SlabHeap sibling; free run: size bucket
    [FieldOffset(32)] public PageDesc* Prev;
    [FieldOffset(40)] public long Stamp;         // free run: clock time (ms) it entered its state
    [FieldOffset(40)] public PageDesc* Child;    // slab: first child in the bin's SlabHeap
    [FieldOffset(48)] public ulong* Live;        // slab, checked mode: bitmap of allocated regions
    [FieldOffset(48)] public PageDesc* AgePrev;  // free run: decay FIFO
    [FieldOffset(56)] public Chunk* Chunk;       // the chunk this page belongs to

    /// <summary>Index of this descriptor's page within its chunk.</summary>
    public uint Index
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            fixed (PageDesc* self = &this) return (uint)(self - Chunk->Pages);
        }
    }

    /// <summary>Address of the first byte of this descriptor's page.</summary>
    public byte* Address
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (byte*)Chunk + ((nuint)Index << Os.OsMemory.LgPageSize);
    }
}

[StructLayout(LayoutKind.Explicit)]
internal unsafe struct Chunk
{
    internal const int PagesPerChunk = 1024;
    internal const nuint Size = PageMap.GranuleSize;
    internal const int DescOffset = 4096;
    internal const int HeaderPages = (DescOffset + PagesPerChunk * 64) / Os.OsMemory.PageSize; // 17
    internal const uint UsablePages = PagesPerChunk - HeaderPages;

    [FieldOffset(0)] public fixed byte PageBin[PagesPerChunk];
    [FieldOffset(1024)] public Arena* Arena;
    [FieldOffset(1032)] public ChunkKind Kind;
    [FieldOffset(1033)] public byte Quarantined;   // checked mode: freed by an arena reset
    [FieldOffset(1036)] public int SourceId;       // memory source that provided the mapping
    [FieldOffset(1040)] public nuint MapSize;      // bytes of the mapping (chunk: Size)
    [FieldOffset(1048)] public nuint HugeUsable;   // huge: usable size of the block
    [FieldOffset(1056)] public nuint HugeOffset;   // huge: offset of the block from the header
    [FieldOffset(1064)] public Chunk* Next;        // arena's chunk list / huge list
    [FieldOffset(1072)] public Chunk* Prev;
    [FieldOffset(1080)] public uint FreePages;     // pages in free runs (any state)
    [FieldOffset(1084)] public uint CleanPages;    // pages in clean free runs
    [FieldOffset(1088)] public byte HugeZeroed;    // pooled chunk (SparePool): all usable pages clean
    [FieldOffset(1089)] public RunState CacheState; // retained huge extent (HugeCache): state of its pages after the header
    [FieldOffset(1096)] public long PoolStamp;     // pooled chunk / retained huge extent: when it entered the pool or its state (ms)

    /// <summary>The page descriptors (arena chunks only).</summary>
    public PageDesc* Pages
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (PageDesc*)((byte*)Unsafe.AsPointer(ref this) + DescOffset);
    }

    /// <summary>The user block of a huge chunk.</summary>
    public byte* HugeBlock => (byte*)Unsafe.AsPointer(ref this) + HugeOffset;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static uint PageIndexOf(void* p) => (uint)(((nuint)p >> Os.OsMemory.LgPageSize) & (PagesPerChunk - 1));
}
