// OsNuma: the NUMA vocabulary of the OS layer — set a range's memory policy (mbind), read it back
// (get_mempolicy with MPOL_F_ADDR), and list the nodes this system has.
//
// Contract (as OsMemory's): a Try method returns true on success; on failure it returns false and
// reports errno and the call as an OsError. Node sets are bit masks of node numbers 0..1023
// (NodeMaskWords 64-bit words); a policy applies to pages faulted in after it is set, so it must be
// set before the range is touched. The policy belongs to the mapping (VMA): MADV_DONTNEED keeps it.
namespace NativeHeap.Os;

internal static unsafe class OsNuma
{
    /// <summary>Words of the node masks passed to the kernel (1024 nodes).</summary>
    internal const int NodeMaskWords = 16;
    internal const int MaxNodes = NodeMaskWords * 64;

    /// <summary>The NUMA memory policies kinds use (values are the kernel's MPOL_* modes).</summary>
    internal enum Mode
    {
        Default = Libc.MPOL_DEFAULT,
        Preferred = Libc.MPOL_PREFERRED,
        Bind = Libc.MPOL_BIND,
        Interleave = Libc.MPOL_INTERLEAVE,
    }

    /// <summary>
    /// Sets the memory policy of [addr, addr+size) (mbind with no flags: pages already present stay
    /// where they are). <paramref name="nodes"/> lists node numbers (ignored for Default). Fails with
    /// EINVAL for a node that does not exist or has no memory.
    /// </summary>
    internal static bool TryBind(void* addr, nuint size, Mode mode, ReadOnlySpan<int> nodes, out OsError error)
    {
        ulong* mask = stackalloc ulong[NodeMaskWords];
        new Span<ulong>(mask, NodeMaskWords).Clear();
        foreach (int n in nodes)
        {
            if ((uint)n >= MaxNodes)
            {
                error = new OsError(Libc.EINVAL, $"mbind(node {n})");
                return false;
            }
            mask[n >> 6] |= 1UL << (n & 63);
        }
        bool empty = mode == Mode.Default;
        long r = Libc.syscall(Libc.SYS_mbind, (nint)addr, (nint)size, (nint)mode, empty ? 0 : (nint)mask, empty ? 0 : MaxNodes + 1, 0);
        if (r != 0)
        {
            error = new OsError(Libc.Errno(), $"mbind({(nuint)addr:x}, {size} bytes, {mode}, nodes [{string.Join(",", nodes.ToArray())}])");
            return false;
        }
        error = default;
        return true;
    }

    /// <summary>
    /// Reads the policy of the mapping containing <paramref name="addr"/> (get_mempolicy with
    /// MPOL_F_ADDR): its mode and node mask (bit n = node n).
    /// </summary>
    internal static bool TryGetPolicy(void* addr, out int mode, out ulong[] nodeMask, out OsError error)
    {
        int m = 0;
        ulong* mask = stackalloc ulong[NodeMaskWords];
        new Span<ulong>(mask, NodeMaskWords).Clear();
        long r = Libc.syscall(Libc.SYS_get_mempolicy, (nint)(&m), (nint)mask, MaxNodes + 1, (nint)addr, Libc.MPOL_F_ADDR, 0);
        nodeMask = new Span<ulong>(mask, NodeMaskWords).ToArray();
        mode = m;
        if (r != 0)
        {
            error = new OsError(Libc.Errno(), $"get_mempolicy(MPOL_F_ADDR, {(nuint)addr:x})");
            return false;
        }
        error = default;
        return true;
    }

    /// <summary>
    /// The node a page is on now (get_mempolicy with MPOL_F_NODE | MPOL_F_ADDR); the page must have
    /// been touched.
    /// </summary>
    internal static bool TryGetNodeOf(void* addr, out int node, out OsError error)
    {
        int n = -1;
        long r = Libc.syscall(Libc.SYS_get_mempolicy, (nint)(&n), 0, 0, (nint)addr, Libc.MPOL_F_NODE | Libc.MPOL_F_ADDR, 0);
        node = n;
        if (r != 0)
        {
            error = new OsError(Libc.Errno(), $"get_mempolicy(MPOL_F_NODE|MPOL_F_ADDR, {(nuint)addr:x})");
            return false;
        }
        error = default;
        return true;
    }

