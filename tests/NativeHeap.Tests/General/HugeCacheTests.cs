using NativeHeap.Control;
using NativeHeap.General;
using NativeHeap.Os;

namespace NativeHeap.Tests.General;

/// <summary>An OS-backed memory source that counts each call (what the arena asks for, not wall time).</summary>
internal sealed unsafe class CountingOsSource : IMemorySource
{
    public int Allocs, Releases, PurgesLazy, PurgesForced, Splits, Merges;
    public bool RefuseSplits;

    public void* Allocate(void* at, nuint size, nuint alignment, out bool zeroed)
    {
        Interlocked.Increment(ref Allocs);
        return OsMemorySource.Instance.Allocate(at, size, alignment, out zeroed);
    }

    public bool TryRelease(void* address, nuint size)
    {
        Interlocked.Increment(ref Releases);
        return OsMemorySource.Instance.TryRelease(address, size);
    }

    public bool TryCommit(void* address, nuint size) => OsMemorySource.Instance.TryCommit(address, size);
    public bool TryDecommit(void* address, nuint size) => OsMemorySource.Instance.TryDecommit(address, size);

    public bool TryPurgeLazy(void* address, nuint size)
    {
        Interlocked.Increment(ref PurgesLazy);
        return OsMemorySource.Instance.TryPurgeLazy(address, size);
    }

    public bool TryPurgeForced(void* address, nuint size)
    {
        Interlocked.Increment(ref PurgesForced);
        return OsMemorySource.Instance.TryPurgeForced(address, size);
    }

    public bool TrySplit(void* address, nuint size, nuint firstSize)
    {
        Interlocked.Increment(ref Splits);
        return !RefuseSplits;
    }

    public bool TryMerge(void* first, nuint firstSize, void* second, nuint secondSize)
    {
        Interlocked.Increment(ref Merges);
        return true;
    }
}

/// <summary>
/// Retained huge extents (opt.retain, HugeCache): reuse, splitting and merging, the budget, decay with
/// the injected clock, exact statistics, reset and destroy. Each test uses an explicit arena over a
/// counting source and reads that arena's counters; the clock tests run serially.
/// </summary>
[Collection("Serial")]
public unsafe class HugeCacheTests
{
    private const nuint MiB = 1 << 20;

    private static ArenaStats Stats(int arena) => Heap.GetStats().Arenas.Single(a => a.Index == arena);

    private static void Touch(byte* p, nuint size)
    {
        for (nuint i = 0; i < size; i += 4096) p[i] = 0x5c;
    }

    /// <summary>Bytes of the mapping of a huge block of <paramref name="size"/> bytes (its size class, a header page, whole 4 MiB granules).</summary>
    private static long MapSize(nuint size) => (long)((Heap.NallocX(size, MallocFlags.None) + 4096 + (4 * MiB - 1)) & ~(4 * MiB - 1));

    private static void WithClock(Action<Func<long>, Action<long>> body)
    {
        long now = 5_000_000;
        HeapClock.Set(() => Volatile.Read(ref now));
        try
        {
            body(() => Volatile.Read(ref now), d => Interlocked.Add(ref now, d));
        }
        finally
        {
            HeapClock.Set(null);
        }
    }

    [Fact]
    public void FreedHugeBlockIsReusedWithoutANewMapping()
    {
        var src = new CountingOsSource();
        int a = Heap.CreateArena(src);
        var flags = MallocFlags.Arena(a);
        try
        {
            byte* p = (byte*)Heap.MallocX(10 * MiB, flags);
            Assert.True(p != null);
            Touch(p, 10 * MiB);
            Assert.Equal(1, src.Allocs);
            long mappedLive = Stats(a).Mapped;
            Heap.Free(p);
            ArenaStats s = Stats(a);
            Assert.Equal(0, src.Releases);
            Assert.Equal(1, s.RetainedExtents);
            Assert.Equal(MapSize(10 * MiB), s.RetainedExtentBytes);
            Assert.Equal(mappedLive, s.Mapped);                       // dirty: still mapped and counted so
            Assert.Equal(MapSize(10 * MiB) / 4096 - 1, s.DirtyPages);  // its pages after the header are dirty
            Assert.Equal(0, s.Retained);
            Assert.Equal(0, s.HugeCount);
            Heap.Validate();

            byte* q = (byte*)Heap.MallocX(10 * MiB, flags);
            Assert.True(q == p, "the same size did not reuse the retained mapping");
            Assert.Equal(1, src.Allocs);                 // no new mapping
            s = Stats(a);
            Assert.Equal(1, s.HugeReuses);
            Assert.Equal(1, s.HugeMaps);
            Assert.Equal(0, s.RetainedExtents);
            Assert.Equal(mappedLive, s.Mapped);
            Assert.Equal((nuint)(10 * MiB), Heap.UsableSize(q));
            Heap.Validate();
            Heap.Free(q);
        }
        finally
        {
            Heap.DestroyArena(a);
        }
        Assert.Equal(1, src.Releases);   // destroy returned the retained mapping
    }

