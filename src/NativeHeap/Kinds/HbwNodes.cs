// HbwNodes: which NUMA nodes are high-bandwidth memory, found as memkind finds them:
//  1. the MEMKIND_HBW_NODES environment variable, a node list such as "1" or "0,2-3" (memkind's way
//     to name them by hand, and how tests simulate HBW memory on a machine without it);
//  2. otherwise the firmware's memory attributes (ACPI HMAT) as Linux exposes them:
//     /sys/devices/system/node/node<N>/access0/initiators/read_bandwidth (MB/s); a node is
//     high-bandwidth when it reaches MEMKIND_HBW_THRESHOLD MB/s (default 204800, i.e. 200 GB/s,
//     memkind's default threshold).
// No node found means the machine has no HBW memory: the strict Hbw kind then fails every
// allocation with that reason and HbwPreferred falls back to ordinary memory.
using NativeHeap.Os;

namespace NativeHeap.Kinds;

internal static class HbwNodes
{
    internal const string NodesVariable = "MEMKIND_HBW_NODES";
    internal const string ThresholdVariable = "MEMKIND_HBW_THRESHOLD";
    internal const long DefaultThresholdMBps = 200 * 1024;
    internal const string SysfsNodes = "/sys/devices/system/node";

    /// <summary>The HBW nodes of this process's environment and machine, with where they came from.</summary>
    internal static int[] Detect(out string origin)
        => Detect(Environment.GetEnvironmentVariable(NodesVariable), Environment.GetEnvironmentVariable(ThresholdVariable), SysfsNodes, out origin);

    /// <summary>The HBW nodes given these inputs (the environment variables' values and a sysfs node directory).</summary>
    internal static int[] Detect(string? nodesVariable, string? thresholdVariable, string sysfsNodes, out string origin)
    {
        if (!string.IsNullOrWhiteSpace(nodesVariable))
        {
            if (OsNuma.TryParseNodeList(nodesVariable, out int[] nodes) && nodes.Length > 0)
            {
                origin = $"{NodesVariable}={nodesVariable}";
                return nodes;
            }
            origin = $"{NodesVariable}={nodesVariable} is not a node list (expected e.g. \"1\" or \"0,2-3\")";
            return [];
        }
        long threshold = long.TryParse(thresholdVariable, out long t) && t > 0 ? t : DefaultThresholdMBps;
        var found = new List<int>();
        foreach ((int node, long mbps) in OsNuma.ReadBandwidths(sysfsNodes))
            if (mbps >= threshold) found.Add(node);
        found.Sort();
        origin = found.Count > 0
            ? $"HMAT read_bandwidth >= {threshold} MB/s in {sysfsNodes}"
            : $"no node reaches {threshold} MB/s read bandwidth in {sysfsNodes}/node*/access0/initiators/read_bandwidth and {NodesVariable} is not set";
        return [.. found];
    }
}
