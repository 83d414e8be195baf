// Memory-kind scenarios that need their own process: the HBW kinds read MEMKIND_HBW_NODES once, at
// first use, so the parent sets it in this child's environment.
using NativeHeap.Kinds;
using NativeHeap.Os;

namespace NativeHeap.TestChild;

internal static unsafe class KindScenarios
{
    /// <summary>With MEMKIND_HBW_NODES=n, Hbw binds to node n and HbwPreferred prefers it.</summary>
    internal static string? HbwFromEnvironment()
    {
        int node = int.Parse(Environment.GetEnvironmentVariable("MEMKIND_HBW_NODES")!);
        if (MemoryKind.HbwNodeList.Count != 1 || MemoryKind.HbwNodeList[0] != node) return $"HBW nodes {string.Join(",", MemoryKind.HbwNodeList)}";
        if (!MemoryKind.Hbw.CheckAvailable(out string reason)) return "Hbw unavailable: " + reason;
        foreach ((MemoryKind kind, int mode) in new[] { (MemoryKind.Hbw, Libc.MPOL_BIND), (MemoryKind.HbwPreferred, Libc.MPOL_PREFERRED) })
        {
            foreach (nuint size in new nuint[] { 64, 100_000, 6 << 20 })
            {
                byte* p = (byte*)kind.Malloc(size);
                if (p == null) return $"{kind} returned null for {size}: {kind.LastError}";
                p[0] = 1;
                if (!OsNuma.TryGetPolicy(p, out int got, out ulong[] mask, out OsError e)) return e.ToString();
                if (got != mode || mask[0] != 1UL << node) return $"{kind}: policy {got} mask {mask[0]:x}, expected {mode} on node {node}";
                if (MemoryKind.DetectKind(p) != kind) return $"{kind}: detected {MemoryKind.DetectKind(p)}";
                MemoryKind.Free(p);
            }
        }
        return null;
    }

    /// <summary>In checked mode (NATIVEHEAP_CONF=checked:true) kinds bypass their caches and misuse is caught.</summary>
    internal static string? CheckedKinds()
    {
        if (!MemoryKind.TryCreate("checked", NativeHeap.General.OsMemorySource.Instance, null, out MemoryKind? kind, out string error)) return error;
        var blocks = new List<nint>();
        for (int i = 0; i < 1000; i++)
        {
            byte* p = (byte*)kind!.Malloc((nuint)(8 + i * 13 % 40000));
            if (p == null || MemoryKind.DetectKind(p) != kind) return $"block {i}: {(nint)p:x}";
            blocks.Add((nint)p);
        }
        foreach (nint b in blocks) MemoryKind.Free((void*)b);
        try
        {
            MemoryKind.Free((void*)blocks[0]);
            return "a double free of a kind's block was not detected";
        }
        catch (HeapMisuseException)
        {
        }
        if (kind!.GetStats().Allocated != 0) return $"allocated {kind.GetStats().Allocated} after freeing everything";
        return kind.TryDestroy(out error) ? null : error;
    }
}
