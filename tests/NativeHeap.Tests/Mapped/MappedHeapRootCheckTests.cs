using NativeHeap.Mapped;

namespace NativeHeap.Tests.Mapped;

/// <summary>
/// Issue 15: every key and root is null or the start of an allocated block, and carries a check
/// (format version 2); version-1 files open and are upgraded only when opened writable; an empty file
/// is a heap only when creation was asked for.
/// </summary>
public unsafe class MappedHeapRootCheckTests
{
    private const int OffVersion = 8, OffSalt = 40, OffChecksum = 56, OffKeys = 128, OffRoots = 2048;

    private static string MakeHeap(TempDir dir, string name, out long[] keyTargets)
    {
        string path = dir.File(name);
        Assert.True(MappedHeap.TryAttach(path, new MappedHeapOptions { MaxSize = 8 << 20 }, out MappedHeap? heap, out MappedHeapFailure f), f.ToString());
        keyTargets = new long[4];
        for (int i = 0; i < 4; i++)
        {
            byte* p = (byte*)heap!.Allocate(200);
            p[0] = (byte)i;
            Assert.True(heap.TrySetKey(i, p));
            keyTargets[i] = heap.OffsetOf(p);
        }
        Assert.True(heap!.TrySetRoot("a-root-name", heap.Allocate(64)));
        Assert.True(heap.TrySetRoot("second", heap.Allocate(64)));
        Assert.True(heap.Check(out string? problem), problem);
        heap.TryDetach();
        return path;
    }

    private static byte[] Read(string path) => MappedTestFiles.Retry(() => File.ReadAllBytes(path));

