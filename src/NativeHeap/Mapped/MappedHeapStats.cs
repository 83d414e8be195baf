// MappedHeapStats: a snapshot of a mapped heap from a walk of its blocks.
namespace NativeHeap.Mapped;

/// <summary>Sizes and counts of a mapped heap, taken by walking its blocks.</summary>
public readonly record struct MappedHeapStats
{
    /// <summary>The file's size in bytes (the region's size for an anonymous heap).</summary>
    public long FileSize { get; init; }
    /// <summary>The region in use: header plus all blocks, in bytes.</summary>
    public long RegionSize { get; init; }
    /// <summary>The most the region may grow to, in bytes.</summary>
    public long MaxSize { get; init; }
    /// <summary>Bytes in allocated blocks (headers included).</summary>
    public long UsedBytes { get; init; }
    /// <summary>Bytes in free blocks.</summary>
    public long FreeBytes { get; init; }
    /// <summary>Number of allocated blocks.</summary>
    public long AllocatedBlocks { get; init; }
    /// <summary>Number of free blocks.</summary>
    public long FreeBlocks { get; init; }
    /// <summary>The largest free block in bytes.</summary>
    public long LargestFree { get; init; }
    /// <summary>1 - largest free / all free: 0 when free space is one block, near 1 when it is scattered.</summary>
    public double Fragmentation { get; init; }
    /// <summary>Numbered keys that are set.</summary>
    public int KeysSet { get; init; }
    /// <summary>Named roots that are set.</summary>
    public int NamedRoots { get; init; }
    /// <summary>True when the file was closed cleanly before this open (false means a crash was recovered, or, read-only, needs recovery).</summary>
    public bool WasClean { get; init; }
    /// <summary>How many opens found an unclean shutdown over the file's life.</summary>
    public long UncleanOpens { get; init; }
    /// <summary>The base address recorded in the file.</summary>
    public nint RecordedBase { get; init; }
}
