// ArenaHeader: the fixed-layout record at the start of a lock-free heap's mapping.
//
// The mapping of one heap is, in order:
//   [ArenaHeader, 512 B] [shard heads: ShardCount × 128 B] [page table: 1 B per arena page]
//   [padding to a page] [arena: HeapSize bytes, page aligned]
// All shared mutable state of the heap lives in this mapping, so the heap's operations never touch
// a managed object other than the LockFreeHeap that holds the pointers (which never changes after
// construction). Fields written by many threads sit on their own cache lines (64 B).
using System.Runtime.InteropServices;

namespace NativeHeap.LockFree;

[StructLayout(LayoutKind.Explicit, Size = Size)]
internal unsafe struct ArenaHeader
{
    /// <summary>Bytes reserved for the header (a multiple of 64).</summary>
    internal const int Size = 512;

    /// <summary>Bytes of one shard's row of heads: 13 tagged words padded to two cache lines.</summary>
    internal const int ShardBytes = 128;

    /// <summary>Marks a live header (and is mixed into large-object headers).</summary>
    [FieldOffset(0)] internal ulong Magic;

    /// <summary>Bytes of the whole mapping (header, heads, page table, arena).</summary>
    [FieldOffset(8)] internal nuint MappingSize;

    /// <summary>Offset of the arena from the mapping base (a multiple of the page size).</summary>
    [FieldOffset(16)] internal nuint ArenaStart;

    /// <summary>Bytes of the arena (the configured heap size, a multiple of the page size).</summary>
    [FieldOffset(24)] internal nuint ArenaSize;

    /// <summary>Number of shards (a power of two).</summary>
    [FieldOffset(32)] internal int ShardCount;

    /// <summary>
    /// Bump pointer: bytes of the arena carved so far (0..ArenaSize, a multiple of the page size).
    /// Only grows, by compare-and-swap; pages below it belong to some class forever or until split.
    /// </summary>
    [FieldOffset(64)] internal long Top;

    /// <summary>Non-zero once mmap is enabled for requests the arena cannot serve.</summary>
    [FieldOffset(128)] internal int MmapEnabled;

    /// <summary>Live mmap-served objects.</summary>
    [FieldOffset(136)] internal long LargeCount;

    /// <summary>Bytes mapped for live mmap-served objects (page-rounded, headers included).</summary>
    [FieldOffset(144)] internal long LargeBytes;

    /// <summary>Frees rejected because the pointer was recognisably not a live block of this heap.</summary>
    [FieldOffset(152)] internal long RejectedFrees;

    /// <summary>
    /// Per class, the blocks that exist (carved from the arena or made by splitting, minus blocks
    /// split into smaller ones). When quiescent: free blocks of class c + live blocks of class c == NetBlocks[c].
    /// </summary>
    [FieldOffset(192)] internal fixed long NetBlocks[LockFreeSizeClasses.Count];
}