    /// <summary>The nodes that have memory (/sys/devices/system/node/has_memory, else "online"); [0] when sysfs has neither.</summary>
    internal static int[] MemoryNodes()
    {
        foreach (string f in new[] { "/sys/devices/system/node/has_memory", "/sys/devices/system/node/online" })
        {
            try
            {
                if (File.Exists(f) && TryParseNodeList(File.ReadAllText(f), out int[] nodes) && nodes.Length > 0) return nodes;
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
        return [0];
    }

    /// <summary>
    /// Each node's read bandwidth from initiators in its access class 0, in MB/s, as the firmware's
    /// memory attributes (ACPI HMAT) give it: &lt;sysfsNodes&gt;/node&lt;N&gt;/access0/initiators/read_bandwidth.
    /// Nodes without the attribute are left out; an unreadable tree gives an empty list.
    /// </summary>
    internal static List<(int Node, long MBps)> ReadBandwidths(string sysfsNodes)
        => ReadNodeValues(sysfsNodes, Path.Combine("access0", "initiators", "read_bandwidth"));

    /// <summary>
    /// One number per node from &lt;sysfsNodes&gt;/node&lt;N&gt;/&lt;relative&gt; (a memory attribute such as
    /// access0/initiators/read_latency, in ns). Nodes without the file are left out; an unreadable
    /// tree gives an empty list.
    /// </summary>
    internal static List<(int Node, long Value)> ReadNodeValues(string sysfsNodes, string relative)
    {
        var result = new List<(int, long)>();
        try
        {
            if (!Directory.Exists(sysfsNodes)) return result;
            foreach (string dir in Directory.EnumerateDirectories(sysfsNodes, "node*"))
            {
                if (!int.TryParse(Path.GetFileName(dir).AsSpan(4), out int node)) continue;
                string f = Path.Combine(dir, relative);
                if (File.Exists(f) && long.TryParse(File.ReadAllText(f).Trim(), out long v)) result.Add((node, v));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return result;
    }

    /// <summary>
    /// Each memory node's capacity in bytes ("Node N MemTotal: K kB" in
    /// /sys/devices/system/node/node&lt;N&gt;/meminfo); without sysfs, node 0 with /proc/meminfo's MemTotal.
    /// </summary>
    internal static List<(int Node, long Bytes)> NodeCapacities()
    {
        var result = new List<(int, long)>();
        foreach (int node in MemoryNodes())
        {
            long kb = ReadMemTotalKb($"/sys/devices/system/node/node{node}/meminfo");
            if (kb > 0) result.Add((node, kb * 1024));
        }
        if (result.Count == 0)
        {
            long kb = ReadMemTotalKb("/proc/meminfo");
            if (kb > 0) result.Add((0, kb * 1024));
        }
        return result;
    }

    private static long ReadMemTotalKb(string file)
    {
        try
        {
            if (!File.Exists(file)) return 0;
            foreach (string line in File.ReadLines(file))
            {
                int i = line.IndexOf("MemTotal:", StringComparison.Ordinal);
                if (i < 0) continue;
                string[] parts = line[(i + 9)..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return parts.Length > 0 && long.TryParse(parts[0], out long kb) ? kb : 0;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return 0;
    }

    /// <summary>Parses a kernel node list ("0", "0-3", "0,2,4-5"); false for anything else.</summary>
    internal static bool TryParseNodeList(string text, out int[] nodes)
    {
        var list = new SortedSet<int>();
        nodes = [];
        foreach (string raw in text.Trim().Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            string part = raw.Trim();
            int dash = part.IndexOf('-');
            if (dash < 0)
            {
                if (!int.TryParse(part, out int n) || (uint)n >= MaxNodes) return false;
                list.Add(n);
                continue;
            }
            if (!int.TryParse(part[..dash], out int lo) || !int.TryParse(part[(dash + 1)..], out int hi) || lo > hi || (uint)hi >= MaxNodes) return false;
            for (int i = lo; i <= hi; i++) list.Add(i);
        }
        nodes = [.. list];
        return true;
    }
}
