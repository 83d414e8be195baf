// KindCapacity: memkind_get_capacity's answer for a NativeHeap kind — the memory the kind draws on.
using NativeHeap.Kinds;
using NativeHeap.Os;

namespace NativeHeap.Native.Exports;

internal static class KindCapacity
{
    /// <summary>Bytes: the NUMA nodes' total for anonymous kinds (its nodes for NUMA-placed ones), reserved huge pages for hugetlb, the maximum for pmem, the area for fixed kinds.</summary>
    internal static long Of(MemoryKind kind)
    {
        switch (kind.Source?.Inner)
        {
            case PmemKindSource p: return p.MaxSize;
            case FixedKindSource f: return (long)f.AreaSize;
            case HugeTlbKindSource: return OsHugePages.PoolPages().Total * (2L << 20);
            case AnonymousKindSource a when a.Nodes.Length > 0:
            {
                var nodes = new HashSet<int>(a.Nodes);
                return OsNuma.NodeCapacities().Where(c => nodes.Contains(c.Node)).Sum(c => c.Bytes);
            }
            default: return OsNuma.NodeCapacities().Sum(c => c.Bytes);
        }
    }
}
