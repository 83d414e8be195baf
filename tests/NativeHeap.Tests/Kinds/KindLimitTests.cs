// The kind limit: as many live kinds as memkind allows (MEMKIND_MAX_KIND, 512, Default included); past
// it creation fails with the "no slot" reason the C ABI turns into MEMKIND_ERROR_TOOMANY. Serial: it
// holds every slot for a moment, which would fail kind creation in tests running beside it.
using NativeHeap.Kinds;

namespace NativeHeap.Tests.Kinds;

[Collection("Serial")]
public sealed unsafe class KindLimitTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nheap-kindlimit").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void KindsUpToMemkindsLimitCanExist()
    {
        // memkind allows MEMKIND_MAX_KIND (512) kinds; NativeHeap's slots are as many, Default included.
        Assert.Equal(512, MemoryKind.MaxKinds);
        var kinds = new List<MemoryKind>();
        try
        {
            var single = new KindOptions { ArenaPolicy = KindArenaPolicy.Single };
            while (MemoryKind.TryCreatePmem(_dir, 16 << 20, single, out MemoryKind? k, out string error))
            {
                kinds.Add(k!);
                Assert.True(kinds.Count < MemoryKind.MaxKinds, "more kinds than slots");
            }
            Assert.Equal(MemoryKind.CreateFailure.NoSlot, MemoryKind.t_lastCreateFailure);
            Assert.True(kinds.Count >= 479, $"only {kinds.Count} kinds");
            void* p = kinds[^1].Malloc(100);
            Assert.True(MemoryKind.DetectKind(p) == kinds[^1]);
            MemoryKind.Free(p);
        }
        finally
        {
            foreach (MemoryKind k in kinds) k.TryDestroy(out _);
        }
    }
}
