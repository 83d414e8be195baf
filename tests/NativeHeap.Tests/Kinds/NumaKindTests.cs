// NUMA kinds, verified by reading the policy back from the kernel (get_mempolicy with MPOL_F_ADDR)
// for chunks and huge blocks; invalid nodes and the HBW kinds on a machine without HBW memory fail
// clearly (strict) or fall back (preferred).
using NativeHeap.Kinds;
using NativeHeap.Os;

namespace NativeHeap.Tests.Kinds;

public sealed unsafe class NumaKindTests
{
    private static (int Mode, ulong Mask) PolicyOf(void* p)
    {
        Assert.True(OsNuma.TryGetPolicy(p, out int mode, out ulong[] mask, out OsError e), e.ToString());
        return (mode, mask[0]);
    }

    private static ulong MaskOf(IEnumerable<int> nodes) => nodes.Aggregate(0UL, (m, n) => m | (1UL << n));

    [NumaFact]
    public void BindPreferredAndInterleaveAreReadBack()
    {
        int node = OsNuma.MemoryNodes()[0];
        (NumaPolicy policy, int mode)[] cases = [(NumaPolicy.Bind, Libc.MPOL_BIND), (NumaPolicy.Preferred, Libc.MPOL_PREFERRED), (NumaPolicy.Interleave, Libc.MPOL_INTERLEAVE)];
        foreach ((NumaPolicy policy, int mode) in cases)
        {
            Assert.True(MemoryKind.TryCreateNuma($"numa-{policy}", policy, [node], null, out MemoryKind? kind, out string error), error);
            try
            {
                foreach (nuint size in new nuint[] { 64, 200_000, 5 << 20 })
                {
                    byte* p = (byte*)kind!.Malloc(size);
                    Assert.True(p != null, kind.LastError);
                    p[0] = 1;
                    (int got, ulong mask) = PolicyOf(p);
                    Assert.Equal(mode, got);
                    Assert.Equal(1UL << node, mask);
                    Assert.True(OsNuma.TryGetNodeOf(p, out int on, out _));
                    Assert.Equal(node, on);
                    Assert.Same(kind, MemoryKind.DetectKind(p));
                    MemoryKind.Free(p);
                }
            }
            finally
            {
                kind!.TryDestroy(out _);
            }
        }
    }

    [NumaFact]
    public void PredefinedInterleaveSpreadsOverEveryMemoryNode()
    {
        byte* p = (byte*)MemoryKind.Interleave.Malloc(100);
        Assert.True(p != null, MemoryKind.Interleave.LastError);
        (int mode, ulong mask) = PolicyOf(p);
        Assert.Equal(Libc.MPOL_INTERLEAVE, mode);
        Assert.Equal(MaskOf(OsNuma.MemoryNodes()), mask);
        MemoryKind.Free(p);
    }

    [NumaFact]
    public void DefaultMemoryHasTheDefaultPolicy()
    {
        void* p = MemoryKind.Default.Malloc(100);
        Assert.Equal(Libc.MPOL_DEFAULT, PolicyOf(p).Mode);
        MemoryKind.Free(p);
    }

    [Fact]
    public void NodesWithoutMemoryAreRefused()
    {
        int missing = OsNuma.MemoryNodes().Max() + 1;
        Assert.False(MemoryKind.TryCreateNuma("numa-missing", NumaPolicy.Bind, [missing], null, out MemoryKind? kind, out string error));
        Assert.Null(kind);
        Assert.Contains($"node {missing}", error);
        Assert.False(MemoryKind.TryCreateNuma("numa-two-preferred", NumaPolicy.Preferred, [0, 0], null, out _, out error));
        Assert.False(MemoryKind.TryCreateNuma("numa-none", NumaPolicy.Bind, [], null, out _, out _));
    }

    [NumaFact]
    public void HbwKindsFollowTheMachine()
    {
        // Without HBW nodes the strict kind fails every allocation with a reason and the preferred
        // kind gives ordinary memory; with them (MEMKIND_HBW_NODES set), both bind / prefer them.
        if (MemoryKind.HbwNodeList.Count == 0)
        {
            Assert.False(MemoryKind.Hbw.CheckAvailable(out string reason));
            Assert.Contains("high-bandwidth", reason);
            Assert.True(MemoryKind.Hbw.Malloc(64) == null);
            Assert.True(MemoryKind.Hbw.Calloc(1, 1 << 20) == null);
            Assert.True(MemoryKind.Hbw.AlignedAlloc(4096, 10) == null);
            Assert.Contains("high-bandwidth", MemoryKind.Hbw.LastError);
            byte* p = (byte*)MemoryKind.HbwPreferred.Malloc(64);
            Assert.True(p != null);
            Assert.Equal(Libc.MPOL_DEFAULT, PolicyOf(p).Mode);
            Assert.Same(MemoryKind.HbwPreferred, MemoryKind.DetectKind(p));
            MemoryKind.Free(p);
        }
        else
        {
            byte* p = (byte*)MemoryKind.Hbw.Malloc(64);
            Assert.True(p != null, MemoryKind.Hbw.LastError);
            Assert.Equal(Libc.MPOL_BIND, PolicyOf(p).Mode);
            MemoryKind.Free(p);
        }
    }

    [NumaFact]
    public void HbwNodesFromTheEnvironmentAreUsed()
    {
        // A child process with MEMKIND_HBW_NODES=<first memory node> simulates HBW memory.
        int node = OsNuma.MemoryNodes()[0];
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "NativeHeap.TestChild.dll"));
        psi.ArgumentList.Add("kinds-hbw-env");
        psi.Environment["MEMKIND_HBW_NODES"] = node.ToString();
        psi.Environment.Remove("NATIVEHEAP_CONF");
        using var child = System.Diagnostics.Process.Start(psi)!;
        string stdout = child.StandardOutput.ReadToEnd(), stderr = child.StandardError.ReadToEnd();
        child.WaitForExit();
        Assert.True(child.ExitCode == 0 && stdout.Contains("OK"), $"exit {child.ExitCode}\n{stdout}\n{stderr}");
    }

    [Fact]
    public void HbwNodeDetectionReadsTheVariableThenHmat()
    {
        Assert.Equal([1, 2, 3, 5], HbwNodes.Detect("1-3,5", null, "/nonexistent", out string origin));
        Assert.Contains("MEMKIND_HBW_NODES", origin);
        Assert.Empty(HbwNodes.Detect("x", null, "/nonexistent", out origin));
        Assert.Contains("not a node list", origin);
        // A fake sysfs tree: node1 reaches the threshold, node0 does not.
        string root = Directory.CreateTempSubdirectory("nheap-hmat").FullName;
        try
        {
            foreach ((int node, int mbps) in new[] { (0, 100_000), (1, 400_000) })
            {
                string dir = Path.Combine(root, $"node{node}", "access0", "initiators");
                Directory.CreateDirectory(dir);
                File.WriteAllText(Path.Combine(dir, "read_bandwidth"), mbps + "\n");
            }
            Assert.Equal([1], HbwNodes.Detect(null, null, root, out origin));
            Assert.Equal([0, 1], HbwNodes.Detect(null, "50000", root, out _));
            Assert.Empty(HbwNodes.Detect(null, "500000", root, out origin));
            Assert.Contains("no node reaches", origin);
        }
        finally
        {
            Directory.Delete(root, true);
        }
    }
}
