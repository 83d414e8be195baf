// File-backed (pmem) kinds, verified in the file itself: written blocks show as the file's allocated
// blocks (fstat st_blocks through the kind's kept descriptor) and disappear (punched holes) when
// freed pages are purged; the maximum size turns into null allocations; the file has no name.
using System.Runtime.InteropServices;
using NativeHeap.Kinds;
using NativeHeap.Os;

namespace NativeHeap.Tests.Kinds;

public sealed unsafe class PmemKindTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nheap-pmem").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private MemoryKind NewPmem(long max, KindOptions? options = null)
    {
        Assert.True(MemoryKind.TryCreatePmem(_dir, max, options, out MemoryKind? kind, out string error), error);
        return kind!;
    }

    private static long FileBytes(MemoryKind kind)
    {
        var source = (PmemKindSource)kind.Source!.Inner;
        Assert.True(OsTempFile.TryGetAllocatedBytes(source.FileDescriptor, out long bytes, out OsError e), e.ToString());
        return bytes;
    }

    [Fact]
    public void WrittenBlocksFillTheFileAndPurgedOnesArePunchedOut()
    {
        MemoryKind kind = NewPmem(64 << 20);
        try
        {
            Assert.Empty(Directory.GetFileSystemEntries(_dir));   // created and unlinked at once
            long empty = FileBytes(kind);
            byte* large = (byte*)kind.Malloc(1 << 20);
            byte* huge = (byte*)kind.Malloc(8 << 20);
            Assert.True(large != null && huge != null, kind.LastError);
            Assert.Same(kind, MemoryKind.DetectKind(large));
            Assert.Same(kind, MemoryKind.DetectKind(huge));
            NativeMemory.Fill(large, 1 << 20, 0x11);
            NativeMemory.Fill(huge, 8 << 20, 0x22);
            long written = FileBytes(kind);
            Assert.True(written - empty >= (9 << 20), $"file grew by {written - empty} bytes");
            MemoryKind.Free(huge);               // its own mapping: retained (opt.retain), dirty until purged
            MemoryKind.Free(large);              // a run in a chunk: dirty until purged
            kind.Purge();
            long afterPurge = FileBytes(kind);
            Assert.True(written - afterPurge >= (9 << 20), $"purge punched {written - afterPurge} bytes");
            // Punched pages read as zeroes when reused.
            byte* again = (byte*)kind.Calloc(1, 1 << 20);
            for (int i = 0; i < 1 << 20; i += 4093) Assert.Equal(0, again[i]);
            MemoryKind.Free(again);
        }
        finally
        {
            Assert.True(kind.TryDestroy(out string e), e);
        }
    }

    [Fact]
    public void ConservativePolicyPunchesOnFree()
    {
        MemoryKind kind = NewPmem(32 << 20, new KindOptions { UsagePolicy = MemoryUsagePolicy.Conservative, ArenaPolicy = KindArenaPolicy.Single });
        try
        {
            Assert.Equal(0, kind.GetStats().DirtyDecayMs);
            byte* p = (byte*)kind.Malloc(1 << 20);
            NativeMemory.Fill(p, 1 << 20, 1);
            long before = FileBytes(kind);
            MemoryKind.Free(p);
            long after = FileBytes(kind);
            Assert.True(before - after >= (1 << 20), $"free punched {before - after} bytes");
            Assert.Equal(0, kind.GetStats().DirtyPages);
        }
        finally
        {
            kind.TryDestroy(out _);
        }
    }

    [Fact]
    public void TheMaximumIsEnforcedAsOutOfMemory()
    {
        const long max = 16 << 20;
        MemoryKind kind = NewPmem(max, new KindOptions { ArenaPolicy = KindArenaPolicy.Single });
        try
        {
            Assert.True(kind.Malloc(64 << 20) == null);   // larger than the maximum: null, no crash
            Assert.Contains("maximum", kind.LastError);
            var blocks = new List<nint>();
            while (true)
            {
                void* p = kind.Malloc(1 << 20);
                if (p == null) break;
                NativeMemory.Fill(p, 1 << 20, 5);
                blocks.Add((nint)p);
                Assert.True(blocks.Count < 100, "the maximum was not enforced");
            }
            Assert.InRange(blocks.Count, 8, 16);
            Assert.True(kind.GetStats().Mapped <= max);
            Assert.True(FileBytes(kind) <= max);
            Assert.Contains("maximum", kind.LastError);
            Assert.True(kind.GetStats().SourceFailures >= 2);
            foreach (nint b in blocks) MemoryKind.Free((void*)b);
            kind.Purge();
            void* more = kind.Malloc(1 << 20);
            Assert.True(more != null, "memory did not come back after free");
            MemoryKind.Free(more);
        }
        finally
        {
            kind.TryDestroy(out _);
        }
    }

    [Fact]
    public void DestroyClosesTheFile()
    {
        MemoryKind kind = NewPmem(16 << 20);
        byte* p = (byte*)kind.Malloc(100);
        p[0] = 1;
        var source = (PmemKindSource)kind.Source!.Inner;
        Assert.True(kind.TryDestroy(out string e), e);
        Assert.Equal(-1, source.FileDescriptor);
    }

    [Fact]
    public void BadDirectoriesAndSizesAreRefusedClearly()
    {
        Assert.False(MemoryKind.TryCreatePmem(Path.Combine(_dir, "missing"), 64 << 20, out MemoryKind? kind, out string error));
        Assert.Null(kind);
        Assert.Contains("does not exist", error);
        Assert.False(MemoryKind.TryCreatePmem(_dir, 4096, out _, out error));
        Assert.Contains("at least", error);
    }
    [Fact]
    public void ABlockOfTheMaximumsSizeFitsAKindOfThatMaximumPlusAPage()
    {
        // memkind: a 16 MiB block fits a kind of 16 MiB + 4 KiB (its mapping needs one header page more).
        MemoryKind kind = NewPmem((16 << 20) + 4096);
        try
        {
            byte* p = (byte*)kind.Malloc(16 << 20);
            Assert.True(p != null, kind.LastError);
            NativeMemory.Fill(p, 16 << 20, 1);
            Assert.True(kind.Malloc(4 << 20) == null);   // the rest of the limit is used
            MemoryKind.Free(p);
        }
        finally
        {
            kind.TryDestroy(out _);
        }
    }

    [Fact]
    public void AShrunkHugeBlockGrowsBackInPlace()
    {
        MemoryKind kind = NewPmem(16 << 20, new KindOptions { ArenaPolicy = KindArenaPolicy.Single });
        try
        {
            byte* p = (byte*)kind.Malloc(10 << 20);
            Assert.True(p != null, kind.LastError);
            p[0] = 42;
            var source = (PmemKindSource)kind.Source!.Inner;
            byte* q = (byte*)kind.Realloc(p, 6 << 20);
            Assert.True(q == p);                               // shrunk in place, a granule given back
            long shrunk = source.UsedBytes;
            byte* r = (byte*)kind.Realloc(q, 10 << 20);
            Assert.True(r == p, kind.LastError);               // grown back into the granule after it
            Assert.Equal(42, r[0]);
            Assert.Equal(shrunk + (4 << 20), source.UsedBytes);
            NativeMemory.Fill(r, 10 << 20, 3);
            MemoryKind.Free(r);
        }
        finally
        {
            kind.TryDestroy(out _);
        }
    }
}
