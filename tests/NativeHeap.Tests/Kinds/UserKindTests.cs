// User-defined kinds: a C# IMemorySource serves the kind, its hooks are called (allocate, purge,
// release on destroy), its memory is where the blocks are, and the two arena policies behave.
using NativeHeap.General;
using NativeHeap.Kinds;
using NativeHeap.Tests.General;

namespace NativeHeap.Tests.Kinds;

public sealed unsafe class UserKindTests
{
    [Fact]
    public void HooksServeTheKindAndAreCalled()
    {
        var source = new CountingRegionSource(64 << 20);
        Assert.True(MemoryKind.TryCreate("user", source, new KindOptions { ArenaPolicy = KindArenaPolicy.Single }, out MemoryKind? kind, out string error), error);
        byte* small = (byte*)kind!.Malloc(100);
        byte* huge = (byte*)kind.Malloc(6 << 20);
        Assert.True(source.Contains(small) && source.Contains(huge));
        Assert.Same(kind, MemoryKind.DetectKind(small));
        Assert.Same(kind, MemoryKind.DetectKind(huge));
        Assert.True(source.Allocs >= 2);
        byte* large = (byte*)kind.Malloc(1 << 20);
        large[0] = 1;
        MemoryKind.Free(large);
        kind.Purge();
        Assert.True(source.PurgesForced + source.PurgesLazy >= 1);
        MemoryKind.Free(small);
        int releasesBefore = source.Releases;
        Assert.True(kind.TryDestroy(out error), error);
        Assert.True(source.Releases > releasesBefore);   // destroy returned the chunk and the huge block
    }

    [Fact]
    public void ASourceThatFailsGivesNullAndAReason()
    {
        Assert.True(MemoryKind.TryCreate("empty", new CountingRegionSource(4 << 20), new KindOptions { ArenaPolicy = KindArenaPolicy.Single }, out MemoryKind? kind, out string error), error);
        try
        {
            Assert.True(kind!.Malloc(16 << 20) == null);
            Assert.NotNull(kind.LastError);
            Assert.Equal(1, kind.GetStats().SourceFailures);
        }
        finally
        {
            kind!.TryDestroy(out _);
        }
    }

    [Fact]
    public void SinglePolicyUsesOneArenaAndHashPolicySpreadsThreads()
    {
        Assert.True(MemoryKind.TryCreate("single", OsMemorySource.Instance, new KindOptions { ArenaPolicy = KindArenaPolicy.Single }, out MemoryKind? single, out string e), e);
        Assert.True(MemoryKind.TryCreate("hash", OsMemorySource.Instance, new KindOptions { ArenaCount = 8 }, out MemoryKind? hash, out e), e);
        try
        {
            Assert.Single(single!.ArenaIndices);
            Assert.Equal(8, hash!.ArenaIndices.Count);
            var used = new HashSet<int>();
            var usedSingle = new HashSet<int>();
            TestThreads.Run(16, _ =>
            {
                void* p = hash.Malloc(64);
                void* q = single.Malloc(64);
                lock (used)
                {
                    used.Add(KindAllocationTests.ArenaOf(p));
                    usedSingle.Add(KindAllocationTests.ArenaOf(q));
                }
                MemoryKind.Free(p);
                MemoryKind.Free(q);
            });
            Assert.True(used.Count >= 2, $"16 threads used {used.Count} of 8 arenas");
            Assert.Subset(hash.ArenaIndices.ToHashSet(), used);
            Assert.Equal(single.ArenaIndices.ToHashSet(), usedSingle);
            KindStats after = hash.GetStats();   // finished threads' caches are reclaimed: flushed and freed
            Assert.Equal(0, after.ThreadCaches);
            Assert.Equal(0, after.Allocated);
        }
        finally
        {
            single!.TryDestroy(out _);
            hash!.TryDestroy(out _);
        }
    }

    [Fact]
    public void ThreadCacheMaxDecidesWhichSizesSkipTheArena()
    {
        // 64 KiB pairs: with the kinds' default tcache_max (32 KiB) every pair reaches the arena; with a
        // kind cache of 64 KiB only the first does.
        foreach ((nuint? max, bool cached) in new (nuint?, bool)[] { (null, false), (65536, true) })
        {
            Assert.True(MemoryKind.TryCreate($"tcache-max-{max}", OsMemorySource.Instance,
                new KindOptions { ArenaPolicy = KindArenaPolicy.Single, ThreadCacheMax = max }, out MemoryKind? kind, out string e), e);
            try
            {
                for (int i = 0; i < 200; i++) MemoryKind.Free(kind!.Malloc(65536));
                long nmalloc = Heap.GetArenaStats(kind!.ArenaIndices[0]).Large.Where(l => l.Size == 65536).Sum(l => l.NMalloc);
                if (cached) Assert.InRange(nmalloc, 1, 5);
                else Assert.Equal(200, nmalloc);
            }
            finally
            {
                kind!.TryDestroy(out _);
            }
        }
    }

    [Fact]
    public void CrossThreadFreesStayInTheKind()
    {
        Assert.True(MemoryKind.TryCreate("xthread", OsMemorySource.Instance, new KindOptions { ArenaCount = 4 }, out MemoryKind? kind, out string e), e);
        try
        {
            var blocks = new System.Collections.Concurrent.ConcurrentQueue<nint>();
            TestThreads.Run(4, id =>
            {
                for (int i = 0; i < 5000; i++)
                {
                    if (id % 2 == 0) blocks.Enqueue((nint)kind!.Malloc((nuint)(16 + i % 3000)));
                    else if (blocks.TryDequeue(out nint p)) MemoryKind.Free((void*)p);
                }
            });
            while (blocks.TryDequeue(out nint p)) MemoryKind.Free((void*)p);
            kind!.Purge();
            Assert.Equal(0, kind.GetStats().Allocated);
            Heap.Validate();
        }
        finally
        {
            kind!.TryDestroy(out _);
        }
    }
}
