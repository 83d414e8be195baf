using System.Runtime.InteropServices;
using NativeHeap.Control;

namespace NativeHeap.Tests.Control;

// Uses explicit thread caches, which Heap.Validate reads: runs apart from the tests that validate
// while it works (an explicit cache is used by one thread at a time, so another thread's Validate
// would see it half-changed and report a false double free).
[Collection("Serial")]
public unsafe class HeapControlTests
{
    [Fact]
    public void WalkingTheWholeTreeReadsEveryReadableNode()
    {
        var names = HeapControl.Names().ToList();
        Assert.Contains("version", names);
        Assert.Contains("stats.arenas.4096.bins.35.curslabs", names);
        Assert.Contains("arenas.lextent.0.size", names);
        int read = 0;
        foreach (string name in names)
        {
            Assert.Equal(CtlStatus.Ok, HeapControl.Describe(name, out CtlType type, out CtlAccess access));
            if ((access & CtlAccess.Read) == 0) continue;
            if (name is "arenas.create" or "tcache.create" or "arenas.lookup" or "kinds.lookup") continue;   // side effects / need input
            if (name == "arena.4096.retain_grow_limit") continue;                                          // EFAULT: one arena's budget, as jemalloc
            ulong value = 0;
            nuint len = HeapControl.SizeOf(type);
            CtlStatus st = HeapControl.Ctl(name, &value, &len, null, 0);
            Assert.True(st == CtlStatus.Ok, $"{name}: {st}");
            if (type == CtlType.String) Assert.NotEqual(0UL, value);
            read++;
        }
        Assert.True(read > 36 * 8, $"only {read} readable nodes");
        // Side-effecting reads, with clean-up.
        Assert.Equal(CtlStatus.Ok, HeapControl.Read("tcache.create", out uint cache));
        Assert.Equal(CtlStatus.Ok, HeapControl.Write("tcache.destroy", cache));
        Assert.Equal(CtlStatus.Ok, HeapControl.Read("arenas.create", out uint arena));
        Assert.Equal(CtlStatus.Ok, HeapControl.Execute($"arena.{arena}.destroy"));
    }

    [Fact]
    public void ErrorsHaveMallctlMeanings()
    {
        Assert.Equal(CtlStatus.NotFound, HeapControl.Read("no.such.name", out ulong _));
        Assert.Equal(CtlStatus.NotFound, HeapControl.Read("stats.arenas.99999.pactive", out ulong _));
        Assert.Equal(CtlStatus.NotFound, HeapControl.Read("arenas.bin.36.size", out ulong _));
        Assert.Equal(CtlStatus.NotFound, HeapControl.Read("stats", out ulong _));                // interior node (jemalloc: ENOENT)
        Assert.Equal(CtlStatus.Invalid, HeapControl.Read("arenas.page", out uint _));            // size_t read as 4 bytes
        Assert.Equal(CtlStatus.Ok, HeapControl.Read("opt.junk", out nint _));                   // a string read as its C pointer
        Assert.Equal(CtlStatus.ReadOnly, HeapControl.Write("arenas.page", 8192UL));
        Assert.Equal(CtlStatus.ReadOnly, HeapControl.Write("stats.allocated", 1UL));
        Assert.Equal(CtlStatus.ReadOnly, HeapControl.Read("tcache.flush", out uint _));        // write-only
        Assert.Equal(CtlStatus.ReadOnly, HeapControl.Read("arena.0.purge", out ulong _));       // action
        Assert.Equal(CtlStatus.NotFound, HeapControl.Execute("arena.4096.reset"));              // not for all arenas
        Assert.Equal(CtlStatus.Invalid, HeapControl.Execute("arena.0.reset"));                  // automatic arena
        Assert.Equal(CtlStatus.NotFound, HeapControl.Write("tcache.flush", 4000u));             // no such cache
        Assert.Equal(CtlStatus.Fault, HeapControl.Write("arena.0.dirty_decay_ms", -5L));        // jemalloc: EFAULT
    }

