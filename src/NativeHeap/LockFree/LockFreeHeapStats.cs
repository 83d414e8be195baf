// LockFreeHeapStats: what LockFreeHeap.Validate saw when it walked a quiescent heap.
namespace NativeHeap.LockFree;

/// <summary>Statistics of a <see cref="LockFreeHeap"/>, taken by <see cref="LockFreeHeap.Validate"/>.</summary>
public sealed class LockFreeHeapStats
{
    internal LockFreeHeapStats(nuint heapSize, nuint carvedBytes, int shardCount, long[] freeBlocks, long[] netBlocks,
        long largeObjects, long largeBytes, long rejectedFrees)
    {
        HeapSize = heapSize;
        CarvedBytes = carvedBytes;
        ShardCount = shardCount;
        FreeBlocks = freeBlocks;
        Blocks = netBlocks;
        LargeObjects = largeObjects;
        LargeBytes = largeBytes;
        RejectedFrees = rejectedFrees;
    }

    /// <summary>Bytes of the arena.</summary>
    public nuint HeapSize { get; }

    /// <summary>Bytes of the arena cut into blocks so far (the rest has never been used).</summary>
    public nuint CarvedBytes { get; }

    /// <summary>Number of replicated free-list heads.</summary>
    public int ShardCount { get; }

    /// <summary>Per size class, blocks on the free lists.</summary>
    public IReadOnlyList<long> FreeBlocks { get; }

    /// <summary>Per size class, blocks that exist (free + allocated).</summary>
    public IReadOnlyList<long> Blocks { get; }

    /// <summary>Per size class, blocks allocated (Blocks − FreeBlocks).</summary>
    public long LiveBlocks(int sizeClass) => Blocks[sizeClass] - FreeBlocks[sizeClass];

    /// <summary>Live objects served by mmap.</summary>
    public long LargeObjects { get; }

    /// <summary>Bytes mapped for live mmap-served objects.</summary>
    public long LargeBytes { get; }

    /// <summary>Frees rejected because the pointer was recognisably not a live block of the heap.</summary>
    public long RejectedFrees { get; }

    /// <summary>Bytes of the arena on the free lists.</summary>
    public nuint FreeBytes
    {
        get
        {
            nuint sum = 0;
            for (int c = 0; c < FreeBlocks.Count; c++) sum += (nuint)FreeBlocks[c] * LockFreeHeap.SizeClassBlockSize(c);
            return sum;
        }
    }
}
