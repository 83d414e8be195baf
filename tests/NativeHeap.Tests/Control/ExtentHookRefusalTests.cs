using System.Runtime.InteropServices;
using NativeHeap.Control;
using NativeHeap.General;

namespace NativeHeap.Tests.Control;

/// <summary>
/// A memory source (or C extent hooks) may refuse any operation ("true = not done" in C). Every refusal
/// is honoured without retrying in a loop: a refused purge leaves the run dirty, arena.&lt;i&gt;.purge
/// returns, and the run is purged by a later purge once the source agrees.
/// </summary>
public unsafe class ExtentHookRefusalTests
{
    /// <summary>The default source, with switches that refuse each operation and counters of every call.</summary>
    private sealed class RefusingSource : IMemorySource
    {
        public volatile bool RefuseLazy, RefuseForced, RefuseRelease, RefuseSplit, RefuseMerge;
        public int Lazy, Forced, Releases, Splits, Merges;

        public void* Allocate(void* at, nuint size, nuint alignment, out bool zeroed) => OsMemorySource.Instance.Allocate(at, size, alignment, out zeroed);
        public bool TryRelease(void* address, nuint size)
        {
            Interlocked.Increment(ref Releases);
            return !RefuseRelease && OsMemorySource.Instance.TryRelease(address, size);
        }
        public bool TryCommit(void* address, nuint size) => OsMemorySource.Instance.TryCommit(address, size);
        public bool TryDecommit(void* address, nuint size) => OsMemorySource.Instance.TryDecommit(address, size);
        public bool TryPurgeLazy(void* address, nuint size)
        {
            Interlocked.Increment(ref Lazy);
            return !RefuseLazy && OsMemorySource.Instance.TryPurgeLazy(address, size);
        }
        public bool TryPurgeForced(void* address, nuint size)
        {
            Interlocked.Increment(ref Forced);
            return !RefuseForced && OsMemorySource.Instance.TryPurgeForced(address, size);
        }
        public bool TrySplit(void* address, nuint size, nuint firstSize)
        {
            Interlocked.Increment(ref Splits);
            return !RefuseSplit;
        }
        public bool TryMerge(void* first, nuint firstSize, void* second, nuint secondSize)
        {
            Interlocked.Increment(ref Merges);
            return !RefuseMerge;
        }
    }

    private static ulong Stat(string name)
    {
        Assert.Equal(CtlStatus.Ok, HeapControl.Write("epoch", 1UL));
        Assert.Equal(CtlStatus.Ok, HeapControl.Read(name, out ulong v));
        return v;
    }

    [Fact]
    public void RefusedPurgesLeaveTheRunDirtyAndPurgeReturns()
    {
        var src = new RefusingSource { RefuseLazy = true, RefuseForced = true };
        int arena = Heap.CreateArena(src);
        try
        {
            void* p = Heap.MallocX(1 << 20, MallocFlags.Arena(arena) | MallocFlags.NoThreadCache);
            Assert.True(p != null);
            Heap.DallocX(p, MallocFlags.NoThreadCache);
            Assert.Equal(CtlStatus.Ok, HeapControl.Execute($"arena.{arena}.purge"));   // returns (it used to loop forever)
            Assert.True(src.Forced >= 1, "the forced purge was asked");
            int asked = src.Lazy + src.Forced;
            Assert.True(asked <= 4, $"a refused run was asked {asked} times in one purge");
            Assert.True(Stat($"stats.arenas.{arena}.pdirty") >= 256, "the refused run stays dirty");
            Assert.Equal(CtlStatus.Ok, HeapControl.Execute($"arena.{arena}.decay"));
            Assert.Equal(CtlStatus.Ok, HeapControl.Execute("arena.4096.purge"));

            // Once the source agrees, the next purge purges it.
            src.RefuseForced = false;
            Assert.Equal(CtlStatus.Ok, HeapControl.Execute($"arena.{arena}.purge"));
            Assert.Equal(0UL, Stat($"stats.arenas.{arena}.pdirty"));
        }
        finally
        {
            Heap.DestroyArena(arena);
        }
    }

    [Fact]
    public void ARefusedLazyPurgeFallsBackToTheForcedOne()
    {
        var src = new RefusingSource { RefuseLazy = true };
        int arena = Heap.CreateArena(src);
        try
        {
            Heap.SetArenaDecay(arena, 1, 10_000);      // dirty → muzzy lazily after 1 ms
            void* p = Heap.MallocX(1 << 20, MallocFlags.Arena(arena) | MallocFlags.NoThreadCache);
            Heap.DallocX(p, MallocFlags.NoThreadCache);
            Thread.Sleep(5);
            Assert.Equal(CtlStatus.Ok, HeapControl.Execute($"arena.{arena}.decay"));
            Assert.True(src.Lazy >= 1 && src.Forced >= 1, $"lazy {src.Lazy}, forced {src.Forced}");
            Assert.Equal(0UL, Stat($"stats.arenas.{arena}.pdirty"));
            Assert.Equal(0UL, Stat($"stats.arenas.{arena}.pmuzzy"));
        }
        finally
        {
            Heap.DestroyArena(arena);
        }
    }

