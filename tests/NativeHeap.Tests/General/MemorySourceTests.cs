using NativeHeap.Os;

namespace NativeHeap.Tests.General;

/// <summary>A memory source that serves a pre-mapped region and counts every hook call.</summary>
internal sealed unsafe class CountingRegionSource : IMemorySource
{
    private readonly byte* _base;
    private readonly nuint _size;
    private nuint _next;
    public int Allocs, AllocsAt, Releases, Commits, Decommits, PurgesLazy, PurgesForced, Splits, Merges;
    public nuint Released;

    public CountingRegionSource(nuint size)
    {
        _size = size;
        // 4 MiB-aligned region; the test owns it.
        Assert.True(OsMemory.TryMapAligned(size, 4 << 20, out void* p, out OsError e), e.ToString());
        _base = (byte*)p;
    }

    public bool Contains(void* p) => (byte*)p >= _base && (byte*)p < _base + _size;

    public void* Allocate(void* at, nuint size, nuint alignment, out bool zeroed)
    {
        zeroed = true;
        lock (this)
        {
            if (at != null)
            {
                AllocsAt++;
                // Grow in place only if `at` is the next unused address.
                if ((byte*)at != _base + _next || _next + size > _size) return null;
                _next += size;
                return at;
            }
            Allocs++;
            nuint start = (_next + alignment - 1) & ~(alignment - 1);
            if (start + size > _size) return null;
            _next = start + size;
            return _base + start;
        }
    }

    public bool TryRelease(void* address, nuint size)
    {
        Interlocked.Increment(ref Releases);
        lock (this) Released += size;
        return OsMemory.TryPurgeForced(address, size, out _);   // keep the region mapped; just drop pages
    }

    public bool TryCommit(void* address, nuint size) { Interlocked.Increment(ref Commits); return true; }
    public bool TryDecommit(void* address, nuint size) { Interlocked.Increment(ref Decommits); return true; }
    public bool TryPurgeLazy(void* address, nuint size) { Interlocked.Increment(ref PurgesLazy); return OsMemory.TryPurgeLazy(address, size, out _); }
    public bool TryPurgeForced(void* address, nuint size) { Interlocked.Increment(ref PurgesForced); return OsMemory.TryPurgeForced(address, size, out _); }
    public bool TrySplit(void* address, nuint size, nuint firstSize) { Interlocked.Increment(ref Splits); return true; }
    public bool TryMerge(void* first, nuint firstSize, void* second, nuint secondSize) { Interlocked.Increment(ref Merges); return true; }
}

public unsafe class MemorySourceTests
{
    [Fact]
    public void ArenaTakesAllItsMemoryFromItsSourceAndCallsEveryHook()
    {
        var src = new CountingRegionSource(256 << 20);
        int a = Heap.CreateArena(src);
        var flags = MallocFlags.Arena(a);
        // Small, large and huge blocks all come from the region.
        void* s = Heap.MallocX(64, flags);
        void* l = Heap.MallocX(100_000, flags);
        byte* h = (byte*)Heap.MallocX(10 << 20, flags);
        Assert.True(src.Contains(s) && src.Contains(l) && src.Contains(h));
        Assert.True(src.Allocs >= 2, $"allocs {src.Allocs}");
        // Shrinking the huge block in place splits it and releases the tail.
        Assert.Equal((nuint)(5 << 20), Heap.XallocX(h, 5 << 20, 0, 0));
        Assert.True(src.Splits >= 1 && src.Releases >= 1, $"splits {src.Splits} releases {src.Releases}");
        // Growing it in place asks for the range right after it and merges. The region is bump-allocated,
        // so the range after the huge block's mapping is the next free address only if nothing followed it.
        h[0] = 9;
        nuint grown = Heap.XallocX(h, 11 << 20, 0, 0);   // beyond the 8 MiB mapping left after the shrink
        Assert.True(src.AllocsAt >= 1, "growing in place never asked for the following range");
        if (grown == (nuint)(11 << 20)) Assert.True(src.Merges >= 1);
        else Assert.Equal((nuint)(5 << 20), grown);
        Assert.Equal(9, h[0]);
        // Freeing and purging hands pages back through purge and release.
        Heap.Free(s);
        Heap.Free(l);
        Heap.Free(h);
        Heap.PurgeArena(a);
        Assert.True(src.PurgesForced >= 1, "purge did not call the source");
        Assert.True(src.Releases >= 2, "neither the huge block nor the empty chunk went back to the source");
        Heap.Validate();
        Heap.DestroyArena(a);
    }

    [Fact]
    public void MuzzyDecayPurgesLazilyFirst()
    {
        var src = new CountingRegionSource(64 << 20);
        int a = Heap.CreateArena(src);
        Heap.SetArenaDecay(a, 0, -1);   // dirty pages go muzzy at once and stay muzzy
        void* l = Heap.MallocX(200_000, MallocFlags.Arena(a));
        Heap.Free(l);
        Assert.True(src.PurgesLazy >= 1, "dirty pages were not purged lazily");
        ArenaStats s = Heap.GetStats().Arenas.Single(x => x.Index == a);
        Assert.True(s.MuzzyPages >= 49, $"muzzy pages {s.MuzzyPages}");
        Heap.PurgeArena(a);
        Assert.True(src.PurgesForced >= 1);
        Heap.DestroyArena(a);
    }

    [Fact]
    public void ExhaustedSourceGivesNullNotACrash()
    {
        var src = new CountingRegionSource(8 << 20);   // two chunks at most
        int a = Heap.CreateArena(src);
        var flags = MallocFlags.Arena(a);
        var got = new List<nint>();
        for (int i = 0; i < 100; i++)
        {
            void* p = Heap.MallocX(1 << 20, flags);
            if (p == null) break;
            got.Add((nint)p);
        }
        Assert.InRange(got.Count, 1, 8);
        Assert.True(Heap.MallocX(32 << 20, flags) == null);
        foreach (nint p in got) Heap.Free((void*)p);
        Heap.Validate();
        Heap.DestroyArena(a);
    }
}
