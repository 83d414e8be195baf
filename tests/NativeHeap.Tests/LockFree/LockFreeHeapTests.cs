// Single-threaded contract tests of the lock-free heap: sizes and alignment, the 64 KiB limit and
// mmap, exhaustion and reuse across classes, bad-pointer detection, the default instance and the
// AO_malloc facade, Validate (including that it catches corruption), and no managed allocation.
using NativeHeap.LockFree;

namespace NativeHeap.Tests.LockFree;

public sealed unsafe class LockFreeHeapTests
{
    [Fact]
    public void EveryClassIsAlignedDistinctAndHoldsItsSize()
    {
        using var heap = new LockFreeHeap();
        var blocks = new List<(nint P, nuint Size)>();
        for (nuint size = 0; size <= LockFreeHeap.MaxSmallSize; size = size < 64 ? size + 1 : size * 5 / 4)
        {
            byte* p = (byte*)heap.Allocate(size);
            Assert.True(p != null, $"size {size}");
            Assert.Equal(0, (long)p & 15);
            Assert.True(heap.ArenaContains(p));
            int c = LockFreeHeap.SizeClassOf(size);
            Assert.True(LockFreeHeap.SizeClassBlockSize(c) >= Math.Max(size, 1));
            Assert.True(c == 0 || LockFreeHeap.SizeClassBlockSize(c - 1) < size, $"size {size} is not in the smallest class");
            new Span<byte>(p, (int)size).Fill((byte)size);
            blocks.Add(((nint)p, size));
        }
        // No two blocks overlap, and every block kept its contents.
        var sorted = blocks.OrderBy(b => b.P).ToArray();
        for (int i = 1; i < sorted.Length; i++)
        {
            Assert.True(sorted[i - 1].P + (nint)Math.Max(sorted[i - 1].Size, 1) <= sorted[i].P);
        }
        foreach ((nint p, nuint size) in blocks)
        {
            Assert.True(new Span<byte>((void*)p, (int)size).IndexOfAnyExcept((byte)size) < 0);
            Assert.True(heap.TryFree((void*)p));
        }
        LockFreeHeapStats stats = heap.Validate();
        for (int c = 0; c < LockFreeHeap.SizeClassCount; c++) Assert.Equal(0, stats.LiveBlocks(c));
    }

    [Fact]
    public void LargeRequestsFailUntilMmapIsEnabled()
    {
        using var heap = new LockFreeHeap();
        Assert.True(heap.Allocate(LockFreeHeap.MaxSmallSize) != null);
        Assert.True(heap.Allocate(LockFreeHeap.MaxSmallSize + 1) == null);
        Assert.True(heap.Allocate(1 << 20) == null);
        Assert.False(heap.IsMmapEnabled);

        heap.EnableMmap();
        Assert.True(heap.IsMmapEnabled);
        byte* big = (byte*)heap.Allocate(3 << 20);
        Assert.True(big != null);
        Assert.False(heap.ArenaContains(big));
        Assert.Equal(0, (long)big & 15);
        new Span<byte>(big, 3 << 20).Fill(0xA5);
        Assert.Equal(1, heap.Validate().LargeObjects);
        Assert.True(heap.TryFree(big));
        LockFreeHeapStats stats = heap.Validate();
        Assert.Equal(0, stats.LargeObjects);
        Assert.Equal(0, stats.LargeBytes);
    }

    [Fact]
    public void ExhaustedArenaReturnsNullThenChunksOnceEnabled()
    {
        using var heap = new LockFreeHeap(LockFreeHeap.MinHeapSize, shards: 1);
        var live = new List<nint>();
        while (true)
        {
            void* p = heap.Allocate(1000);
            if (p == null) break;
            live.Add((nint)p);
        }
        Assert.Equal(64, live.Count); // four 16 KiB superblocks of 1 KiB blocks
        Assert.True(heap.Allocate(16) == null);
        heap.EnableMmap();
        void* overflow = heap.Allocate(16);
        Assert.True(overflow != null);
        Assert.False(heap.ArenaContains(overflow));
        LockFreeHeapStats stats = heap.Validate();
        Assert.Equal(1, stats.Chunks);                 // from a mapped chunk of superblocks,
        Assert.Equal(0, stats.LargeObjects);           // not a mapping of its own
        Assert.True(heap.TryFree(overflow));
        foreach (nint p in live) heap.Free((void*)p);
        heap.Validate();
    }

