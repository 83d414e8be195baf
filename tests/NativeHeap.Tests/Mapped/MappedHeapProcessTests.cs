using NativeHeap.Mapped;

namespace NativeHeap.Tests.Mapped;

/// <summary>Reopening in a second process at the recorded base, and the cross-process lock.</summary>
public unsafe class MappedHeapProcessTests
{
    [Fact]
    public void RawPointersWrittenHereAreValidInAnotherProcess()
    {
        using var dir = new TempDir();
        string path = dir.File("raw.heap");
        var options = new MappedHeapOptions { BaseAddress = (nint)(0x5A00_0000_0000L + Random.Shared.Next(1, 1000) * (1L << 30)), MaxSize = 16 << 20 };
        Assert.True(MappedHeap.TryAttach(path, options, out MappedHeap? heap, out MappedHeapFailure f), f.ToString());
        byte* text = (byte*)heap!.Allocate(64);
        "written by the parent\0"u8.CopyTo(new Span<byte>(text, 64));
        byte** node = (byte**)heap.Allocate(16);
        node[0] = text;
        Assert.True(heap.TrySetKey(0, node));
        nint at = (nint)heap.Base;
        heap.TryDetach();

        string output = MappedTestFiles.RunChild("read-raw", path);
        Assert.Equal($"OK {at:x} written by the parent", output);
    }

    [Fact]
    public void RawPointersWrittenByAnotherProcessAreValidHere()
    {
        using var dir = new TempDir();
        string path = dir.File("raw2.heap");
        nint at = (nint)(0x5B00_0000_0000L + Random.Shared.Next(1, 1000) * (1L << 30));
        Assert.Equal($"OK {at:x}", MappedTestFiles.RunChild("write-raw", path, at.ToString("x")));
        Assert.True(MappedHeap.TryAttach(path, new MappedHeapOptions { CreateIfMissing = false }, out MappedHeap? heap, out MappedHeapFailure f), f.ToString());
        using (heap)
        {
            Assert.Equal(at, (nint)heap!.Base);
            byte** node = (byte**)heap.GetKey(0);
            Assert.Equal("written by the child", new string((sbyte*)node[0]));
            Assert.True(heap.Check(out string? problem), problem);
        }
    }

    [Fact]
    public void AnotherProcessCannotOpenForWritingWhileAttached()
    {
        using var dir = new TempDir();
        string path = dir.File("lock.heap");
        Assert.True(MappedHeap.TryAttach(path, null, out MappedHeap? heap, out MappedHeapFailure f), f.ToString());
        Assert.Equal("Locked", MappedTestFiles.RunChild("try-open", path));
        heap!.TryDetach();
        Assert.Equal("OK", MappedTestFiles.RunChild("try-open", path));

        // And the other way round: a child holds it, we are refused, then admitted after it leaves.
        using var child = MappedTestFiles.StartChild("hold", path);
        Assert.Equal("HELD", child.StandardOutput.ReadLine());
        Assert.False(MappedHeap.TryAttach(path, null, out _, out f));
        Assert.Equal(MappedHeapError.Locked, f.Code);
        Assert.Contains("open for writing elsewhere", f.Message);
        child.StandardInput.WriteLine();
        Assert.True(child.WaitForExit(30_000));
        Assert.True(MappedHeap.TryAttach(path, null, out heap, out f), f.ToString());
        heap!.Dispose();
    }
}
