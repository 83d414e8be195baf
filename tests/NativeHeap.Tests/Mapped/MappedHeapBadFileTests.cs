using NativeHeap.Mapped;

namespace NativeHeap.Tests.Mapped;

/// <summary>Bad files give a typed error, never a crash, and are left byte-for-byte untouched.</summary>
public unsafe class MappedHeapBadFileTests
{
    private static string MakeHeap(TempDir dir, string name)
    {
        string path = dir.File(name);
        Assert.True(MappedHeap.TryAttach(path, new MappedHeapOptions { MaxSize = 8 << 20 }, out MappedHeap? heap, out MappedHeapFailure f), f.ToString());
        for (int i = 0; i < 20; i++) heap!.TrySetKey(i % MappedHeap.KeyCount, heap.Allocate((nuint)(100 + i)));
        heap!.TrySetRoot("root", heap.Allocate(10));
        heap.TryDetach();
        return path;
    }

    private static MappedHeapFailure AssertRefused(string path, MappedHeapError expected, bool readOnly = false)
    {
        string before = MappedTestFiles.Hash(path);
        long length = new FileInfo(path).Length;
        bool ok = MappedHeap.TryAttach(path, new MappedHeapOptions { ReadOnly = readOnly }, out MappedHeap? heap, out MappedHeapFailure f);
        heap?.Dispose();
        Assert.False(ok, "a bad file was accepted");
        Assert.Equal(expected, f.Code);
        Assert.False(string.IsNullOrEmpty(f.Message));
        Assert.Equal(length, new FileInfo(path).Length);
        Assert.Equal(before, MappedTestFiles.Hash(path));
        return f;
    }

    private static void Patch(string path, long offset, byte[] bytes)
    {
        MappedTestFiles.Retry(() =>
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Write);
            fs.Position = offset;
            fs.Write(bytes);
        });
    }

    private static void SetLength(string path, long length) =>
        MappedTestFiles.Retry(() => { using var fs = new FileStream(path, FileMode.Open); fs.SetLength(length); });

    private static int ReadByte(string path, long offset) =>
        MappedTestFiles.Retry(() => { using var fs = new FileStream(path, FileMode.Open, FileAccess.Read); fs.Position = offset; return fs.ReadByte(); });

    [Fact]
    public void TruncatedFilesAreRefused()
    {
        using var dir = new TempDir();
        string path = MakeHeap(dir, "t.heap");
        SetLength(path, 100 * 1024); // inside the first blocks
        AssertRefused(path, MappedHeapError.Truncated);
        SetLength(path, 4096);       // inside the header
        AssertRefused(path, MappedHeapError.Truncated);
        AssertRefused(path, MappedHeapError.Truncated, readOnly: true);
    }

    [Fact]
    public void ForeignFilesAreRefused()
    {
        using var dir = new TempDir();
        string text = dir.File("text.heap");
        File.WriteAllText(text, "this is a text file, not a heap\n");
        AssertRefused(text, MappedHeapError.NotAHeap);
        string random = dir.File("random.heap");
        var bytes = new byte[200_000];
        new Random(5).NextBytes(bytes);
        File.WriteAllBytes(random, bytes);
        AssertRefused(random, MappedHeapError.NotAHeap);
        string tiny = dir.File("tiny.heap");
        File.WriteAllBytes(tiny, [1, 2, 3]);
        AssertRefused(tiny, MappedHeapError.NotAHeap);
    }

    [Fact]
    public void CorruptedHeaderFieldsFailTheChecksum()
    {
        using var dir = new TempDir();
        foreach (long offset in new long[] { 16, 24, 33, 40, 56 })
        {
            string path = MakeHeap(dir, $"h{offset}.heap");
            byte[] one = new byte[1];
            one[0] = (byte)(ReadByte(path, offset) ^ 0x5A);
            Patch(path, offset, one);
            AssertRefused(path, MappedHeapError.CorruptHeader);
        }
    }

    [Fact]
    public void NewerFormatVersionIsRefused()
    {
        using var dir = new TempDir();
        string path = MakeHeap(dir, "v.heap");
        Patch(path, 8, BitConverter.GetBytes(3u));
        MappedHeapFailure f = AssertRefused(path, MappedHeapError.UnsupportedVersion);
        Assert.Contains("version 3", f.Message);
    }

    [Fact]
    public void CorruptedBlockHeadersAndRootsAreRefused()
    {
        using var dir = new TempDir();
        // A block header whose size runs past the end.
        string a = MakeHeap(dir, "a.heap");
        Patch(a, 64 * 1024, BitConverter.GetBytes(0x7FFF_FFF0UL | 1));
        AssertRefused(a, MappedHeapError.CorruptMetadata);
        // A zero size (would loop forever without the check).
        string b = MakeHeap(dir, "b.heap");
        Patch(b, 64 * 1024, BitConverter.GetBytes(0UL));
        AssertRefused(b, MappedHeapError.CorruptMetadata);
        // An allocated block whose cookie was overwritten.
        string c = MakeHeap(dir, "c.heap");
        Patch(c, 64 * 1024 + 8, BitConverter.GetBytes(0x1234UL));
        AssertRefused(c, MappedHeapError.CorruptMetadata);
        // A root key that points outside the heap.
        string d = MakeHeap(dir, "d.heap");
        Patch(d, 128 + 8 * 5, BitConverter.GetBytes(1L << 40));
        AssertRefused(d, MappedHeapError.CorruptMetadata);
        // A heap end beyond the maximum size.
        string e = MakeHeap(dir, "e.heap");
        Patch(e, 64, BitConverter.GetBytes(1L << 40));
        AssertRefused(e, MappedHeapError.CorruptMetadata);
        // A named root with an impossible name length.
        string g = MakeHeap(dir, "g.heap");
        Patch(g, 2048 + 8, [200]);
        AssertRefused(g, MappedHeapError.CorruptMetadata);
    }

    [Fact]
    public void RandomByteFlipsInMetadataNeverCrashTheOpen()
    {
        using var dir = new TempDir();
        var rng = new Random(99);
        int refused = 0;
        for (int i = 0; i < 60; i++)
        {
            string path = MakeHeap(dir, $"f{i}.heap");
            long at = rng.Next(2) == 0 ? rng.Next(0, 128) : 64 * 1024 + rng.Next(0, 4096);
            byte[] one = new byte[1];
            one[0] = (byte)(ReadByte(path, at) ^ (1 << rng.Next(8)));
            Patch(path, at, one);
            if (MappedHeap.TryAttach(path, null, out MappedHeap? heap, out MappedHeapFailure f))
            {
                // Accepted (the flip hit user data or padding): the heap must then be consistent and usable.
                Assert.True(heap!.Check(out string? problem), $"flip at {at}: {problem}");
                Assert.True(heap.TryFree(heap.Allocate(50)));
                heap.Dispose();
            }
            else
            {
                refused++;
                Assert.NotEqual(MappedHeapError.OsFailure, f.Code);
            }
        }
        Assert.True(refused > 10, $"only {refused} of 60 flips were detected");
    }

    [Fact]
    public void EmptyFileOpenedReadOnlyIsNotAHeap()
    {
        using var dir = new TempDir();
        string path = dir.File("empty.heap");
        File.WriteAllBytes(path, []);
        AssertRefused(path, MappedHeapError.NotAHeap, readOnly: true);
    }
}