    [Fact]
    public void FreedSuperblocksServeEveryClass()
    {
        // A 64 KiB arena filled with 16-byte blocks; once they are freed it must serve a 64 KiB request,
        // then (freed again) four 16 KiB ones, then 16-byte blocks again: empty superblocks go back to the pool.
        using var heap = new LockFreeHeap(LockFreeHeap.MinHeapSize, shards: 2);
        var small = new List<nint>();
        for (void* p; (p = heap.Allocate(16)) != null;) small.Add((nint)p);
        Assert.Equal(4 * 1024, small.Count);
        Assert.True(heap.Allocate(LockFreeHeap.MaxSmallSize) == null);
        foreach (nint p in small) heap.Free((void*)p);

        void* big = heap.Allocate(LockFreeHeap.MaxSmallSize);
        Assert.True(big != null);
        Assert.True(heap.Allocate(16) == null);
        heap.Free(big);
        var quarter = new nint[4];
        for (int i = 0; i < 4; i++) Assert.True((quarter[i] = (nint)heap.Allocate(16 << 10)) != 0);
        foreach (nint p in quarter) heap.Free((void*)p);
        for (int i = 0; i < 4 * 1024; i++) Assert.True(heap.Allocate(16) != null, $"16-byte block {i}");
        LockFreeHeapStats stats = heap.Validate();
        Assert.Equal(4 * 1024, stats.LiveBlocks(0));
        Assert.Equal(4, stats.ArenaUnitsInUse);
    }

    [Fact]
    public void BadFreesAreRejectedAndCounted()
    {
        using var heap = new LockFreeHeap(LockFreeHeap.DefaultHeapSize, shards: 1);
        using var other = new LockFreeHeap(LockFreeHeap.DefaultHeapSize, shards: 1);
        heap.EnableMmap();
        other.EnableMmap();
        byte* a = (byte*)heap.Allocate(100);
        byte* page = (byte*)heap.Allocate(8192);
        Assert.False(heap.TryFree(a + 16));                 // interior of a 128-byte block
        Assert.False(heap.TryFree(page + 4096));            // inside an 8 KiB block
        Assert.False(heap.TryFree(a + (1 << 20)));          // a unit never taken from the pool
        Assert.True(heap.TryFree(null));
        Assert.True(heap.TryFree(a));
        Assert.False(heap.TryFree(a));                      // immediate double free
        byte* foreignLarge = (byte*)other.Allocate(100_000);
        Assert.False(heap.TryFree(foreignLarge));           // another heap's large object
        long onStack = 0;
        Assert.False(heap.TryFree(&onStack));               // not from any heap
        Assert.True(other.TryFree(foreignLarge));
        Assert.True(heap.TryFree(page));
        LockFreeHeapStats stats = heap.Validate();
        Assert.Equal(6, stats.RejectedFrees);
        for (int c = 0; c < LockFreeHeap.SizeClassCount; c++) Assert.Equal(0, stats.LiveBlocks(c));
    }

    [Fact]
    public void ValidateDetectsACorruptedFreeList()
    {
        using var heap = new LockFreeHeap(LockFreeHeap.MinHeapSize, shards: 1);
        void* a = heap.Allocate(32);
        void* b = heap.Allocate(32);
        void* keep = heap.Allocate(32); // keeps the superblock from becoming empty
        heap.Free(a);
        heap.Free(b);
        heap.Validate();
        Assert.True(heap.TryFree(a)); // a non-immediate double free is not detected at the call...
        var e = Assert.Throws<InvalidOperationException>(() => heap.Validate()); // ...but Validate finds it
        Assert.Contains("twice", e.Message);
    }

