using NativeHeap.Core;
using NativeHeap.General;

namespace NativeHeap.Tests.General;

public unsafe class ThreadCacheTests
{
    private static int ArenaOf(void* p) => ((Chunk*)PageMap.Lookup(p))->Arena->Index;

    [Fact]
    public void BlocksFreedByAnotherThreadAreNotReusedThereButReturnHome()
    {
        var blocks = new nint[64];
        int ownerArena = -1, otherArena = -1;
        TestThreads.Run(() =>
        {
            for (int i = 0; i < blocks.Length; i++) blocks[i] = (nint)Heap.Malloc(24);
            ownerArena = Heap.CurrentThreadArena;
        });
        TestThreads.Run(() =>
        {
            Heap.Free(Heap.Malloc(24));
            if (Heap.CurrentThreadArena == ownerArena) Heap.CurrentThreadArena = (ownerArena + 1) % Heap.AutomaticArenaCount;
            otherArena = Heap.CurrentThreadArena;
            foreach (nint p in blocks) Heap.Free((void*)p);
            // This thread's next blocks of the class come from its own arena, not from what it just freed.
            for (int i = 0; i < blocks.Length; i++)
            {
                void* q = Heap.Malloc(24);
                Assert.Equal(otherArena, ArenaOf(q));
                Assert.DoesNotContain((nint)q, blocks);
                Heap.Free(q);
            }
            Heap.FlushCurrentThreadCache();
        });
        Assert.NotEqual(ownerArena, otherArena);
        // After the flush the owner's bin has them back: no region of the owner's slabs is still counted live.
        ArenaStats owner = Heap.GetStats().Arenas.Single(a => a.Index == ownerArena);
        Assert.True(owner.Bins[SizeClasses.SizeToIndex(24)].NDalloc >= blocks.Length);
        Heap.Validate();
    }

    [Fact]
    public void CachesAreBoundedAndTrimmed()
    {
        TestThreads.Run(() =>
        {
            var p = new nint[5000];
            for (int i = 0; i < p.Length; i++) p[i] = (nint)Heap.Malloc(64);
            for (int i = 0; i < p.Length; i++) Heap.Free((void*)p[i]);
            // At most one bin's capacity of 64-byte blocks can stay cached.
            int cls = SizeClasses.SizeToIndex(64);
            ThreadCache* tc = CurrentCache();
            CacheBin* cb = ThreadCache.BinsOf(tc) + cls;
            Assert.True(cb->LocalCount <= ThreadCache.CapOf(tc, cls));
            // Many slow-path events on other classes let the cache GC visit this bin and halve it.
            int before = cb->LocalCount;
            for (int round = 0; round < 200; round++)
            {
                var q = new nint[300];
                for (int i = 0; i < q.Length; i++) q[i] = (nint)Heap.Malloc((nuint)(1024 + round % 8 * 1024));
                for (int i = 0; i < q.Length; i++) Heap.Free((void*)q[i]);
            }
            Assert.True(cb->LocalCount < before || before <= 1, $"bin not trimmed: {before} -> {cb->LocalCount}");
        });
    }

    private static ThreadCache* CurrentCache()
    {
        // The thread's cache is reachable through its counters' address (thread.allocatedp).
        return (ThreadCache*)Heap.ThreadAllocatedPointer;
    }
}