    [Fact]
    public void SmallerRequestsSplitAndFreedNeighboursMerge()
    {
        var src = new CountingOsSource();
        int a = Heap.CreateArena(src);
        var flags = MallocFlags.Arena(a);
        try
        {
            void* big = Heap.MallocX(30 * MiB, flags);
            Heap.Free(big);
            long whole = MapSize(30 * MiB);
            void* x = Heap.MallocX(7 * MiB, flags);      // 8 MiB mapping split off the 32 MiB extent
            void* y = Heap.MallocX(7 * MiB, flags);      // the next 8 MiB of it
            Assert.Equal(1, src.Allocs);
            Assert.True(src.Splits >= 2, $"splits {src.Splits}");
            Assert.True(x == big && (byte*)y == (byte*)big + MapSize(7 * MiB), "the pieces are not the front of the retained extent");
            ArenaStats s = Stats(a);
            Assert.Equal(1, s.RetainedExtents);
            Assert.Equal(whole - 2 * MapSize(7 * MiB), s.RetainedExtentBytes);
            Heap.Validate();
            Heap.Free(y);    // merges with the tail after it
            Heap.Free(x);    // and with that, back to one extent
            s = Stats(a);
            Assert.Equal(1, s.RetainedExtents);
            Assert.Equal(whole, s.RetainedExtentBytes);
            Assert.True(src.Merges >= 2, $"merges {src.Merges}");
            Assert.Equal(0, src.Releases);
            // A larger request than any retained extent maps anew.
            void* z = Heap.MallocX(40 * MiB, flags);
            Assert.Equal(2, src.Allocs);
            Heap.Free(z);
            Heap.Validate();
        }
        finally
        {
            Heap.DestroyArena(a);
        }
    }

    [Fact]
    public void AnUnsplittableExtentIsUsedWholeOrLeftRetained()
    {
        var src = new CountingOsSource { RefuseSplits = true };
        int a = Heap.CreateArena(src);
        var flags = MallocFlags.Arena(a);
        try
        {
            Heap.Free(Heap.MallocX(10 * MiB, flags));            // 12 MiB extent
            byte* p = (byte*)Heap.MallocX(6 * MiB, flags);        // needs 8: less than twice, taken whole
            Assert.Equal(1, src.Allocs);
            Assert.Equal(0, Stats(a).RetainedExtents);
            Heap.Validate();
            Heap.Free(p);
            void* q = Heap.MallocX(3 * MiB, flags);               // needs 4 of 12: would waste more than it uses
            Assert.Equal(2, src.Allocs);
            Assert.Equal(1, Stats(a).RetainedExtents);
            Heap.Free(q);
            Heap.Validate();
        }
        finally
        {
            Heap.DestroyArena(a);
        }
    }

