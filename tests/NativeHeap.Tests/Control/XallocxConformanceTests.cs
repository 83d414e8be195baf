using System.Runtime.InteropServices;

namespace NativeHeap.Tests.Control;

/// <summary>
/// xallocx as jemalloc 5.3 documents it: in place only; large blocks grow into the free pages above them
/// (a new block is carved from the low end of a free run, so the newest block has room above it);
/// a large block is never shrunk into a small size class; MALLOCX_ZERO zeroes the bytes gained.
/// Each test uses a fresh explicit arena so placement is not disturbed by other tests.
/// </summary>
public unsafe class XallocxConformanceTests
{
    private static MallocFlags In(int arena) => MallocFlags.Arena(arena) | MallocFlags.NoThreadCache;

    [Fact]
    public void TheNewestLargeBlockGrowsInPlace()
    {
        int arena = Heap.CreateArena();
        try
        {
            void* p = Heap.MallocX(100_000, In(arena));
            Assert.Equal((nuint)114_688, Heap.SallocX(p, 0));
            Assert.Equal((nuint)229_376, Heap.XallocX(p, 200_000, 0, In(arena)));     // jemalloc's figure
            Assert.Equal((nuint)229_376, Heap.SallocX(p, 0));
            // Shrinking large to large in place, then growing back into the freed tail.
            Assert.Equal((nuint)114_688, Heap.XallocX(p, 100_000, 0, In(arena)));
            Assert.Equal((nuint)262_144, Heap.XallocX(p, 200_000, 50_000, In(arena)));  // size + extra honoured up to 256 KiB
            Heap.DallocX(p, MallocFlags.NoThreadCache);
        }
        finally
        {
            Heap.DestroyArena(arena);
        }
    }

    [Fact]
    public void ABlockGrowsIntoTheFreeRunThatFollowsIt()
    {
        int arena = Heap.CreateArena();
        try
        {
            void* p = Heap.MallocX(40_000, In(arena));
            void* q = Heap.MallocX(40_000, In(arena));
            void* r = Heap.MallocX(40_000, In(arena));
            Assert.Equal((nint)p + 40_960, (nint)q);                                    // carved upward, adjacent
            Assert.Equal((nuint)40_960, Heap.XallocX(p, 60_000, 0, In(arena)));         // q is in the way
            Heap.DallocX(q, MallocFlags.NoThreadCache);
            Assert.Equal((nuint)81_920, Heap.XallocX(p, 80_000, 0, In(arena)));         // q's pages were free
            Assert.Equal((nuint)81_920, Heap.XallocX(p, 100_000, 0, In(arena)));        // r is in the way: unchanged
            Heap.DallocX(p, MallocFlags.NoThreadCache);
            Heap.DallocX(r, MallocFlags.NoThreadCache);
        }
        finally
        {
            Heap.DestroyArena(arena);
        }
    }

    [Fact]
    public void ALargeBlockIsNeverShrunkIntoASmallClass()
    {
        int arena = Heap.CreateArena();
        try
        {
            void* p = Heap.MallocX(100_000, In(arena));
            Assert.Equal((nuint)114_688, Heap.XallocX(p, 14_336, 0, In(arena)));        // small_max: refused, unchanged
            Assert.Equal((nuint)114_688, Heap.XallocX(p, 100, 0, In(arena)));
            Assert.Equal((nuint)114_688, Heap.SallocX(p, 0));
            Assert.Equal((nuint)16_384, Heap.XallocX(p, 100, 16_000, In(arena)));        // size + extra reaches a large class
            // rallocx to a small size moves the block into a small class.
            void* s = Heap.RallocX(p, 100, In(arena));
            Assert.True(s != null);
            Assert.Equal((nuint)112, Heap.SallocX(s, 0));
            Heap.DallocX(s, MallocFlags.NoThreadCache);
        }
        finally
        {
            Heap.DestroyArena(arena);
        }
    }

    [Fact]
    public void SameClassResizesSucceedInPlace()
    {
        void* p = Heap.Malloc(100);
        Assert.Equal((nuint)112, Heap.XallocX(p, 105, 0, 0));
        Assert.Equal((nuint)112, Heap.XallocX(p, 97, 7, 0));
        Assert.Equal((nuint)112, Heap.XallocX(p, 1000, 0, 0));                         // a small block keeps its class
        Assert.True(Heap.RallocX(p, 110, 0) == p);                                      // same class: rallocx does not move
        Heap.Free(p);
    }

    [Fact]
    public void BytesGainedInPlaceAreZeroedWithMallocxZero()
    {
        int arena = Heap.CreateArena();
        try
        {
            // Leave junk in pages that go back dirty, then take them again by growing in place.
            void* junk = Heap.MallocX(300_000, In(arena));
            NativeMemory.Fill(junk, 300_000, 0xAB);
            Heap.DallocX(junk, MallocFlags.NoThreadCache);
            void* p = Heap.MallocX(100_000, In(arena));
            Assert.True(p == junk, "the block reuses the dirty run's low end");
            nuint old = Heap.SallocX(p, 0);
            nuint grown = Heap.XallocX(p, 250_000, 0, In(arena) | MallocFlags.Zero);
            Assert.Equal((nuint)262_144, grown);
            for (nuint i = old; i < grown; i++)
                if (((byte*)p)[i] != 0) Assert.Fail($"byte {i} gained in place is 0x{((byte*)p)[i]:x2}");
            // Shrink (the freed tail keeps its bytes) and regrow with the flag: zeroed again.
            NativeMemory.Fill((byte*)p, 262_144, 0xCD);
            Assert.Equal((nuint)131_072, Heap.XallocX(p, 120_000, 0, In(arena)));     // the tail goes back dirty, 0xCD in it
            Assert.Equal((nuint)262_144, Heap.XallocX(p, 250_000, 0, In(arena) | MallocFlags.Zero));
            for (nuint i = 131_072; i < 262_144; i++)
                if (((byte*)p)[i] != 0) Assert.Fail($"byte {i} regained in place is 0x{((byte*)p)[i]:x2}");
            Heap.DallocX(p, MallocFlags.NoThreadCache);
        }
        finally
        {
            Heap.DestroyArena(arena);
        }
    }
}
