using System.Runtime.InteropServices;
using NativeHeap.Core;

namespace NativeHeap.Tests.General;

public unsafe class SizeClassTests
{
    [Fact]
    public void ClassesFollowJemallocGeometry()
    {
        // Tiny 8, then quantum-spaced to 128, then four classes per doubling.
        Assert.Equal((nuint)8, SizeClasses.ComputeSize(0));
        for (int i = 1; i <= 8; i++) Assert.Equal((nuint)(16 * i), SizeClasses.ComputeSize(i));
        Assert.Equal((nuint)14336, SizeClasses.ComputeSize(SizeClasses.NBins - 1));
        Assert.Equal((nuint)16384, SizeClasses.ComputeSize(SizeClasses.NBins));
        Assert.Equal(7UL << 60, (ulong)SizeClasses.ComputeSize(SizeClasses.NClasses - 1));
        for (int i = 1; i < SizeClasses.NClasses; i++)
        {
            nuint prev = SizeClasses.ComputeSize(i - 1), cur = SizeClasses.ComputeSize(i);
            Assert.True(cur > prev);
            if (i > 9) Assert.True(cur - prev <= cur / 4, $"class {i}: step {cur - prev} too coarse for {cur}");
            Assert.Equal(i, SizeClasses.ComputeIndex(cur));
            Assert.Equal(i, SizeClasses.ComputeIndex(prev + 1));
        }
    }

    [Fact]
    public void RoundUpIsTheSmallestClassThatFits()
    {
        for (nuint n = 1; n <= 1 << 20; n++)
        {
            nuint u = SizeClasses.RoundUp(n);
            Assert.True(u >= n);
            int i = SizeClasses.ComputeIndex(u);
            Assert.Equal(u, SizeClasses.ComputeSize(i));
            if (i > 0) Assert.True(SizeClasses.ComputeSize(i - 1) < n);
        }
        Assert.Equal((nuint)0, SizeClasses.RoundUp(unchecked((nuint)(7UL << 60) + 1)));
    }

    [Fact]
    public void SlabsHoldWholeRegionsWithLittleWaste()
    {
        for (int i = 0; i < SizeClasses.NBins; i++)
        {
            nuint slab = (nuint)SizeClasses.s_slabPages[i] * 4096, size = SizeClasses.s_sizes[i];
            int regs = SizeClasses.s_slabRegs[i];
            Assert.True(regs >= 1);
            Assert.Equal(slab / size, (nuint)regs);
            Assert.True(slab == (nuint)regs * size, $"class {size}: a slab of {slab} bytes wastes space (jemalloc's rule: none)");
        }
    }

    [Fact]
    public void AlignedRoundUpGivesClassesWhoseRegionsAreAligned()
    {
        for (int lg = 0; lg <= 12; lg++)
        {
            nuint align = (nuint)1 << lg;
            for (nuint n = 1; n <= 20000; n += 7)
            {
                nuint u = SizeClasses.RoundUpAligned(n, align);
                Assert.True(u >= n);
                // Small classes: regions sit at multiples of the class size from a page-aligned slab.
                if (u <= SizeClasses.SmallMax) Assert.True(u % align == 0, $"n={n} align={align} usize={u}");
            }
        }
    }

    [PeerFact("libjemalloc.so.2", "libjemalloc2")]
    public void NallocxEqualsLibjemalloc()
    {
        Assert.True(PeerLibrary.TryLoad("libjemalloc.so.2", "libjemalloc2", out nint h, out string reason), reason);
        var nallocx = (delegate* unmanaged[Cdecl]<nuint, int, nuint>)NativeLibrary.GetExport(h, "nallocx");
        // Every size from 1 to 8 MiB.
        for (nuint n = 1; n <= 8 << 20; n++)
        {
            nuint expected = nallocx(n, 0);
            nuint actual = Heap.NallocX(n, 0);
            if (expected != actual) Assert.Fail($"nallocx({n}): jemalloc {expected}, NativeHeap {actual}");
        }
        // Sampled sizes up to 1 GiB: around every class boundary and at random.
        var rng = new Random(42);
        for (int i = SizeClasses.NBins; i < SizeClasses.NClasses && SizeClasses.s_sizes[i] <= 1 << 30; i++)
        {
            nuint c = SizeClasses.s_sizes[i];
            foreach (nuint n in new[] { c - 1, c, c + 1 })
                Assert.Equal(nallocx(n, 0), Heap.NallocX(n, 0));
        }
        for (int i = 0; i < 100_000; i++)
        {
            nuint n = (nuint)rng.NextInt64(1, 1L << 30);
            Assert.Equal(nallocx(n, 0), Heap.NallocX(n, 0));
        }
        // With alignment flags too (MALLOCX_LG_ALIGN), where jemalloc's rule is sz_sa2u.
        for (int lg = 1; lg <= 16; lg++)
            for (nuint n = 1; n < 70000; n += 13)
                Assert.Equal(nallocx(n, lg), Heap.NallocX(n, MallocFlags.LgAlign(lg)));
    }
}