    [Fact]
    public void ArgumentsAreChecked()
    {
        Assert.False(LockFreeHeap.TryCreate(4096, 0, out LockFreeHeap? h, out var error));
        Assert.Null(h);
        Assert.Equal("EINVAL", error.Name);
        Assert.False(LockFreeHeap.TryCreate(LockFreeHeap.DefaultHeapSize + 1, 0, out _, out _));
        Assert.False(LockFreeHeap.TryCreate(LockFreeHeap.DefaultHeapSize + 4096, 0, out _, out _)); // not a multiple of 16 KiB
        Assert.False(LockFreeHeap.TryCreate(LockFreeHeap.DefaultHeapSize, 3, out _, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LockFreeHeap(100));
        Assert.True(LockFreeHeap.TryCreate(LockFreeHeap.MinHeapSize, 4, out h, out _));
        Assert.Equal(4, h!.ShardCount);
        Assert.Equal((nuint)LockFreeHeap.MinHeapSize, h.HeapSize);
        h.Dispose();
        Assert.Equal(-1, LockFreeHeap.SizeClassOf(LockFreeHeap.MaxSmallSize + 1));
        Assert.Equal(0, LockFreeHeap.SizeClassOf(0));
        Assert.Equal(LockFreeHeap.SizeClassCount - 1, LockFreeHeap.SizeClassOf(LockFreeHeap.MaxSmallSize));
    }

    [Fact]
    public void InstancesAreIndependent()
    {
        using var one = new LockFreeHeap(LockFreeHeap.MinHeapSize, shards: 1);
        using var two = new LockFreeHeap(LockFreeHeap.MinHeapSize, shards: 1);
        void* p = one.Allocate(64);
        Assert.False(two.TryFree(p));
        Assert.False(two.ArenaContains(p));
        Assert.Equal(1, one.Validate().LiveBlocks(2));
        Assert.Equal(0, two.Validate().UnitsInUse);
        one.Free(p);
    }

    [Fact]
    public void DefaultInstanceAndAoMallocFacade()
    {
        Assert.True(LockFreeHeap.IsLockFree);
        Assert.True(LockFreeMalloc.IsLockFree);
        byte* p = (byte*)LockFreeMalloc.Malloc(40);
        Assert.True(p != null);
        Assert.True(LockFreeHeap.IsDefaultCreated);
        Assert.Same(LockFreeHeap.Default, LockFreeHeap.Default);
        Assert.True(LockFreeHeap.Default.ArenaContains(p));
        Assert.False(LockFreeMalloc.TrySetHeapSize(4 << 20)); // too late: the default heap exists
        LockFreeHeap.Default.Dispose();                        // ignored for the default heap
        *(long*)p = 42;
        LockFreeMalloc.Free(p);
        LockFreeMalloc.EnableMmap();
        Assert.True(LockFreeHeap.Default.IsMmapEnabled);
        void* big = LockFreeMalloc.Malloc(1 << 20);
        Assert.True(big != null);
        LockFreeMalloc.Free(big);
    }

    [Fact]
    public void FastAndSlowPathsAllocateNoManagedMemory()
    {
        using var heap = new LockFreeHeap(LockFreeHeap.MinHeapSize * 4, shards: 2);
        var ptrs = stackalloc nint[64];
        Churn(heap, ptrs, 2); // warm up: JIT and first-use paths
        long before = GC.GetAllocatedBytesForCurrentThread();
        Churn(heap, ptrs, 2000);
        long after = GC.GetAllocatedBytesForCurrentThread();
        Assert.Equal(0, after - before);
        heap.Validate();

        static void Churn(LockFreeHeap heap, nint* ptrs, int rounds)
        {
            for (int r = 0; r < rounds; r++)
            {
                // Mixed classes, including 64 KiB blocks that force carving, splitting and exhaustion (null).
                for (int i = 0; i < 64; i++) ptrs[i] = (nint)heap.Allocate((nuint)(16 << (i % 13)) - 8);
                for (int i = 0; i < 64; i++) heap.Free((void*)ptrs[i]);
                void* p = heap.Allocate(24);
                heap.Free(p);
            }
        }
    }
}
