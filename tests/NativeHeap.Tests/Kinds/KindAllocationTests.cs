// The calls of a kind (malloc, calloc, aligned, posix_memalign, realloc, free, usable size) and the
// bare-pointer calls (Free, ReallocAny, UsableSize, DetectKind) on every kind that works everywhere,
// with the block traced to the kind's own arenas through the page map.
using System.Runtime.InteropServices;
using NativeHeap.Core;
using NativeHeap.General;
using NativeHeap.Kinds;

namespace NativeHeap.Tests.Kinds;

public sealed unsafe class KindAllocationTests
{
    private static readonly nuint[] Sizes = [1, 8, 16, 24, 64, 100, 1024, 4000, 14336, 16384, 40000, 65536, 1 << 20, 3 << 20, 9 << 20];

    internal static int ArenaOf(void* p) => ((Chunk*)PageMap.Lookup(p))->Arena->Index;

    private static MemoryKind NewKind(string name, KindOptions? options = null)
    {
        Assert.True(MemoryKind.TryCreate(name, OsMemorySource.Instance, options, out MemoryKind? kind, out string error), error);
        return kind!;
    }

    [Fact]
    public void EverySizeComesFromTheKindsArenasAndIsDetected()
    {
        MemoryKind kind = NewKind("alloc-sizes");
        try
        {
            foreach (nuint size in Sizes)
            {
                byte* p = (byte*)kind.Malloc(size);
                Assert.True(p != null, $"size {size}");
                Assert.Contains(ArenaOf(p), kind.ArenaIndices);
                Assert.Same(kind, MemoryKind.DetectKind(p));
                Assert.Same(kind, MemoryKind.DetectKind(p + size - 1));   // any interior byte
                Assert.True(MemoryKind.UsableSize(p) >= size);
                NativeMemory.Fill(p, size, 0x77);
                MemoryKind.Free(p);
            }
        }
        finally
        {
            Assert.True(kind.TryDestroy(out string e), e);
        }
    }

    [Fact]
    public void HeapPointersAreDefaultAndForeignPointersHaveNoKind()
    {
        void* h = Heap.Malloc(100);
        void* huge = Heap.Malloc(5 << 20);
        int local = 0;
        Assert.Same(MemoryKind.Default, MemoryKind.DetectKind(h));
        Assert.Same(MemoryKind.Default, MemoryKind.DetectKind(huge));
        Assert.Null(MemoryKind.DetectKind(&local));
        Assert.Null(MemoryKind.DetectKind(null));
        void* d = MemoryKind.Default.Malloc(64);
        Assert.Same(MemoryKind.Default, MemoryKind.DetectKind(d));
        MemoryKind.Free(h);
        MemoryKind.Free(huge);
        MemoryKind.Free(d);
        nint foreign = (nint)(&local);
        Assert.Throws<HeapMisuseException>(() => MemoryKind.Free((void*)foreign));
    }

    [Fact]
    public void CallocZeroesReusedMemoryAndRejectsOverflow()
    {
        MemoryKind kind = NewKind("calloc");
        try
        {
            foreach (nuint size in new nuint[] { 64, 4096, 100_000, 5 << 20 })
            {
                byte* dirty = (byte*)kind.Malloc(size);
                NativeMemory.Fill(dirty, size, 0xff);
                MemoryKind.Free(dirty);
                byte* p = (byte*)kind.Calloc(1, size);
                Assert.True(p != null);
                Assert.Same(kind, MemoryKind.DetectKind(p));
                for (nuint i = 0; i < size; i += 61) Assert.Equal(0, p[i]);
                MemoryKind.Free(p);
            }
            Assert.True(kind.Calloc(nuint.MaxValue / 2, 3) == null);
        }
        finally
        {
            kind.TryDestroy(out _);
        }
    }

