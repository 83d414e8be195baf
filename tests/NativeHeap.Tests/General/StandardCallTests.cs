using System.Runtime.InteropServices;
using NativeHeap.Core;

namespace NativeHeap.Tests.General;

public unsafe class StandardCallTests
{
    /// <summary>Sizes on both sides of every class boundary from 1 byte to 24 MiB.</summary>
    internal static IEnumerable<nuint> SweepSizes()
    {
        yield return 1;
        for (int i = 0; i < SizeClasses.NClasses; i++)
        {
            nuint c = SizeClasses.ComputeSize(i);
            if (c > 24 << 20) yield break;
            if (c > 1) yield return c - 1;
            yield return c;
            yield return c + 1;
        }
    }

    [Fact]
    public void EverySizeClassAllocatesUsableWritableBlocks()
    {
        foreach (nuint size in SweepSizes())
        {
            byte* p = (byte*)Heap.Malloc(size);
            Assert.True(p != null, $"malloc({size}) failed");
            nuint usable = Heap.UsableSize(p);
            Assert.Equal(Heap.NallocX(size, 0), usable);
            Assert.True(usable >= size);
            if (size >= 16) Assert.True(((nuint)p & 15) == 0, $"malloc({size}) is not 16-byte aligned");
            // The whole usable size is writable: first, last and a stride in between.
            for (nuint i = 0; i < usable; i += 4096) p[i] = (byte)i;
            p[usable - 1] = 0x7f;
            Assert.Equal(0x7f, p[usable - 1]);
            Heap.Free(p);
        }
        Heap.Validate();
    }

    [Fact]
    public void FreeOfNullIsANoOp()
    {
        Heap.Free(null);
        Heap.SizedFree(null, 10);
        Heap.DallocX(null, 0);
    }

    [Fact]
    public void MallocOfZeroGivesAUniqueSmallestBlock()
    {
        void* a = Heap.Malloc(0), b = Heap.Malloc(0);
        Assert.True(a != null && b != null && a != b);
        Assert.Equal((nuint)8, Heap.UsableSize(a));
        Heap.Free(a);
        Heap.Free(b);
    }

    [Fact]
    public void CallocZeroesAndRejectsOverflow()
    {
        // Dirty some memory of the same classes first so reuse is tested.
        foreach (nuint size in new nuint[] { 64, 4000, 40_000, 3 << 20 })
        {
            byte* d = (byte*)Heap.Malloc(size);
            NativeMemory.Fill(d, size, 0xee);
            Heap.Free(d);
            byte* p = (byte*)Heap.Calloc(1, size);
            for (nuint i = 0; i < size; i++) Assert.True(p[i] == 0, $"calloc({size}) byte {i} is {p[i]}");
            Heap.Free(p);
        }
        Assert.True(Heap.Calloc(nuint.MaxValue / 2, 3) == null);
        Assert.True(Heap.Calloc((nuint)1 << 33, (nuint)1 << 33) == null);
        byte* q = (byte*)Heap.Calloc(1000, 24);
        Assert.True(Heap.UsableSize(q) >= 24000);
        Heap.Free(q);
    }

    [Fact]
    public void ReallocKeepsContentsBetweenEveryPairOfKinds()
    {
        nuint[] sizes = [24, 700, 9000, 20_000, 300_000, 2 << 20, 3 << 20, 9 << 20]; // small, large (cached/uncached), huge
        foreach (nuint from in sizes)
        {
            foreach (nuint to in sizes)
            {
                byte* p = (byte*)Heap.Malloc(from);
                for (nuint i = 0; i < from; i++) p[i] = (byte)(i * 31 + 7);
                byte* q = (byte*)Heap.Realloc(p, to);
                Assert.True(q != null);
                nuint keep = Math.Min(from, to);
                for (nuint i = 0; i < keep; i++)
                    if (q[i] != (byte)(i * 31 + 7)) Assert.Fail($"realloc {from} -> {to}: byte {i} lost");
                Assert.True(Heap.UsableSize(q) >= to);
                q[to - 1] = 1;
                Heap.Free(q);
            }
        }
        Heap.Validate();
    }

    [Fact]
    public void ReallocNullAllocatesAndZeroFrees()
    {
        void* p = Heap.Realloc(null, 100);
        Assert.True(p != null);
        Assert.True(Heap.Realloc(p, 0) == null);
    }

    [Fact]
    public void AlignedAllocationForEveryPowerOfTwo()
    {
        for (int lg = 0; lg <= 26; lg++)   // 1 B .. 64 MiB alignment
        {
            nuint align = (nuint)1 << lg;
            foreach (nuint size in new nuint[] { 1, 8, 100, 4096, 20_000, 1 << 20, 5 << 20 })
            {
                byte* p = (byte*)Heap.AlignedAlloc(align, size);
                Assert.True(p != null, $"aligned_alloc({align}, {size}) failed");
                Assert.True(((nuint)p & (align - 1)) == 0, $"aligned_alloc({align}, {size}) = {(nuint)p:x}");
                Assert.True(Heap.UsableSize(p) >= size);
                p[0] = 1;
                p[size - 1] = 2;
                Heap.Free(p);
            }
        }
        Assert.True(Heap.AlignedAlloc(3, 10) == null);
        Assert.True(Heap.AlignedAlloc(0, 10) == null);
        Heap.Validate();
    }

    [Fact]
    public void UsableSizeOfForeignPointerIsZeroAndFreeThrows()
    {
        void* foreign = NativeMemory.Alloc(64);
        try
        {
            Assert.Equal((nuint)0, Heap.UsableSize(foreign));
            Assert.Throws<HeapMisuseException>(() => Heap.Free(foreign));
        }
        finally
        {
            NativeMemory.Free(foreign);
        }
        Heap.Validate();
    }

    internal static bool IsMapped(void* p)
    {
        ulong a = (ulong)p;
        foreach (string line in File.ReadLines("/proc/self/maps"))
        {
            int dash = line.IndexOf('-'), space = line.IndexOf(' ');
            ulong lo = Convert.ToUInt64(line[..dash], 16), hi = Convert.ToUInt64(line[(dash + 1)..space], 16);
            if (a >= lo && a < hi) return true;
        }
        return false;
    }
}

[Collection("Serial")]
public unsafe class HugeBlockOsTests
{
    [Fact]
    public void HugeBlocksAreRetainedOnFreeAndGoBackToTheOsOnPurge()
    {
        nuint size = 64 << 20;
        byte* p = (byte*)Heap.Malloc(size);
        Assert.True(p != null);
        for (nuint i = 0; i < size; i += 4096) p[i] = 1;
        Assert.True(StandardCallTests.IsMapped(p));
        Heap.Free(p);
        // opt.retain: the mapping is kept for reuse (HugeCacheTests); a purge returns it.
        Assert.True(StandardCallTests.IsMapped(p), "the huge block's mapping was not retained");
        Heap.Purge();
        Assert.False(StandardCallTests.IsMapped(p), "the huge block's pages are still mapped after Heap.Purge");
    }

}