    [Fact]
    public void RefusedSplitMergeAndReleaseAreHonoured()
    {
        var src = new RefusingSource { RefuseSplit = true, RefuseMerge = true, RefuseRelease = true };
        int arena = Heap.CreateArena(src);
        try
        {
            const nuint MiB = 1 << 20;
            void* p = Heap.MallocX(12 * MiB, MallocFlags.Arena(arena) | MallocFlags.NoThreadCache);
            Assert.True(p != null);
            ulong mapped = Stat($"stats.arenas.{arena}.mapped");
            // Shrinking asks to split the mapping; refused, the block shrinks but the mapping stays whole.
            Assert.Equal(4 * MiB, Heap.XallocX(p, 4 * MiB, 0, MallocFlags.Arena(arena)));
            Assert.True(src.Splits >= 1);
            Assert.Equal(mapped, Stat($"stats.arenas.{arena}.mapped"));
            // Growing past the mapping needs a merge (when the address after it is free); refused or
            // unavailable, the block keeps its size and nothing is mapped for it.
            Assert.Equal(12 * MiB, Heap.XallocX(p, 12 * MiB, 0, MallocFlags.Arena(arena)));   // within the mapping: fine
            Assert.Equal(12 * MiB, Heap.XallocX(p, 40 * MiB, 0, MallocFlags.Arena(arena)));
            Assert.Equal(mapped, Stat($"stats.arenas.{arena}.mapped"));
            // Freeing retains the mapping (opt.retain); a purge asks to release it; refused, the heap
            // forgets the range and carries on.
            Heap.DallocX(p, MallocFlags.NoThreadCache);
            Assert.Equal(CtlStatus.Ok, HeapControl.Execute($"arena.{arena}.purge"));
            Assert.True(src.Releases >= 1);
            Assert.Equal(0UL, Stat($"stats.arenas.{arena}.huge.allocated"));
        }
        finally
        {
            Heap.DestroyArena(arena);
        }
    }

    // ---- the same through jemalloc's C extent_hooks_t ----

    private static ExtentHooksTable* s_defaults;
    private static int s_cPurges;

    [UnmanagedCallersOnly]
    private static byte RefusePurge(ExtentHooksTable* self, void* addr, nuint size, nuint offset, nuint length, uint arena)
    {
        Interlocked.Increment(ref s_cPurges);
        return 1;
    }

    [Fact]
    public void CHooksThatRefuseToPurgeDoNotHangArenaPurge()
    {
        nint table = 0;
        nuint len = 8;
        Assert.Equal(CtlStatus.Ok, HeapControl.Ctl("arena.0.extent_hooks", &table, &len, null, 0));
        s_defaults = (ExtentHooksTable*)table;
        var mine = (ExtentHooksTable*)NativeMemory.AllocZeroed((nuint)sizeof(ExtentHooksTable));
        *mine = *s_defaults;
        mine->PurgeLazy = &RefusePurge;
        mine->PurgeForced = &RefusePurge;
        uint arena = 0;
        nuint alen = 4;
        nint mineAddr = (nint)mine;
        Assert.Equal(CtlStatus.Ok, HeapControl.Ctl("arenas.create", &arena, &alen, &mineAddr, 8));
        int before = s_cPurges;
        void* p = Heap.MallocX(1 << 20, MallocFlags.Arena((int)arena) | MallocFlags.NoThreadCache);
        Heap.DallocX(p, MallocFlags.NoThreadCache);
        Assert.Equal(CtlStatus.Ok, HeapControl.Execute($"arena.{arena}.purge"));
        int asked = s_cPurges - before;
        Assert.True(asked is >= 1 and <= 4, $"purge hooks called {asked} times");
        Assert.True(Stat($"stats.arenas.{arena}.pdirty") >= 256);
        // A null purge hook is "not supported": also refused, also no loop.
        mine->PurgeLazy = null;
        mine->PurgeForced = null;
        Assert.Equal(CtlStatus.Ok, HeapControl.Execute($"arena.{arena}.purge"));
        Assert.Equal(CtlStatus.Ok, HeapControl.Execute($"arena.{arena}.destroy"));
        NativeMemory.Free(mine);
    }
}
