// Huge-page kinds, verified where the memory really is: /proc/self/smaps must show 2048 kB kernel
// pages for the hugetlb kind and AnonHugePages for the THP kind, for small, large and huge blocks.
using System.Runtime.InteropServices;
using NativeHeap.Kinds;
using NativeHeap.Os;

namespace NativeHeap.Tests.Kinds;

public sealed unsafe class HugePageKindTests
{
    [HugeTlbFact]
    public void HugeTlbBlocksLiveInTwoMegabytePages()
    {
        MemoryKind kind = MemoryKind.HugeTlb;
        Assert.True(kind.CheckAvailable(out string why), why);
        foreach (nuint size in new nuint[] { 64, 100_000, 5 << 20 })
        {
            byte* p = (byte*)kind.Malloc(size);
            Assert.True(p != null, $"size {size}: {kind.LastError}");
            NativeMemory.Fill(p, size, 1);
            Assert.Same(kind, MemoryKind.DetectKind(p));
            Dictionary<string, long>? f = Smaps.FieldsOf((nuint)p);
            Assert.NotNull(f);
            Assert.Equal(2048, f["KernelPageSize"]);
            MemoryKind.Free(p);
        }
    }

    [HugeTlbFact]
    public void AHugeTlbKindWithItsOwnPolicy()
    {
        Assert.True(MemoryKind.TryCreateHugePages("hugetlb-single", transparent: false,
            new KindOptions { ArenaPolicy = KindArenaPolicy.Single, UsagePolicy = MemoryUsagePolicy.Conservative }, out MemoryKind? kind, out string error), error);
        try
        {
            Assert.Single(kind!.ArenaIndices);
            byte* p = (byte*)kind.Malloc(3000);
            Assert.True(p != null, kind.LastError);
            p[0] = 1;
            Assert.Equal(2048, Smaps.FieldsOf((nuint)p)!["KernelPageSize"]);
            Assert.Equal(KindAllocationTests.ArenaOf(p), kind.ArenaIndices[0]);
            Assert.Equal(0, kind.GetStats().DirtyDecayMs);
            MemoryKind.Free(p);
        }
        finally
        {
            Assert.True(kind!.TryDestroy(out error), error);
        }
    }

    [HugeTlbFact]
    public void PurgedHugeTlbPagesReadAsZeroes()
    {
        // Forced purges of hugetlb memory zero-fill partial huge pages and release whole ones; a
        // zeroed allocation from the purged (clean) run relies on that and does not clear it again.
        MemoryKind kind = MemoryKind.HugeTlb;
        const int size = 1 << 20;
        byte* p = (byte*)kind.Malloc(size);
        Assert.True(p != null, kind.LastError);
        NativeMemory.Fill(p, size, 0xff);
        long purgedBefore = kind.GetStats().PurgedPages;
        MemoryKind.Free(p);
        kind.Purge();
        Assert.True(kind.GetStats().PurgedPages > purgedBefore);
        byte* z = (byte*)kind.Calloc(1, size);
        Assert.True(z != null, kind.LastError);
        for (int i = 0; i < size; i += 509) Assert.Equal(0, z[i]);
        MemoryKind.Free(z);
    }

    [Fact]
    public void HugeTlbAvailabilityMatchesTheReservedPool()
    {
        (long total, long free) = OsHugePages.PoolPages();
        bool available = MemoryKind.HugeTlb.CheckAvailable(out string reason);
        Assert.Equal(free > 0, available);
        if (total == 0) Assert.Contains("nr_hugepages", reason);
    }

    [Fact]
    public void AnEmptyHugePagePoolIsExplained()
    {
        string? none = HugeTlbKindSource.PoolProblem(0, 0);
        Assert.Contains("no 2 MiB huge pages are reserved", none);
        Assert.Contains("echo 64 > /proc/sys/vm/nr_hugepages", none);
        Assert.Contains("all 64 reserved", HugeTlbKindSource.PoolProblem(64, 0));
        Assert.Null(HugeTlbKindSource.PoolProblem(64, 3));
    }

    [ThpFact]
    public void ThpBlocksAreBackedByTransparentHugePages()
    {
        MemoryKind kind = MemoryKind.Thp;
        // A huge block has a mapping of its own: after touching it, smaps counts its THPs. The
        // kernel may lack free 2 MiB frames at the moment, so a few fresh blocks are tried.
        long best = 0;
        for (int attempt = 0; attempt < 4 && best == 0; attempt++)
        {
            byte* p = (byte*)kind.Malloc(8 << 20);
            Assert.True(p != null, kind.LastError);
            Assert.Same(kind, MemoryKind.DetectKind(p));
            NativeMemory.Fill(p, 8 << 20, 3);
            best = Smaps.FieldsOf((nuint)p)!.GetValueOrDefault("AnonHugePages");
            MemoryKind.Free(p);
        }
        Assert.True(best >= 2048, $"AnonHugePages {best} kB");
        // Small blocks come from chunks mapped with the same advice.
        byte* s = (byte*)kind.Malloc(64);
        Dictionary<string, long> fields = Smaps.FieldsOf((nuint)s)!;
        Assert.True(fields.ContainsKey("AnonHugePages"));
        Assert.Same(kind, MemoryKind.DetectKind(s));
        MemoryKind.Free(s);
    }
}