    [Fact]
    public void ByteLevelReadOfTheWrongLengthCopiesWhatFitsAndSaysInvalid()
    {
        ulong value = ulong.MaxValue;
        nuint len = 4;
        Assert.Equal(CtlStatus.Invalid, HeapControl.Ctl("arenas.page", &value, &len, null, 0));
        Assert.Equal((nuint)4, len);
        Assert.Equal(4096UL, value & 0xFFFF_FFFF);
        Assert.Equal(0xFFFF_FFFFUL, value >> 32);   // bytes beyond oldlen untouched
    }

    [Fact]
    public void StringsReadAsTypedValuesAndAsStaticUtf8FromC()
    {
        Assert.Equal(CtlStatus.Ok, HeapControl.Read("version", out string? version));
        Assert.Equal(HeapControl.Version, version);
        nint p = 0;
        nuint len = (nuint)sizeof(nint);
        Assert.Equal(CtlStatus.Ok, HeapControl.Ctl("opt.junk", &p, &len, null, 0));
        Assert.Equal(HeapOptions.JunkName(Heap.Options.Junk), Marshal.PtrToStringUTF8(p));
        Assert.Equal(CtlStatus.Invalid, HeapControl.Read("arenas.page", out string? _));
    }

    [Fact]
    public void MibIsTranslatedOnceAndReusedWithOtherIndices()
    {
        Span<nuint> mib = stackalloc nuint[HeapControl.MaxMibLength];
        Assert.Equal(CtlStatus.Ok, HeapControl.NameToMib("arenas.bin.0.size", mib, out int n));
        Assert.Equal(4, n);
        for (int j = 0; j < 36; j++)
        {
            mib[2] = (nuint)j;
            Assert.Equal(CtlStatus.Ok, HeapControl.Read(mib[..n], out ulong size));
            Assert.Equal(CtlStatus.Ok, HeapControl.Read($"arenas.bin.{j}.size", out ulong byName));
            Assert.Equal(byName, size);
            Assert.Equal((nuint)size, Heap.NallocX((nuint)size, default));
        }
        mib[2] = 36;
        Assert.Equal(CtlStatus.NotFound, HeapControl.Read(mib[..n], out ulong _));
        // A prefix translates too.
        Assert.Equal(CtlStatus.Ok, HeapControl.NameToMib("stats.arenas.0", mib, out n));
        Assert.Equal(3, n);
    }

    [Fact]
    public void ConstantsMatchTheHeap()
    {
        HeapControl.Read("arenas.page", out ulong page);
        HeapControl.Read("arenas.quantum", out ulong quantum);
        HeapControl.Read("arenas.nbins", out uint nbins);
        HeapControl.Read("arenas.nlextents", out uint nlextents);
        HeapControl.Read("arenas.lextent.0.size", out ulong firstLarge);
        HeapControl.Read("arenas.bin.35.nregs", out uint nregs);
        HeapControl.Read("arenas.bin.35.slab_size", out ulong slab);
        Assert.Equal(4096UL, page);
        Assert.Equal(16UL, quantum);
        Assert.Equal(36u, nbins);
        Assert.Equal(196u, nlextents);
        Assert.Equal(16384UL, firstLarge);
        HeapControl.Read("arenas.bin.35.size", out ulong size35);
        Assert.True(nregs * size35 <= slab && slab - nregs * size35 < size35);
        HeapControl.Read("arenas.narenas", out uint narenas);
        Assert.Equal((uint)Heap.ArenaCount, narenas);
    }

    [Fact]
    public void PerThreadCountersFollowEveryAllocation()
    {
        TestThreads.Run(RunCounters);

        static void RunCounters()
        {
            Heap.Free(Heap.Malloc(8));
            HeapControl.Read("thread.allocated", out ulong a0);
            HeapControl.Read("thread.deallocated", out ulong d0);
            HeapControl.Read("thread.allocatedp", out nint ap);
            HeapControl.Read("thread.deallocatedp", out nint dp);
            void* p = Heap.Malloc(100);
            void* q = Heap.Malloc(40_000);
            HeapControl.Read("thread.allocated", out ulong a1);
            Assert.Equal(a0 + 112 + 40960, a1);
            Assert.Equal(a1, *(ulong*)ap);
            Heap.Free(p);
            Heap.Free(q);
            HeapControl.Read("thread.deallocated", out ulong d1);
            Assert.Equal(d0 + 112 + 40960, d1);
            Assert.Equal(d1, *(ulong*)dp);
        }
    }

