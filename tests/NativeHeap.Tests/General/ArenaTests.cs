namespace NativeHeap.Tests.General;

[Collection("Serial")]
public unsafe class ArenaTests
{
    [Fact]
    public void AutomaticArenasDefaultToFourPerCpuAndLiveThreadsSpreadOverThem()
    {
        Assert.Equal(4 * Environment.ProcessorCount, Heap.AutomaticArenaCount);
        var arenas = new int[8];
        using var allAttached = new Barrier(8);
        TestThreads.Run(8, i =>
        {
            Heap.Free(Heap.Malloc(8));
            arenas[i] = Heap.CurrentThreadArena;
            allAttached.SignalAndWait();   // all eight alive at once
        });
        Assert.True(arenas.Distinct().Count() >= 4, $"8 live threads landed on arenas {string.Join(",", arenas)}");
    }

    [Fact]
    public void SuccessiveShortLivedThreadsReuseTheLeastLoadedArena()
    {
        // Each thread exits before the next starts; its cache is reclaimed when the next one attaches,
        // so the next one finds the same least-loaded arena instead of a fresh one.
        var arenas = new int[6];
        for (int i = 0; i < arenas.Length; i++)
        {
            int k = i;
            TestThreads.Run(() =>
            {
                Heap.Free(Heap.Malloc(8));
                arenas[k] = Heap.CurrentThreadArena;
            });
        }
        Assert.True(arenas.Distinct().Count() <= 2, $"short-lived threads spread over arenas {string.Join(",", arenas)}");
    }

    [Fact]
    public void FlagArenaPlacesBlocksInThatArena()
    {
        int a = Heap.CreateArena();
        void* p = Heap.MallocX(100, MallocFlags.Arena(a));
        void* q = Heap.MallocX(50_000, MallocFlags.Arena(a));
        void* h = Heap.MallocX(5 << 20, MallocFlags.Arena(a));
        ArenaStats s = Heap.GetStats().Arenas.Single(x => x.Index == a);
        Assert.True(s.IsExplicit);
        Assert.Equal(112, s.SmallAllocated);
        Assert.Equal(Heap.NallocX(50_000, 0), (nuint)s.LargeAllocated);
        Assert.Equal(5L << 20, s.HugeAllocated);
        Heap.Free(p);
        Heap.Free(q);
        Heap.Free(h);
        s = Heap.GetStats().Arenas.Single(x => x.Index == a);
        Assert.Equal(0, s.SmallAllocated + s.LargeAllocated + s.HugeAllocated);
        Heap.DestroyArena(a);
    }

    [Fact]
    public void ResetFreesEverythingAtOnceFromAnotherThread()
    {
        int a = Heap.CreateArena();
        var flags = MallocFlags.Arena(a);
        TestThreads.Run(() =>
        {
            for (int i = 0; i < 10_000; i++) Heap.MallocX((nuint)(16 + i % 3000), flags);
            for (int i = 0; i < 20; i++) Heap.MallocX((nuint)(100_000 + i * 4096), flags);
            Heap.MallocX(9 << 20, flags);
        });
        ArenaStats before = Heap.GetStats().Arenas.Single(x => x.Index == a);
        Assert.True(before.SmallAllocated > 10_000 && before.LargeAllocated > 2_000_000 && before.HugeCount == 1);
        Heap.ResetArena(a);   // from this thread, not the one that allocated
        ArenaStats after = Heap.GetStats().Arenas.Single(x => x.Index == a);
        Assert.Equal(0, after.SmallAllocated + after.LargeAllocated + after.HugeAllocated);
        Assert.Equal(0, after.Mapped);
        // The arena works after a reset.
        byte* p = (byte*)Heap.MallocX(1000, flags);
        p[999] = 1;
        Heap.Free(p);
        Heap.Validate();
        Heap.DestroyArena(a);
    }

    [Fact]
    public void DestroyedArenaIndexIsRejectedThenReused()
    {
        int a = Heap.CreateArena();
        Heap.Free(Heap.MallocX(64, MallocFlags.Arena(a)));
        Heap.DestroyArena(a);
        Assert.Throws<ArgumentOutOfRangeException>(() => Heap.MallocX(64, MallocFlags.Arena(a)));
        Assert.Throws<ArgumentException>(() => Heap.ResetArena(0));   // automatic arenas cannot be reset
        int b = Heap.CreateArena();
        Assert.True(b == a || b > a);
        Heap.Free(Heap.MallocX(64, MallocFlags.Arena(b)));
        Heap.DestroyArena(b);
    }

    [Fact]
    public void ResetDropsTheArenasBlocksFromExplicitCaches()
    {
        int a = Heap.CreateArena();
        int tc = Heap.CreateThreadCache();
        var flags = MallocFlags.Arena(a) | MallocFlags.ThreadCache(tc);
        var p = new nint[100];
        for (int i = 0; i < p.Length; i++) p[i] = (nint)Heap.MallocX(48, flags);
        for (int i = 0; i < p.Length; i++) Heap.DallocX((void*)p[i], MallocFlags.ThreadCache(tc));
        Heap.ResetArena(a);
        // Had the cache kept them, this would hand out memory of the reset arena.
        for (int i = 0; i < 50; i++)
        {
            void* q = Heap.MallocX(48, MallocFlags.ThreadCache(tc));
            Assert.NotEqual(a, ArenaOf(q));
            Heap.DallocX(q, MallocFlags.NoThreadCache);
        }
        Heap.DestroyThreadCache(tc);
        Heap.DestroyArena(a);
        Heap.Validate();
    }

    private static int ArenaOf(void* p)
    {
        var c = (NativeHeap.General.Chunk*)NativeHeap.Core.PageMap.Lookup(p);
        return c->Arena->Index;
    }

    [Fact]
    public void ThreadCacheCanBeSwitchedOffAndThreadArenaChosen()
    {
        TestThreads.Run(() =>
        {
            Assert.True(Heap.CurrentThreadCacheEnabled);
            void* p = Heap.Malloc(64);
            Heap.CurrentThreadCacheEnabled = false;
            Assert.False(Heap.CurrentThreadCacheEnabled);
            Heap.Free(p);   // goes straight to its bin: the bin's current regions drop
            void* q = Heap.Malloc(64);
            Heap.Free(q);
            Heap.CurrentThreadCacheEnabled = true;
            Assert.True(Heap.CurrentThreadCacheEnabled);
            Heap.CurrentThreadArena = 2;
            Assert.Equal(2, Heap.CurrentThreadArena);
            Heap.Free(Heap.Malloc(64));
            int explicitArena = Heap.CreateArena();
            Heap.CurrentThreadArena = explicitArena;         // any arena, as jemalloc's thread.arena
            Assert.Equal(explicitArena, Heap.CurrentThreadArena);
            Heap.Free(Heap.Malloc(64));
            Assert.Throws<InvalidOperationException>(() => Heap.DestroyArena(explicitArena));   // the thread's arena
            Heap.CurrentThreadArena = 2;
            Heap.FlushCurrentThreadCache();
            Heap.DestroyArena(explicitArena);
        });
        Heap.Validate();
    }

    [Fact]
    public void DecaySettingsPerArena()
    {
        int a = Heap.CreateArena();
        Heap.SetArenaDecay(a, 500, -1);
        Assert.Equal((500L, -1L), Heap.GetArenaDecay(a));
        Assert.Throws<ArgumentOutOfRangeException>(() => Heap.SetArenaDecay(a, -2, 0));
        Heap.DestroyArena(a);
    }
}