    [Fact]
    public void AlignedAllocAndPosixMemalignHonourEveryAlignment()
    {
        MemoryKind kind = NewKind("aligned");
        try
        {
            for (int lg = 0; lg <= 23; lg++)
            {
                nuint align = (nuint)1 << lg;
                foreach (nuint size in new nuint[] { 1, 40, 3000, 70_000 })
                {
                    void* p = kind.AlignedAlloc(align, size);
                    Assert.True(p != null, $"align {align} size {size}");
                    Assert.Equal((nuint)0, (nuint)p & (align - 1));
                    Assert.Same(kind, MemoryKind.DetectKind(p));
                    Assert.True(MemoryKind.UsableSize(p) >= size);
                    MemoryKind.Free(p);
                }
            }
            Assert.True(kind.AlignedAlloc(48, 10) == null);
            Assert.Equal(22, kind.PosixMemalign(out void* bad, 4, 10));
            Assert.True(bad == null);
            Assert.Equal(0, kind.PosixMemalign(out void* ok, 4096, 10));
            Assert.Equal((nuint)0, (nuint)ok & 4095);
            MemoryKind.Free(ok);
        }
        finally
        {
            kind.TryDestroy(out _);
        }
    }

    [Fact]
    public void ReallocKeepsContentsAndMovesBlocksIntoTheKind()
    {
        MemoryKind a = NewKind("realloc-a"), b = NewKind("realloc-b");
        try
        {
            byte* p = (byte*)a.Malloc(10);
            for (int i = 0; i < 10; i++) p[i] = (byte)i;
            nuint[] steps = [20, 200, 5000, 40_000, 3 << 20, 12 << 20, 100, 7];
            foreach (nuint s in steps)
            {
                p = (byte*)a.Realloc(p, s);
                Assert.True(p != null);
                Assert.Same(a, MemoryKind.DetectKind(p));
                for (int i = 0; i < 7; i++) Assert.Equal((byte)i, p[i]);
            }
            // Realloc into another kind moves the block there.
            p = (byte*)b.Realloc(p, 64);
            Assert.Same(b, MemoryKind.DetectKind(p));
            for (int i = 0; i < 7; i++) Assert.Equal((byte)i, p[i]);
            // The bare-pointer realloc stays in the pointer's kind.
            p = (byte*)MemoryKind.ReallocAny(p, 100_000);
            Assert.Same(b, MemoryKind.DetectKind(p));
            for (int i = 0; i < 7; i++) Assert.Equal((byte)i, p[i]);
            Assert.True(MemoryKind.ReallocAny(p, 0) == null);   // frees
            void* fromNull = MemoryKind.ReallocAny(null, 32);
            Assert.Same(MemoryKind.Default, MemoryKind.DetectKind(fromNull));
            MemoryKind.Free(fromNull);
        }
        finally
        {
            a.TryDestroy(out _);
            b.TryDestroy(out _);
        }
    }

    [Fact]
    public void HeapFreeAndKindFreeAreInterchangeable()
    {
        MemoryKind kind = NewKind("interchangeable");
        try
        {
            var blocks = new List<nint>();
            for (int i = 0; i < 500; i++) blocks.Add((nint)kind.Malloc((nuint)(16 + i * 37 % 20000)));
            for (int i = 0; i < blocks.Count; i++)
            {
                if (i % 2 == 0) Heap.Free((void*)blocks[i]);
                else MemoryKind.Free((void*)blocks[i]);
            }
            kind.Purge();
            Assert.Equal(0, kind.GetStats().Allocated);
            Heap.Validate();
        }
        finally
        {
            kind.TryDestroy(out _);
        }
    }