    [Fact]
    public void TheRetainedBytesStayWithinTheBudget()
    {
        var src = new CountingOsSource();
        int a = Heap.CreateArena(src);
        var flags = MallocFlags.Arena(a);
        try
        {
            Assert.Equal(HugeCache.DefaultLimit, Heap.GetRetainLimit(a));
            Heap.SetRetainLimit(a, 40L << 20);
            var blocks = new List<nint>();
            for (int i = 0; i < 6; i++) blocks.Add((nint)Heap.MallocX(14 * MiB, flags));   // 16 MiB mappings
            // Free every other one first so no two retained extents are neighbours (no merging).
            for (int i = 0; i < 6; i += 2) Heap.Free((void*)blocks[i]);
            ArenaStats s = Stats(a);
            Assert.True(s.RetainedExtentBytes <= 40L << 20, $"{s.RetainedExtentBytes >> 20} MiB retained over a 40 MiB budget");
            Assert.Equal(2, s.RetainedExtents);
            Assert.Equal(1, src.Releases);   // the oldest went back to the source
            for (int i = 1; i < 6; i += 2) Heap.Free((void*)blocks[i]);
            s = Stats(a);
            Assert.True(s.RetainedExtentBytes <= 40L << 20, $"{s.RetainedExtentBytes >> 20} MiB retained over a 40 MiB budget");
            Heap.Validate();
            // A mapping larger than half the budget is not kept at all.
            int releases = src.Releases;
            Heap.Free(Heap.MallocX(24 * MiB, flags));
            Assert.Equal(releases + 1, src.Releases);
            // Lowering the budget unmaps what no longer fits.
            Heap.SetRetainLimit(a, 0);
            s = Stats(a);
            Assert.Equal(0, s.RetainedExtents);
            Assert.Equal(0, s.RetainedExtentBytes);
            Heap.Free(Heap.MallocX(5 * MiB, flags));
            Assert.Equal(0, Stats(a).RetainedExtents);
            Heap.Validate();
        }
        finally
        {
            Heap.DestroyArena(a);
        }
    }

    [Fact]
    public void DecayPurgesRetainedExtentsOnTheInjectedClock() => WithClock((now, advance) =>
    {
        var src = new CountingOsSource();
        int a = Heap.CreateArena(src);
        var flags = MallocFlags.Arena(a);
        try
        {
            Heap.SetArenaDecay(a, 10_000, 0);
            byte* p = (byte*)Heap.MallocX(10 * MiB, flags);
            Touch(p, 10 * MiB);
            Heap.Free(p);
            long map = MapSize(10 * MiB), body = map / 4096 - 1;
            ArenaStats s0 = Stats(a);
            Assert.Equal(body, s0.DirtyPages);
            advance(9_000);
            Heap.DecayArena(a);
            Assert.Equal(body, Stats(a).DirtyPages);
            Assert.Equal(0, src.PurgesForced);
            advance(1_001);
            Heap.DecayArena(a);
            ArenaStats s1 = Stats(a);
            Assert.Equal(0, s1.DirtyPages);
            Assert.Equal(1, src.PurgesForced);
            Assert.Equal(map, s1.Retained);                    // address space kept: stats.retained
            Assert.Equal(s0.Mapped - map, s1.Mapped);          // and no longer counted as mapped
            Assert.Equal(s0.PurgedPages + body, s1.PurgedPages);
            Assert.Equal(0, src.Releases);
            Assert.True(Heap.GetStats().Retained >= map);
            Assert.Equal(CtlStatus.Ok, HeapControl.Write("epoch", 1UL));
            Assert.Equal(CtlStatus.Ok, HeapControl.Read($"stats.arenas.{a}.retained", out nuint ctlRetained));
            Assert.Equal((nuint)map, ctlRetained);
            Heap.Validate();
            // A retained (purged) extent reads as zeroes when reused with MALLOCX_ZERO.
            byte* q = (byte*)Heap.MallocX(10 * MiB, flags | MallocFlags.Zero);
            Assert.True(q == p);
            Assert.Equal(1, src.Allocs);
            for (nuint i = 0; i < 10 * MiB; i += 4096) Assert.Equal(0, q[i]);
            Assert.Equal(0, Stats(a).Retained);
            Heap.Free(q);
            Heap.Validate();
        }
        finally
        {
            Heap.DestroyArena(a);
        }
    });

