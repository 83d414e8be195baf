using System.Diagnostics;
using NativeHeap.Mapped;

namespace NativeHeap.Tests.Mapped;

/// <summary><c>nheap heap info</c> and <c>nheap heap check</c>, run as the real command-line tool.</summary>
public unsafe class HeapCommandTests
{
    private static (int Exit, string Output) Nheap(params string[] args)
    {
        string config = AppContext.BaseDirectory.Contains("/Debug/") ? "Debug" : "Release";
        string? dll = null;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null && dll == null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "tools", "NativeHeap.Cli", "bin", config, "net10.0", "nheap.dll");
            if (File.Exists(candidate)) dll = candidate;
        }
        Assert.True(dll != null, "nheap.dll not found: build NativeHeap.slnx first");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll!);
        foreach (string a in args) psi.ArgumentList.Add(a);
        using Process p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(60_000));
        return (p.ExitCode, output);
    }

    [Fact]
    public void InfoAndCheckDescribeAHeapAndRefuseBadFiles()
    {
        using var dir = new TempDir();
        string path = dir.File("cli.heap");
        Assert.True(MappedHeap.TryAttach(path, null, out MappedHeap? heap, out MappedHeapFailure f), f.ToString());
        for (int i = 0; i < 10; i++) heap!.Allocate(1000);
        heap!.TrySetKey(2, heap.Allocate(10));
        heap.TrySetRoot("config", heap.Allocate(10));

        (int exit, string output) = Nheap("heap", "check", path);
        Assert.Equal(3, exit); // attached for writing here: the tool is refused, not let in to read a moving heap
        Assert.Contains("Locked", output);
        heap.TryDetach();

        (exit, output) = Nheap("heap", "info", path);
        Assert.Equal(0, exit);
        Assert.Contains("in 12 blocks", output);
        Assert.Contains("key  2", output);
        Assert.Contains("config", output);
        Assert.Contains("fragmentation", output);

        (exit, output) = Nheap("heap", "check", path);
        Assert.Equal(0, exit);
        Assert.Contains("OK", output);

        string foreign = dir.File("foreign.txt");
        File.WriteAllText(foreign, "not a heap");
        (exit, output) = Nheap("heap", "check", foreign);
        Assert.Equal(2, exit);
        Assert.Contains("NotAHeap", output);
    }

    [Fact]
    public void CheckReportsCorruptKeysAndRootsAndRefusesEmptyFiles()
    {
        using var dir = new TempDir();
        string path = dir.File("keys.heap");
        Assert.True(MappedHeap.TryAttach(path, null, out MappedHeap? heap, out MappedHeapFailure f), f.ToString());
        heap!.TrySetKey(3, heap.Allocate(100));
        heap.TrySetRoot("config", heap.Allocate(10));
        heap.Dispose();
        byte[] good = File.ReadAllBytes(path);
        byte[] bad = (byte[])good.Clone();
        bad[128 + 3 * 8] ^= 0x40;   // key 3 moved 64 bytes: inside its block (or past it)
        File.WriteAllBytes(path, bad);
        (int exit, string output) = Nheap("heap", "check", path);
        Assert.Equal(2, exit);
        Assert.Contains("CorruptMetadata", output);
        Assert.Contains("key 3", output);

        string empty = dir.File("empty.heap");
        File.WriteAllBytes(empty, []);
        (exit, output) = Nheap("heap", "check", empty);
        Assert.Equal(2, exit);
        Assert.Contains("NotAHeap", output);
        Assert.Equal(0, new FileInfo(empty).Length);
    }
}