    [Fact]
    public void FastPathsAllocateNoManagedMemory()
    {
        MemoryKind kind = NewKind("no-gc");
        try
        {
            void* warm = kind.Malloc(64);
            MemoryKind.Free(warm);
            for (int i = 0; i < 1000; i++) MemoryKind.Free(kind.Malloc(1024));
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 100_000; i++)
            {
                void* p = kind.Malloc(64);
                void* q = kind.Malloc(1024);
                if (MemoryKind.DetectKind(p) != kind) throw new InvalidOperationException("wrong kind");
                MemoryKind.Free(q);
                MemoryKind.Free(p);
            }
            long after = GC.GetAllocatedBytesForCurrentThread();
            Assert.Equal(0, after - before);
        }
        finally
        {
            kind.TryDestroy(out _);
        }
    }

    [Fact]
    public void DestroyedKindRefusesUseAndItsSlotIsReused()
    {
        MemoryKind kind = NewKind("destroy-me");
        int[] arenas = [.. kind.ArenaIndices];
        for (int i = 0; i < 100; i++) kind.Malloc(1000);   // left live: destroy frees them
        void* huge = kind.Malloc(6 << 20);
        Assert.True(huge != null);
        Assert.True(kind.TryDestroy(out string e), e);
        Assert.True(kind.IsDestroyed);
        Assert.False(kind.TryDestroy(out e));
        Assert.Contains("already", e);
        Assert.Throws<ObjectDisposedException>(() => kind.Malloc(20_000_000));
        // Its memory is gone from the page map (huge mapping released).
        Assert.True(PageMap.Lookup(huge) == null);
        Assert.False(MemoryKind.Default.TryDestroy(out e));
        MemoryKind again = NewKind("after-destroy");
        try
        {
            Assert.Equal(kind.Slot, again.Slot);
            void* p = again.Malloc(1000);
            Assert.Same(again, MemoryKind.DetectKind(p));
            Assert.DoesNotContain(ArenaOf(p), arenas.Except(again.ArenaIndices));
            MemoryKind.Free(p);
        }
        finally
        {
            again.TryDestroy(out _);
        }
    }

    [Fact]
    public void CheckedModeCatchesMisuseOfKindBlocks() => ChildProcess.AssertOk("kinds-checked", "checked:true");

    [Fact]
    public void DestroyDropsTheCachesOfLiveThreads()
    {
        MemoryKind kind = NewKind("destroy-live");
        using var cached = new ManualResetEventSlim();
        using var destroyed = new ManualResetEventSlim();
        Exception? afterDestroy = null;
        var t = new Thread(() =>
        {
            for (int i = 0; i < 100; i++) MemoryKind.Free(kind.Malloc(64));   // leaves blocks in this thread's cache
            cached.Set();
            destroyed.Wait();
            try
            {
                kind.Malloc(64);
            }
            catch (Exception e)
            {
                afterDestroy = e;
            }
        });
        t.Start();
        cached.Wait();
        Assert.Equal(1, kind.GetStats().ThreadCaches);
        Assert.True(kind.TryDestroy(out string error), error);
        destroyed.Set();
        t.Join();
        Assert.IsType<ObjectDisposedException>(afterDestroy);
        Heap.Validate();
    }

    [Fact]
    public void StatsFollowAllocations()
    {
        MemoryKind kind = NewKind("stats", new KindOptions { ArenaPolicy = KindArenaPolicy.Single });
        try
        {
            KindStats s0 = kind.GetStats();
            Assert.Equal(1, s0.Arenas);
            Assert.Equal(0, s0.Allocated);
            void* small = kind.Malloc(1000);
            void* huge = kind.Malloc(5 << 20);
            KindStats s1 = kind.GetStats();
            Assert.True(s1.Allocated >= (long)(MemoryKind.UsableSize(small) + MemoryKind.UsableSize(huge)));
            Assert.Equal(1, s1.HugeBlocks);
            Assert.True(s1.Mapped >= (5 << 20) + (4 << 20));
            Assert.True(s1.SourceAllocations >= 2);
            Assert.True(s1.Active <= s1.Resident && s1.Resident <= s1.Mapped);
            MemoryKind.Free(huge);
            MemoryKind.Free(small);
            kind.Purge();
            KindStats s2 = kind.GetStats();
            Assert.Equal(0, s2.Allocated);
            Assert.Equal(0, s2.HugeBlocks);
        }
        finally
        {
            kind.TryDestroy(out _);
        }
    }
}
