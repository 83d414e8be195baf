// LockFreeHeapStats: what LockFreeHeap.Validate saw when it walked a quiescent heap.
namespace NativeHeap.LockFree;

/// <summary>Statistics of a <see cref="LockFreeHeap"/>, taken by <see cref="LockFreeHeap.Validate"/>.</summary>
public sealed class LockFreeHeapStats
{
    internal LockFreeHeapStats(nuint heapSize, long unitsInUse, long arenaUnitsInUse, int chunks, int shardCount,
        long[] freeBlocks, long[] blocks, long[] cachedBlocks, int threadCaches, long largeObjects, long largeBytes, long rejectedFrees)
    {
        CachedBlocks = cachedBlocks;
        ThreadCaches = threadCaches;
        HeapSize = heapSize;
        UnitsInUse = unitsInUse;
        ArenaUnitsInUse = arenaUnitsInUse;
        Chunks = chunks;
        ShardCount = shardCount;
        FreeBlocks = freeBlocks;
        Blocks = blocks;
        LargeObjects = largeObjects;
        LargeBytes = largeBytes;
        RejectedFrees = rejectedFrees;
    }

    /// <summary>Bytes of the arena.</summary>
    public nuint HeapSize { get; }

    /// <summary>Bytes of one unit (a superblock; runs are 1, 2 or 4 units).</summary>
    public static int UnitSize => LockFreeLayout.UnitSize;

    /// <summary>Units taken from the pool (arena and chunks): superblocks and runs.</summary>
    public long UnitsInUse { get; }

    /// <summary>Units of the arena taken from the pool.</summary>
    public long ArenaUnitsInUse { get; }

    /// <summary>Mapped 2 MiB chunks of superblocks (after EnableMmap).</summary>
    public int Chunks { get; }

    /// <summary>Number of per-processor rows of active superblocks.</summary>
    public int ShardCount { get; }

    /// <summary>Per size class, free blocks in superblocks of that class (runs have none), not counting <see cref="CachedBlocks"/>.</summary>
    public IReadOnlyList<long> FreeBlocks { get; }

    /// <summary>
    /// Per size class, free blocks held in threads' caches (live threads' and exited threads' not yet
    /// reclaimed): free for the thread that holds them, allocated as far as the superblocks know.
    /// </summary>
    public IReadOnlyList<long> CachedBlocks { get; }

    /// <summary>Thread caches holding at least one block.</summary>
    public int ThreadCaches { get; }

    /// <summary>Per size class, blocks that exist (free + allocated): the capacity of its superblocks, or its live runs.</summary>
    public IReadOnlyList<long> Blocks { get; }

    /// <summary>Per size class, blocks allocated by the program (Blocks − FreeBlocks − CachedBlocks).</summary>
    public long LiveBlocks(int sizeClass) => Blocks[sizeClass] - FreeBlocks[sizeClass] - CachedBlocks[sizeClass];

    /// <summary>Live objects served by a mapping of their own.</summary>
    public long LargeObjects { get; }

    /// <summary>Bytes mapped for those objects.</summary>
    public long LargeBytes { get; }

    /// <summary>Frees rejected because the pointer was recognisably not a live block of the heap.</summary>
    public long RejectedFrees { get; }
}