    [Fact]
    public void ArenasAndCachesAreCreatedTunedAndDestroyedByName()
    {
        Assert.Equal(CtlStatus.Ok, HeapControl.Read("arenas.create", out uint arena));
        Assert.True(Heap.ArenaExists((int)arena));
        Assert.Equal(CtlStatus.Ok, HeapControl.Exchange($"arena.{arena}.dirty_decay_ms", 1234L, out long oldDirty));
        Assert.Equal(Heap.Options.DirtyDecayMs, oldDirty);
        HeapControl.Read($"arena.{arena}.dirty_decay_ms", out long dirty);
        Assert.Equal(1234L, dirty);
        Assert.Equal(CtlStatus.Ok, HeapControl.Write($"arena.{arena}.muzzy_decay_ms", -1L));
        Assert.Equal((1234L, -1L), Heap.GetArenaDecay((int)arena));

        Assert.Equal(CtlStatus.Ok, HeapControl.Read("tcache.create", out uint cache));
        var flags = MallocFlags.Arena((int)arena) | MallocFlags.ThreadCache((int)cache);
        void* p = Heap.MallocX(3000, flags);
        Assert.True(p != null);
        void* lookup = p;
        uint owner = 0;
        nuint len = 4;
        Assert.Equal(CtlStatus.Ok, HeapControl.Ctl("arenas.lookup", &owner, &len, &lookup, (nuint)sizeof(void*)));
        Assert.Equal(arena, owner);
        Heap.DallocX(p, MallocFlags.ThreadCache((int)cache));
        Assert.Equal(CtlStatus.Ok, HeapControl.Write("tcache.flush", cache));
        Assert.Equal(CtlStatus.Ok, HeapControl.Write("tcache.destroy", cache));
        Assert.Equal(CtlStatus.NotFound, HeapControl.Write("tcache.flush", cache));

        Assert.Equal(CtlStatus.Ok, HeapControl.Execute($"arena.{arena}.purge"));
        Assert.Equal(CtlStatus.Ok, HeapControl.Execute($"arena.{arena}.decay"));
        Assert.Equal(CtlStatus.Ok, HeapControl.Execute($"arena.{arena}.reset"));
        Assert.Equal(CtlStatus.Ok, HeapControl.Execute($"arena.{arena}.destroy"));
        Assert.False(Heap.ArenaExists((int)arena));
        Assert.Equal(CtlStatus.NotFound, HeapControl.Execute($"arena.{arena}.purge"));
        Assert.Equal(CtlStatus.Ok, HeapControl.Execute("arena.4096.purge"));
    }

    [Fact]
    public void ThreadSettingsAreReadAndWritten()
    {
        TestThreads.Run(() =>
        {
            Heap.Free(Heap.Malloc(8));
            Assert.Equal(CtlStatus.Ok, HeapControl.Exchange("thread.tcache.enabled", false, out bool was));
            Assert.True(was);
            Assert.False(Heap.CurrentThreadCacheEnabled);
            Assert.Equal(CtlStatus.Ok, HeapControl.Write("thread.tcache.enabled", true));
            Assert.Equal(CtlStatus.Ok, HeapControl.Execute("thread.tcache.flush"));
            int other = (Heap.CurrentThreadArena + 1) % Heap.AutomaticArenaCount;
            Assert.Equal(CtlStatus.Ok, HeapControl.Write("thread.arena", (uint)other));
            HeapControl.Read("thread.arena", out uint now);
            Assert.Equal((uint)other, now);
        });
    }

