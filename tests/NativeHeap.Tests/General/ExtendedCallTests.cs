using System.Runtime.InteropServices;

namespace NativeHeap.Tests.General;

// Uses explicit thread caches, which Heap.Validate reads: runs apart from the tests that validate
// while it works (an explicit cache is used by one thread at a time, so another thread's Validate
// would see it half-changed and report a false double free).
[Collection("Serial")]
public unsafe class ExtendedCallTests
{
    [Fact]
    public void FlagsHaveJemallocsBitLayout()
    {
        // Values of jemalloc's macros: MALLOCX_LG_ALIGN(la) = la, MALLOCX_ALIGN(a) = ffs(a)-1,
        // MALLOCX_ZERO = 0x40, MALLOCX_TCACHE(tc) = (tc+2) << 8, MALLOCX_TCACHE_NONE = MALLOCX_TCACHE(-1),
        // MALLOCX_ARENA(a) = (a+1) << 20.
        Assert.Equal(12, MallocFlags.LgAlign(12).Value);
        Assert.Equal(6, MallocFlags.Align(64).Value);
        Assert.Equal(0x40, MallocFlags.Zero.Value);
        Assert.Equal(0x100, MallocFlags.NoThreadCache.Value);
        Assert.Equal((5 + 2) << 8, MallocFlags.ThreadCache(5).Value);
        Assert.Equal((3 + 1) << 20, MallocFlags.Arena(3).Value);
        var f = MallocFlags.Align(4096) | MallocFlags.Zero | MallocFlags.Arena(7) | MallocFlags.ThreadCache(9);
        Assert.Equal((nuint)4096, f.Alignment);
        Assert.True(f.IsZero);
        Assert.Equal(7, f.ArenaIndex);
        Assert.Equal(9, f.ThreadCacheId);
        Assert.Equal(-2, MallocFlags.NoThreadCache.ThreadCacheId);
        Assert.Equal(-1, MallocFlags.None.ThreadCacheId);
        Assert.Equal(-1, MallocFlags.None.ArenaIndex);
        Assert.Throws<ArgumentException>(() => MallocFlags.Align(48));
    }

    [Fact]
    public void MallocxHonoursAlignmentAndZeroOnReusedMemory()
    {
        foreach (nuint size in StandardCallTests.SweepSizes())
        {
            if (size > 6 << 20) break;
            // Dirty a block of the class, free it, and ask for zeroed memory of the same class.
            byte* dirty = (byte*)Heap.MallocX(size, 0);
            NativeMemory.Fill(dirty, Heap.UsableSize(dirty), 0xcd);
            Heap.Free(dirty);
            byte* p = (byte*)Heap.MallocX(size, MallocFlags.Zero);
            nuint usable = Heap.SallocX(p, 0);
            for (nuint i = 0; i < usable; i++)
                if (p[i] != 0) Assert.Fail($"mallocx({size}, ZERO): byte {i} of {usable} is {p[i]:x}");
            Assert.Equal(Heap.NallocX(size, MallocFlags.Zero), usable);
            Heap.DallocX(p, 0);
        }
        for (int lg = 1; lg <= 22; lg++)
        {
            var flags = MallocFlags.LgAlign(lg);
            void* p = Heap.MallocX(3000, flags);
            Assert.True(((nuint)p & (((nuint)1 << lg) - 1)) == 0);
            Assert.Equal(Heap.NallocX(3000, flags), Heap.SallocX(p, flags));
            Heap.SdallocX(p, 3000, flags);
        }
        Heap.Validate();
    }

    [Fact]
    public void RallocxMovesAndZeroesTheGrowth()
    {
        byte* p = (byte*)Heap.MallocX(100, 0);
        for (int i = 0; i < 100; i++) p[i] = (byte)i;
        byte* q = (byte*)Heap.RallocX(p, 50_000, MallocFlags.Zero);
        for (int i = 0; i < 100; i++) Assert.Equal((byte)i, q[i]);
        for (int i = 100; i < 50_000; i++) if (q[i] != 0) Assert.Fail($"byte {i} of the growth is not zero");
        byte* r = (byte*)Heap.RallocX(q, 10, MallocFlags.Align(256));
        Assert.True(((nuint)r & 255) == 0);
        for (int i = 0; i < 10; i++) Assert.Equal((byte)i, r[i]);
        Heap.DallocX(r, 0);
    }

