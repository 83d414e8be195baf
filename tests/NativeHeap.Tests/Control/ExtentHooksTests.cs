using System.Runtime.InteropServices;
using NativeHeap.Control;

namespace NativeHeap.Tests.Control;

/// <summary>arena.&lt;i&gt;.extent_hooks and arenas.create with hooks, through jemalloc's C table layout.</summary>
public unsafe class ExtentHooksTests
{
    private static ExtentHooksTable* s_default;
    private static int s_allocs, s_deallocs;

    [UnmanagedCallersOnly]
    private static void* CountingAlloc(ExtentHooksTable* self, void* at, nuint size, nuint alignment, byte* zero, byte* commit, uint arena)
    {
        Interlocked.Increment(ref s_allocs);
        return s_default->Alloc(s_default, at, size, alignment, zero, commit, arena);
    }

    [UnmanagedCallersOnly]
    private static byte CountingDalloc(ExtentHooksTable* self, void* addr, nuint size, byte committed, uint arena)
    {
        Interlocked.Increment(ref s_deallocs);
        return s_default->Dalloc(s_default, addr, size, committed, arena);
    }

    [Fact]
    public void DefaultHooksAreReadableAndAWrappingTableServesANewArena()
    {
        nint table = 0;
        nuint len = 8;
        Assert.Equal(CtlStatus.Ok, HeapControl.Ctl("arena.0.extent_hooks", &table, &len, null, 0));
        Assert.NotEqual(0, table);
        s_default = (ExtentHooksTable*)table;
        Assert.True(s_default->Alloc != null && s_default->Dalloc != null && s_default->PurgeForced != null);

        // A C-style table: counting alloc/dalloc around the defaults, the rest copied.
        var mine = (ExtentHooksTable*)NativeMemory.AllocZeroed((nuint)sizeof(ExtentHooksTable));
        *mine = *s_default;
        mine->Alloc = &CountingAlloc;
        mine->Dalloc = &CountingDalloc;
        uint arena = 0;
        nuint alen = 4;
        nint mineAddr = (nint)mine;
        Assert.Equal(CtlStatus.Ok, HeapControl.Ctl("arenas.create", &arena, &alen, &mineAddr, 8));
        int allocs0 = s_allocs, deallocs0 = s_deallocs;

        void* huge = Heap.MallocX(6 << 20, MallocFlags.Arena((int)arena));
        void* small = Heap.MallocX(100, MallocFlags.Arena((int)arena));
        Assert.True(huge != null && small != null);
        ((byte*)huge)[(6 << 20) - 1] = 1;
        Assert.True(s_allocs - allocs0 >= 2, $"alloc hook called {s_allocs - allocs0} times");
        Heap.Free(huge);
        // opt.retain keeps the freed mapping for reuse (as jemalloc); a purge gives it to the dalloc hook.
        Assert.Equal(CtlStatus.Ok, HeapControl.Execute($"arena.{arena}.purge"));
        Assert.True(s_deallocs - deallocs0 >= 1);

        // Reading the hooks back gives the caller's own table.
        nint back = 0;
        nuint blen = 8;
        Assert.Equal(CtlStatus.Ok, HeapControl.Ctl($"arena.{arena}.extent_hooks", &back, &blen, null, 0));
        Assert.Equal(mineAddr, back);
        Heap.Free(small);
        Assert.Equal(CtlStatus.Ok, HeapControl.Execute($"arena.{arena}.destroy"));
        Assert.True(s_deallocs - deallocs0 >= 2, "destroy returned the chunk through the hooks");
        NativeMemory.Free(mine);
    }

    [Fact]
    public void WritingNullHooksIsInvalid()
    {
        Assert.Equal(CtlStatus.Ok, HeapControl.Read("arenas.create", out uint arena));
        Assert.Equal(CtlStatus.Invalid, HeapControl.Write($"arena.{arena}.extent_hooks", (nint)0));
        Assert.Equal(CtlStatus.Ok, HeapControl.Execute($"arena.{arena}.destroy"));
    }
}
