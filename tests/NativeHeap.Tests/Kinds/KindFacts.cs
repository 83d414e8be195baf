// Facts for memory-kind tests that need a kernel feature: each skips, with the reason and the fix,
// when this machine lacks it (the repo's convention: the attribute sets Skip in its constructor).
using NativeHeap.Os;

namespace NativeHeap.Tests.Kinds;

/// <summary>Runs only when 2 MiB huge pages are reserved and free (CI: echo 64 > /proc/sys/vm/nr_hugepages).</summary>
public sealed class HugeTlbFactAttribute : FactAttribute
{
    /// <summary>Skips unless the hugetlb pool has at least 8 free 2 MiB pages.</summary>
    public HugeTlbFactAttribute()
    {
        (long total, long free) = OsHugePages.PoolPages();
        if (free < 8)
            Skip = $"needs at least 8 free 2 MiB huge pages (reserved {total}, free {free}): as root, echo 64 > /proc/sys/vm/nr_hugepages";
    }
}

/// <summary>Runs only when transparent huge pages can be asked for with madvise.</summary>
public sealed class ThpFactAttribute : FactAttribute
{
    /// <summary>Skips unless /sys/kernel/mm/transparent_hugepage/enabled is "always" or "madvise".</summary>
    public ThpFactAttribute()
    {
        string? mode = OsHugePages.TransparentMode();
        if (mode is not ("always" or "madvise"))
            Skip = $"transparent huge pages are not available (mode: {mode ?? "no THP support"}); as root: echo madvise > /sys/kernel/mm/transparent_hugepage/enabled";
    }
}

/// <summary>Runs only when the kernel has the NUMA policy system calls.</summary>
public sealed class NumaFactAttribute : FactAttribute
{
    /// <summary>Skips unless get_mempolicy works (kernels built without CONFIG_NUMA return ENOSYS).</summary>
    public unsafe NumaFactAttribute()
    {
        int probe = 0;
        if (!OsNuma.TryGetPolicy(&probe, out _, out _, out OsError e))
            Skip = $"the kernel has no NUMA memory policy support: {e}";
    }
}