    [Fact]
    public void EpochRefreshesTheSnapshotAndStatsAreConsistent()
    {
        HeapControl.Read("epoch", out ulong e0);
        Assert.Equal(CtlStatus.Ok, HeapControl.Write("epoch", 1UL));
        HeapControl.Read("epoch", out ulong e1);
        Assert.True(e1 > e0);
        HeapControl.Read("stats.allocated", out ulong allocated);
        HeapControl.Read("stats.active", out ulong active);
        HeapControl.Read("stats.resident", out ulong resident);
        HeapControl.Read("stats.mapped", out ulong mapped);
        HeapControl.Read("stats.metadata", out ulong metadata);
        Assert.True(allocated <= active + 4096 * 64, $"allocated {allocated} active {active}");
        Assert.True(active <= resident && resident <= mapped, $"active {active} resident {resident} mapped {mapped}");
        Assert.True(metadata > 0);
        // Merged bins are the sum of the arenas' bins in the same snapshot.
        HeapControl.Read("arenas.narenas", out uint n);
        ulong sum = 0;
        for (uint i = 0; i < n; i++)
            if (HeapControl.Read($"stats.arenas.{i}.bins.3.nmalloc", out ulong v) == CtlStatus.Ok) sum += v;
        HeapControl.Read("stats.arenas.4096.bins.3.nmalloc", out ulong merged);
        Assert.Equal(sum, merged);
    }

    [Fact]
    public void BackgroundThreadCanBeSwitchedAtRunTime()
    {
        bool before = Heap.BackgroundThreadEnabled;
        try
        {
            Assert.Equal(CtlStatus.Ok, HeapControl.Write("background_thread", true));
            Assert.True(Heap.BackgroundThreadEnabled);
            HeapControl.Read("background_thread", out bool on);
            Assert.True(on);
        }
        finally
        {
            HeapControl.Write("background_thread", before);
        }
    }
}

public unsafe class KindControlTests
{
    [Fact]
    public void KindsAppearInTheNamespaceWithTheirStatistics()
    {
        Assert.True(NativeHeap.Kinds.MemoryKind.TryCreate("ctl-test", new NativeHeap.General.OsMemorySource(), new NativeHeap.Kinds.KindOptions(), out NativeHeap.Kinds.MemoryKind? kind, out string error), error);
        try
        {
            void* p = kind!.Malloc(100_000);
            Assert.True(p != null);
            HeapControl.Write("epoch", 1UL);
            HeapControl.Read("kinds.count", out uint count);
            Assert.True(count >= 2);
            int id = kind.Id;
            Assert.Equal(CtlStatus.Ok, HeapControl.Read($"kind.{id}.name", out string? name));
            Assert.Equal("ctl-test", name);
            HeapControl.Read($"stats.kinds.{id}.allocated", out ulong allocated);
            Assert.True(allocated >= 100_000, $"allocated {allocated}");
            HeapControl.Read($"stats.kinds.{id}.mapped", out ulong mapped);
            Assert.True(mapped >= allocated);
            HeapControl.Read("kind.0.name", out string? def);
            Assert.Equal("default", def);
            void* lookup = p;
            uint owner = 0;
            nuint len = 4;
            Assert.Equal(CtlStatus.Ok, HeapControl.Ctl("kinds.lookup", &owner, &len, &lookup, 8));
            Assert.Equal((uint)id, owner);
            Assert.Equal(CtlStatus.Ok, HeapControl.Execute($"kind.{id}.purge"));
            Assert.Contains(HeapControl.Names(), n => n == $"stats.kinds.{id}.source_failures");
            string json = HeapControl.FormatStats("Jg");
            Assert.Contains("\"ctl-test\"", json);
            NativeHeap.Kinds.MemoryKind.Free(p);
        }
        finally
        {
            Assert.True(kind!.TryDestroy(out _));
        }
        HeapControl.Write("epoch", 1UL);
        Assert.Equal(CtlStatus.NotFound, HeapControl.Read($"kind.{kind.Id}.name", out string? _));
    }
}