    [Fact]
    public void XallocxResizesLargeBlocksInPlaceOnly()
    {
        int arena = Heap.CreateArena();   // an arena of our own: no other test places blocks next to ours
        var flags = MallocFlags.Arena(arena);
        byte* b = (byte*)Heap.MallocX(64 * 1024, flags);
        byte* a = (byte*)Heap.MallocX(64 * 1024, flags);
        // Runs are cut from the low end of a free run, so a lies just above b.
        Assert.True(b + 64 * 1024 == a, "test assumption: the second block follows the first");
        for (int i = 0; i < 64 * 1024; i++) b[i] = (byte)i;
        Heap.Free(a);
        nuint grown = Heap.XallocX(b, 128 * 1024, 0, 0);
        Assert.Equal((nuint)128 * 1024, grown);
        Assert.Equal(grown, Heap.UsableSize(b));
        for (int i = 0; i < 64 * 1024; i++) Assert.Equal((byte)i, b[i]);
        b[128 * 1024 - 1] = 1;
        // Cannot grow past the chunk's free pages... but can shrink, and size+extra takes what fits.
        nuint shrunk = Heap.XallocX(b, 20_000, 0, 0);
        Assert.Equal((nuint)20_480, shrunk);
        nuint withExtra = Heap.XallocX(b, 30_000, 70_000, 0);
        Assert.Equal(Heap.NallocX(100_000, 0), withExtra);
        for (int i = 0; i < 20_000; i++) Assert.Equal((byte)i, b[i]);
        // Small blocks keep their class: xallocx reports the unchanged size.
        void* s = Heap.MallocX(100, flags);
        Assert.Equal((nuint)112, Heap.XallocX(s, 5000, 0, 0));
        Heap.Free(s);
        Heap.Free(b);
        Heap.Validate();
        Heap.DestroyArena(arena);
    }

    [Fact]
    public void XallocxShrinksAndRegrowsHugeBlocksInPlace()
    {
        byte* p = (byte*)Heap.MallocX(12 << 20, 0);
        for (int i = 0; i < 8 << 20; i += 4096) p[i] = 3;
        Assert.Equal((nuint)(8 << 20), Heap.XallocX(p, 8 << 20, 0, 0));
        Assert.Equal((nuint)(8 << 20), Heap.SallocX(p, 0));
        nuint regrown = Heap.XallocX(p, 12 << 20, 0, 0);
        // Growing needs the address range after the block to be free; it usually is right after a shrink.
        Assert.True(regrown == (nuint)(12 << 20) || regrown == (nuint)(8 << 20));
        for (int i = 0; i < 8 << 20; i += 4096) Assert.Equal(3, p[i]);
        Heap.Free(p);
        Heap.Validate();
    }

    [Fact]
    public void SizedFreeAcceptsAnySizeOfTheClass()
    {
        for (nuint size = 1; size < 40_000; size += 97)
        {
            void* p = Heap.Malloc(size);
            Heap.SizedFree(p, size);
            void* q = Heap.MallocX(size, 0);
            Heap.SdallocX(q, Heap.UsableSize(q), 0);
        }
        Heap.Validate();
    }

    [Fact]
    public void ExplicitThreadCachesServeAndFlush()
    {
        int tc = Heap.CreateThreadCache();
        var flags = MallocFlags.ThreadCache(tc);
        var ptrs = new nint[500];
        for (int i = 0; i < ptrs.Length; i++) ptrs[i] = (nint)Heap.MallocX((nuint)(16 + i % 300), flags);
        for (int i = 0; i < ptrs.Length; i++) Heap.DallocX((void*)ptrs[i], flags);
        Heap.FlushThreadCache(tc);
        void* p = Heap.MallocX(64, flags | MallocFlags.Zero);
        Assert.Equal(0L, *(long*)p);
        Heap.DallocX(p, MallocFlags.NoThreadCache);
        Heap.DestroyThreadCache(tc);
        Assert.Throws<ArgumentOutOfRangeException>(() => Heap.MallocX(64, flags));
        Heap.Validate();
    }

    [Fact]
    public void ThreadCountersTrackUsableBytes()
    {
        TestThreads.Run(() =>
        {
            ulong a0 = Heap.ThreadAllocatedBytes, d0 = Heap.ThreadDeallocatedBytes;
            ulong* ap = Heap.ThreadAllocatedPointer;
            void* p = Heap.Malloc(100);     // 112
            void* q = Heap.Malloc(20_000);  // 20480
            void* r = Heap.Malloc(5 << 20); // huge
            Assert.Equal(a0 + 112 + 20_480 + (5UL << 20), Heap.ThreadAllocatedBytes);
            Assert.Equal(Heap.ThreadAllocatedBytes, *ap);
            Heap.Free(p);
            Heap.Free(q);
            Heap.Free(r);
            Assert.Equal(d0 + 112 + 20_480 + (5UL << 20), Heap.ThreadDeallocatedBytes);
        });
    }
}
