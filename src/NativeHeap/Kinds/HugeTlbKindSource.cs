// HugeTlbKindSource: memory from the hugetlbfs pool in 2 MiB pages (MAP_HUGETLB). Requests are
// chunk-sized (4 MiB) or whole page-map granules, so always whole huge pages. The pool is reserved
// by the administrator (/proc/sys/vm/nr_hugepages); when it cannot cover a request, mmap fails at
// once and the allocation returns null with LastError saying how many pages are reserved and free.
// Purging zero-fills partial huge pages and releases whole ones; ranges are never split or merged
// (a hugetlb mapping can only be cut at 2 MiB boundaries) and never grown in place.
using NativeHeap.Os;

namespace NativeHeap.Kinds;

internal sealed unsafe class HugeTlbKindSource : IMemorySource, IKindSourceDiagnostics
{
    private string? _lastError;

    public string? LastError => Volatile.Read(ref _lastError);

    /// <summary>Why the pool cannot serve allocations now, or null when it has free pages.</summary>
    internal static string? PoolProblem()
    {
        (long total, long free) = OsHugePages.PoolPages();
        return PoolProblem(total, free);
    }

    /// <summary>Why a pool of <paramref name="total"/> pages with <paramref name="free"/> free cannot serve allocations, or null.</summary>
    internal static string? PoolProblem(long total, long free)
    {
        if (total == 0)
            return "no 2 MiB huge pages are reserved (/proc/sys/vm/nr_hugepages is 0); as root: echo 64 > /proc/sys/vm/nr_hugepages";
        if (free == 0)
            return $"all {total} reserved 2 MiB huge pages are in use (/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages is 0)";
        return null;
    }

    public void* Allocate(void* at, nuint size, nuint alignment, out bool zeroed)
    {
        zeroed = true;
        if (at != null) return null;
        size = (size + OsHugePages.HugePageSize - 1) & ~(OsHugePages.HugePageSize - 1);
        if (!OsHugePages.TryMapHugeTlb(size, Math.Max(alignment, OsHugePages.HugePageSize), out void* p, out OsError error))
        {
            (long total, long free) = OsHugePages.PoolPages();
            Volatile.Write(ref _lastError, $"{error}; 2 MiB huge pages reserved: {total}, free: {free}" +
                (total == 0 ? " (as root: echo 64 > /proc/sys/vm/nr_hugepages)" : ""));
            return null;
        }
        return p;
    }

    public bool TryRelease(void* address, nuint size)
        => OsMemory.TryUnmap(address, (size + OsHugePages.HugePageSize - 1) & ~(OsHugePages.HugePageSize - 1), out _);

    public bool TryCommit(void* address, nuint size) => true;

    public bool TryDecommit(void* address, nuint size) => false;

    public bool TryPurgeLazy(void* address, nuint size) => false;

    public bool TryPurgeForced(void* address, nuint size) => OsHugePages.TryPurgeHugeTlb(address, size, out _);

    public bool TrySplit(void* address, nuint size, nuint firstSize) => false;

    public bool TryMerge(void* first, nuint firstSize, void* second, nuint secondSize) => false;
}