    [Fact]
    public void MuzzyDecayPurgesRetainedExtentsLazilyFirst() => WithClock((now, advance) =>
    {
        var src = new CountingOsSource();
        int a = Heap.CreateArena(src);
        var flags = MallocFlags.Arena(a);
        try
        {
            Heap.SetArenaDecay(a, 1_000, 1_000);
            Heap.Free(Heap.MallocX(10 * MiB, flags));
            long body = MapSize(10 * MiB) / 4096 - 1;
            advance(1_001);
            Heap.DecayArena(a);
            ArenaStats s = Stats(a);
            Assert.Equal(1, src.PurgesLazy);
            Assert.Equal(0, s.DirtyPages);
            Assert.Equal(body, s.MuzzyPages);
            advance(1_001);
            Heap.DecayArena(a);
            s = Stats(a);
            Assert.Equal(1, src.PurgesForced);
            Assert.Equal(0, s.MuzzyPages);
            Assert.Equal(MapSize(10 * MiB), s.Retained);
            Heap.Validate();
        }
        finally
        {
            Heap.DestroyArena(a);
        }
    });

    [Fact]
    public void DecayZeroPurgesAtFreeAndStillReusesTheAddressSpace()
    {
        var src = new CountingOsSource();
        int a = Heap.CreateArena(src);
        var flags = MallocFlags.Arena(a);
        try
        {
            Heap.SetArenaDecay(a, 0, 0);
            byte* p = (byte*)Heap.MallocX(10 * MiB, flags);
            Touch(p, 10 * MiB);
            Heap.Free(p);
            ArenaStats s = Stats(a);
            Assert.Equal(1, src.PurgesForced);
            Assert.Equal(0, s.DirtyPages);
            Assert.Equal(MapSize(10 * MiB), s.Retained);
            void* q = Heap.MallocX(10 * MiB, flags);
            Assert.True(q == p);
            Assert.Equal(1, src.Allocs);
            Heap.Free(q);
            Heap.Validate();
        }
        finally
        {
            Heap.DestroyArena(a);
        }
    }

    [Fact]
    public void PurgeResetAndDestroyReturnRetainedExtents()
    {
        var src = new CountingOsSource();
        int a = Heap.CreateArena(src);
        var flags = MallocFlags.Arena(a);
        Heap.Free(Heap.MallocX(10 * MiB, flags));
        Heap.PurgeArena(a);
        Assert.Equal(1, src.Releases);
        Assert.Equal(0, Stats(a).RetainedExtents);
        Heap.Free(Heap.MallocX(10 * MiB, flags));
        void* live = Heap.MallocX(20 * MiB, flags);
        Assert.True(live != null);
        Heap.ResetArena(a);                       // the live block and the retained extent both go back
        Assert.Equal(3, src.Releases);
        ArenaStats s = Stats(a);
        Assert.Equal(0, s.RetainedExtents);
        Assert.Equal(0, s.Retained);
        Assert.Equal(0, s.Mapped);
        Heap.Validate();
        Heap.Free(Heap.MallocX(10 * MiB, flags));
        Heap.DestroyArena(a);
        Assert.Equal(4, src.Releases);
        Heap.Validate();
    }

    [Fact]
    public void ARetainedExtentIsNotABlock()
    {
        var src = new CountingOsSource();
        int a = Heap.CreateArena(src);
        try
        {
            void* p = Heap.MallocX(10 * MiB, MallocFlags.Arena(a));
            Heap.Free(p);
            Assert.Equal((nuint)0, Heap.UsableSize(p));
            Assert.Throws<HeapMisuseException>(() => Heap.Free(p));
            Heap.Validate();
        }
        finally
        {
            Heap.DestroyArena(a);
        }
    }

    [Fact]
    public void OptRetainIsOnAndTheBudgetIsItsGrowLimit()
    {
        Assert.Equal(CtlStatus.Ok, HeapControl.Read("opt.retain", out bool retain));
        Assert.True(retain);
        int a = Heap.CreateArena();
        try
        {
            Assert.Equal(CtlStatus.Ok, HeapControl.Read($"arena.{a}.retain_grow_limit", out nuint limit));
            Assert.Equal((nuint)HugeCache.DefaultLimit, limit);
            Assert.Equal(CtlStatus.Ok, HeapControl.Write($"arena.{a}.retain_grow_limit", (nuint)(64 << 20)));
            Assert.Equal(64L << 20, Heap.GetRetainLimit(a));
            Assert.Equal(CtlStatus.Fault, HeapControl.Read("arena.4096.retain_grow_limit", out nuint _));
            Assert.Equal(CtlStatus.ReadOnly, HeapControl.Write("opt.retain", false));
        }
        finally
        {
            Heap.DestroyArena(a);
        }
    }
}
