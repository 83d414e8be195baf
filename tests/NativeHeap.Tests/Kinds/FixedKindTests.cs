// Fixed kinds (memkind_create_fixed): a kind over memory the caller owns. Blocks stay inside the
// area, the area's end is out of memory, the area is never unmapped (the caller frees it after the
// kind is destroyed), and an area without a whole 4 MiB granule is refused.
using System.Runtime.InteropServices;
using NativeHeap.Kinds;

namespace NativeHeap.Tests.Kinds;

public sealed unsafe class FixedKindTests
{
    [Fact]
    public void BlocksComeFromTheCallersAreaUntilItIsUsedUp()
    {
        const nuint size = 24 << 20;
        byte* area = (byte*)NativeMemory.AlignedAlloc(size, 4096);
        try
        {
            Assert.True(MemoryKind.TryCreateFixed(area, size, null, out MemoryKind? kind, out string error), error);
            try
            {
                byte* small = (byte*)kind!.Malloc(1000);
                byte* big = (byte*)kind.Malloc(6 << 20);
                Assert.True(small != null && big != null, kind.LastError);
                Assert.True(small >= area && small + 1000 <= area + size);
                Assert.True(big >= area && big + (6 << 20) <= area + size);
                Assert.Same(kind, MemoryKind.DetectKind(big));
                Assert.True(kind.Malloc(30 << 20) == null);
                Assert.Contains("no free", kind.LastError);
                int* z = (int*)kind.Calloc(1000, 4);
                for (int i = 0; i < 1000; i++) Assert.Equal(0, z[i]);
                MemoryKind.Free(small);
                MemoryKind.Free(big);
                MemoryKind.Free(z);
                kind.Purge();
            }
            finally
            {
                Assert.True(kind!.TryDestroy(out string e), e);
            }
            area[0] = 1;   // still the caller's, still mapped
        }
        finally
        {
            NativeMemory.AlignedFree(area);
        }
    }

    [Fact]
    public void AnAreaWithoutAWholeGranuleIsRefused()
    {
        byte* area = (byte*)NativeMemory.AlignedAlloc(1 << 20, 4096);
        try
        {
            Assert.False(MemoryKind.TryCreateFixed(area, 1 << 20, null, out MemoryKind? kind, out string error));
            Assert.Null(kind);
            Assert.Contains("granule", error);
            Assert.False(MemoryKind.TryCreateFixed(null, 64 << 20, null, out _, out _));
        }
        finally
        {
            NativeMemory.AlignedFree(area);
        }
    }
}