    private static void Write(string path, byte[] bytes) => MappedTestFiles.Retry(() =>
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Write);
        fs.Write(bytes);
    });

    private static MappedHeapFailure Refused(string path, bool readOnly = true)
    {
        string before = MappedTestFiles.Hash(path);
        bool ok = MappedHeap.TryAttach(path, new MappedHeapOptions { ReadOnly = readOnly, CreateIfMissing = false }, out MappedHeap? heap, out MappedHeapFailure f);
        heap?.Dispose();
        Assert.False(ok, "a corrupted file was accepted");
        Assert.Equal(before, MappedTestFiles.Hash(path));
        return f;
    }

    [Fact]
    public void EveryFlippedBitOfAKeyWordIsCorruptMetadata()
    {
        using var dir = new TempDir();
        string path = MakeHeap(dir, "keys.heap", out _);
        byte[] good = Read(path);
        int caught = 0;
        for (int key = 0; key < 4; key++)
        {
            for (int bit = 0; bit < 64; bit++)
            {
                byte[] bad = (byte[])good.Clone();
                bad[OffKeys + key * 8 + bit / 8] ^= (byte)(1 << (bit % 8));
                Write(path, bad);
                MappedHeapFailure f = Refused(path);
                Assert.True(f.Code == MappedHeapError.CorruptMetadata, $"key {key} bit {bit}: {f}");
                caught++;
            }
        }
        Write(path, good);
        Assert.Equal(256, caught);
        Assert.True(MappedHeap.TryAttach(path, new MappedHeapOptions { CreateIfMissing = false }, out MappedHeap? heap, out MappedHeapFailure ok), ok.ToString());
        Assert.Equal(2, *(byte*)heap!.GetKey(2));
        heap.Dispose();
    }

    [Fact]
    public void EveryFlippedByteOfARootNameIsCorruptMetadata()
    {
        using var dir = new TempDir();
        string path = MakeHeap(dir, "roots.heap", out _);
        byte[] good = Read(path);
        int entry = -1;
        for (int i = 0; i < 992 && entry < 0; i++)
            if (good[OffRoots + i * 64 + 8] == "a-root-name".Length && good[OffRoots + i * 64 + 9] == (byte)'a') entry = OffRoots + i * 64;
        Assert.True(entry > 0, "root entry not found");
        for (int b = 8; b < 9 + "a-root-name".Length; b++)   // the length byte and every name byte
        {
            byte[] bad = (byte[])good.Clone();
            bad[entry + b] ^= 0x21;
            Write(path, bad);
            MappedHeapFailure f = Refused(path);
            Assert.True(f.Code == MappedHeapError.CorruptMetadata, $"name byte {b}: {f}");
        }
        Write(path, good);
    }

    [Fact]
    public void AKeyMovedInsideABlockOrOntoAFreeBlockIsCorruptMetadata()
    {
        using var dir = new TempDir();
        string path = MakeHeap(dir, "moved.heap", out long[] targets);
        byte[] good = Read(path);
        ulong salt = BitConverter.ToUInt64(good, OffSalt);
        // A well-formed word (its check right) that points 48 bytes into key 1's block.
        byte[] bad = (byte[])good.Clone();
        BitConverter.GetBytes(HeapLayoutWord(targets[1] + 48, salt, 0)).CopyTo(bad, OffKeys);
        Write(path, bad);
        MappedHeapFailure f = Refused(path);
        Assert.Equal(MappedHeapError.CorruptMetadata, f.Code);
        Assert.Contains("not the start of an allocated block", f.Message);
        Write(path, good);

        // Check() on an open heap, and the key pointing at a block that was freed.
        Assert.True(MappedHeap.TryAttach(path, new MappedHeapOptions { CreateIfMissing = false }, out MappedHeap? heap, out f), f.ToString());
        void* p = heap!.Allocate(100);
        Assert.True(heap.TrySetKey(5, p));
        Assert.True(heap.Check(out string? problem), problem);
        Assert.True(heap.TryFree(p));   // freed while still published
        Assert.False(heap.Check(out problem));
        Assert.Equal(MappedHeapError.CorruptMetadata, heap.LastError);
        Assert.Contains("key 5", problem);
        Assert.True(heap.TrySetKey(5, null));
        Assert.True(heap.Check(out problem), problem);
        // Setting a key or root to a pointer that is not a block start is refused.
        byte* q = (byte*)heap.Allocate(100);
        Assert.False(heap.TrySetKey(6, q + 16));
        Assert.Equal(MappedHeapError.InvalidPointer, heap.LastError);
        Assert.False(heap.TrySetRoot("inner", q + 8));
        Assert.True(heap.TrySetRoot("inner", q));
        Assert.True(heap.Check(out problem), problem);
        heap.Dispose();
    }

    private static ulong HeapLayoutWord(long offset, ulong salt, int key) => HeapLayout.RootWord(offset, salt, key, default);

    /// <summary>Rewrites a version-2 file as version 1 would have written it: bare key and root words, version 1, its checksum.</summary>
    private static void MakeVersion1(string path, bool interruptedUpgrade = false)
    {
        byte[] b = Read(path);
        for (int k = 0; k < 32; k++)
        {
            ulong w = BitConverter.ToUInt64(b, OffKeys + k * 8);
            BitConverter.GetBytes(w & ((1UL << 48) - 1)).CopyTo(b, OffKeys + k * 8);
        }
        for (int i = 0; i < 992; i++)
        {
            ulong w = BitConverter.ToUInt64(b, OffRoots + i * 64);
            BitConverter.GetBytes(w & ((1UL << 48) - 1)).CopyTo(b, OffRoots + i * 64);
        }
        BitConverter.GetBytes(interruptedUpgrade ? 2u : 1u).CopyTo(b, OffVersion);
        fixed (byte* h = b) BitConverter.GetBytes(HeapLayout.Checksum(h)).CopyTo(b, OffChecksum);
        BitConverter.GetBytes(1u).CopyTo(b, OffVersion);   // an interrupted upgrade: checksum of version 2, version still 1
        Write(path, b);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Version1FilesOpenAndAreUpgradedOnlyWhenOpenedWritable(bool interruptedUpgrade)
    {
        using var dir = new TempDir();
        string path = MakeHeap(dir, "v1.heap", out long[] targets);
        MakeVersion1(path, interruptedUpgrade);
        Assert.Equal(1u, BitConverter.ToUInt32(Read(path), OffVersion));
        string v1 = MappedTestFiles.Hash(path);

        // Read-only: opens, reads its keys and roots, checks, and leaves the file as it was.
        Assert.True(MappedHeap.TryAttach(path, new MappedHeapOptions { ReadOnly = true, CreateIfMissing = false }, out MappedHeap? ro, out MappedHeapFailure f), f.ToString());
        Assert.Equal(3, *(byte*)ro!.GetKey(3));
        Assert.True(ro.GetRoot("a-root-name") != null);
        Assert.True(ro.Check(out string? problem), problem);
        ro.Dispose();
        Assert.Equal(v1, MappedTestFiles.Hash(path));

        // Writable: upgraded to version 2, every key and root word with its check.
        Assert.True(MappedHeap.TryAttach(path, new MappedHeapOptions { CreateIfMissing = false }, out MappedHeap? rw, out f), f.ToString());
        Assert.Equal(1, *(byte*)rw!.GetKey(1));
        Assert.True(rw.Check(out problem), problem);
        rw.Dispose();
        byte[] after = Read(path);
        Assert.Equal(2u, BitConverter.ToUInt32(after, OffVersion));
        for (int k = 0; k < 4; k++)
        {
            ulong w = BitConverter.ToUInt64(after, OffKeys + k * 8);
            Assert.NotEqual(0UL, w >> 48);
            Assert.Equal(targets[k], (long)(w & ((1UL << 48) - 1)));
        }
        Assert.True(MappedHeap.TryAttach(path, new MappedHeapOptions { ReadOnly = true, CreateIfMissing = false }, out ro, out f), f.ToString());
        Assert.Equal(0, *(byte*)ro!.GetKey(0));
        Assert.Equal(2, ro.GetRoots().Count);
        Assert.True(ro.Check(out problem), problem);
        ro.Dispose();
    }

    [Fact]
    public void AnEmptyFileIsAHeapOnlyWhenCreationIsAsked()
    {
        using var dir = new TempDir();
        string path = dir.File("empty.heap");
        File.WriteAllBytes(path, []);
        Assert.False(MappedHeap.TryAttach(path, new MappedHeapOptions { CreateIfMissing = false }, out _, out MappedHeapFailure f));
        Assert.Equal(MappedHeapError.NotAHeap, f.Code);
        Assert.Equal(0, new FileInfo(path).Length);
        using (var fs = new FileStream(path, FileMode.Open, FileAccess.ReadWrite))
        {
            Assert.False(MappedHeap.TryAttach((int)fs.SafeFileHandle.DangerousGetHandle(), new MappedHeapOptions { CreateIfMissing = false }, out _, out f));
            Assert.Equal(MappedHeapError.NotAHeap, f.Code);
        }
        Assert.Equal(0, new FileInfo(path).Length);
        Assert.True(MappedHeap.TryAttach(path, new MappedHeapOptions { CreateIfMissing = true }, out MappedHeap? heap, out f), f.ToString());
        Assert.True(heap!.Allocate(10) != null);
        heap.Dispose();
        Assert.True(new FileInfo(path).Length > 0);
    }
}
