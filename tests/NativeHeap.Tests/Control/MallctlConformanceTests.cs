using System.Runtime.InteropServices;
using NativeHeap.Control;

namespace NativeHeap.Tests.Control;

/// <summary>jemalloc 5.3's mallctl error rules and thread.arena semantics (issue 17).</summary>
public unsafe class MallctlConformanceTests
{
    [Fact]
    public void WritingAReadOnlyNameIsEpermWhateverTheSize()
    {
        ulong v = 8192;
        Assert.Equal(CtlStatus.ReadOnly, HeapControl.Ctl("arenas.page", null, null, &v, 8));
        Assert.Equal(CtlStatus.ReadOnly, HeapControl.Ctl("arenas.page", null, null, &v, 4));   // wrong size: still EPERM
        Assert.Equal(CtlStatus.ReadOnly, HeapControl.Ctl("arenas.page", null, null, &v, 1));
        Assert.Equal(CtlStatus.ReadOnly, HeapControl.Ctl("arenas.page", null, null, null, 8));  // a length alone is a write
        Assert.Equal(CtlStatus.ReadOnly, HeapControl.Ctl("version", null, null, &v, 3));
        // Write-only: an oldlenp alone is a read attempt.
        nuint len = 4;
        Assert.Equal(CtlStatus.ReadOnly, HeapControl.Ctl("tcache.flush", null, &len, null, 0));
        // Actions take neither.
        Assert.Equal(CtlStatus.ReadOnly, HeapControl.Ctl("arena.0.purge", null, null, null, 4));
        // A writable node with a wrong size stays EINVAL.
        Assert.Equal(CtlStatus.Invalid, HeapControl.Ctl("arena.0.dirty_decay_ms", null, null, &v, 4));
    }

    [Fact]
    public void APartialNameIsNotFound()
    {
        Assert.Equal(CtlStatus.NotFound, HeapControl.Read("stats", out ulong _));
        Assert.Equal(CtlStatus.NotFound, HeapControl.Read("stats.arenas.0", out ulong _));
        Assert.Equal(CtlStatus.NotFound, HeapControl.Read("arenas.page.x", out ulong _));
    }

    [Fact]
    public void NameToMibWithAShortBufferGivesThePartialMib()
    {
        Span<nuint> full = stackalloc nuint[HeapControl.MaxMibLength];
        Assert.Equal(CtlStatus.Ok, HeapControl.NameToMib("stats.arenas.0.bins.3.nmalloc", full, out int n));
        Assert.Equal(6, n);
        Span<nuint> shortMib = stackalloc nuint[3];
        Assert.Equal(CtlStatus.Ok, HeapControl.NameToMib("stats.arenas.0.bins.3.nmalloc", shortMib, out int m));
        Assert.Equal(3, m);
        Assert.True(shortMib.SequenceEqual(full[..3]));
        // The partial MIB completed by hand reaches the leaf.
        Span<nuint> completed = stackalloc nuint[6];
        shortMib.CopyTo(completed);
        full[3..6].CopyTo(completed[3..]);
        Assert.Equal(CtlStatus.Ok, HeapControl.Read(completed, out ulong _));
        // A bad component past the buffer is not looked at (jemalloc stops at *miblenp).
        Assert.Equal(CtlStatus.Ok, HeapControl.NameToMib("stats.arenas.0.nosuch", shortMib, out m));
        Assert.Equal(3, m);
        Assert.Equal(CtlStatus.NotFound, HeapControl.NameToMib("stats.nosuch", shortMib, out _));
    }

    [Fact]
    public void NarenasAgreeAndArenaZeroIsInitialised()
    {
        Assert.Equal(CtlStatus.Ok, HeapControl.Read("opt.narenas", out uint opt));
        Assert.Equal(CtlStatus.Ok, HeapControl.Read("arenas.narenas", out uint total));
        Assert.Equal((uint)Heap.AutomaticArenaCount, opt);
        Assert.True(total >= opt);
        Assert.Equal(CtlStatus.Ok, HeapControl.Read("stats.arenas.0.pactive", out ulong _));
    }

    [Fact]
    public void ThreadArenaAcceptsAnArenaMadeByArenasCreate()
    {
        Assert.Equal(CtlStatus.Ok, HeapControl.Read("arenas.create", out uint arena));
        TestThreads.Run(() =>
        {
            Heap.Free(Heap.Malloc(8));
            HeapControl.Read("thread.arena", out uint home);
            Assert.Equal(CtlStatus.Ok, HeapControl.Exchange("thread.arena", arena, out uint was));
            Assert.Equal(home, was);
            HeapControl.Read("thread.arena", out uint now);
            Assert.Equal(arena, now);
            void* small = Heap.Malloc(64);
            void* large = Heap.Malloc(100_000);
            foreach (nint p in new[] { (nint)small, (nint)large })
            {
                void* q = (void*)p;
                uint owner = 0;
                nuint len = 4;
                Assert.Equal(CtlStatus.Ok, HeapControl.Ctl("arenas.lookup", &owner, &len, &q, (nuint)sizeof(void*)));
                Assert.Equal(arena, owner);
            }
            Heap.Free(small);
            Heap.Free(large);
            // jemalloc refuses to destroy an arena a thread is attached to (EFAULT).
            Assert.Equal(CtlStatus.Fault, HeapControl.Execute($"arena.{arena}.destroy"));
            Assert.True(Heap.ArenaExists((int)arena));
            Assert.Equal(CtlStatus.Ok, HeapControl.Write("thread.arena", home));
            Assert.Equal(CtlStatus.Ok, HeapControl.Execute("thread.tcache.flush"));
            Assert.Equal(CtlStatus.NotFound, HeapControl.Write("thread.arena", 4000u));
        });
        Assert.Equal(CtlStatus.Ok, HeapControl.Execute($"arena.{arena}.destroy"));
        Assert.Equal(CtlStatus.NotFound, HeapControl.Write("thread.arena", arena));
    }
}
