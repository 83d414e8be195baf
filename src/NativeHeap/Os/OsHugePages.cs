// OsHugePages: huge-page verbs of the OS layer — map hugetlbfs pages (MAP_HUGETLB, 2 MiB), ask for
// transparent huge pages (MADV_HUGEPAGE), zero-and-release a range of hugetlb pages, and read the
// 2 MiB pool's counters.
//
// Contract (as OsMemory's): Try methods return true on success, else false with errno as an OsError.
// Terms: "reserved" huge pages are the pool set by /proc/sys/vm/nr_hugepages; a private MAP_HUGETLB
// mapping takes its pages from the pool when it is created, so mmap fails with ENOMEM at once when
// the pool cannot cover it (no SIGBUS later). A hugetlb range can only be unmapped or released in
// whole, aligned huge pages.
namespace NativeHeap.Os;

internal static unsafe class OsHugePages
{
    internal const nuint HugePageSize = 2 * 1024 * 1024;

    /// <summary>
    /// Maps <paramref name="size"/> bytes (a multiple of 2 MiB) of private hugetlb memory aligned to
    /// <paramref name="alignment"/> (≥ 2 MiB): reserves the aligned range with ordinary anonymous
    /// memory first, then replaces it with MAP_FIXED | MAP_HUGETLB | MAP_HUGE_2MB.
    /// </summary>
    internal static bool TryMapHugeTlb(nuint size, nuint alignment, out void* addr, out OsError error)
    {
        Debug.Assert(size % HugePageSize == 0 && alignment >= HugePageSize);
        addr = null;
        if (!OsMemory.TryMapAligned(size, alignment, out void* range, out error, Libc.MAP_NORESERVE)) return false;
        int flags = Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_FIXED | Libc.MAP_HUGETLB | Libc.MAP_HUGE_2MB;
        void* p = Libc.mmap(range, size, Libc.PROT_READ | Libc.PROT_WRITE, flags, -1, 0);
        if (p == Libc.MAP_FAILED)
        {
            int errno = Libc.Errno();
            Libc.munmap(range, size);
            error = new OsError(errno, $"mmap(MAP_HUGETLB 2 MiB pages, {size} bytes)");
            return false;
        }
        addr = p;
        return true;
    }

    /// <summary>
    /// Makes [addr, addr+size) of a hugetlb mapping read as zeroes and gives back the whole huge
    /// pages inside it (MADV_DONTNEED on the 2 MiB-aligned middle; the partial huge pages at the ends,
    /// which stay resident, are zero-filled). Falls back to zero-filling everything when the kernel
    /// refuses MADV_DONTNEED on hugetlb memory (before Linux 5.18).
    /// </summary>
    internal static bool TryPurgeHugeTlb(void* addr, nuint size, out OsError error)
    {
        nuint start = (nuint)addr, end = start + size;
        nuint innerStart = (start + HugePageSize - 1) & ~(HugePageSize - 1);
        nuint innerEnd = end & ~(HugePageSize - 1);
        error = default;
        if (innerStart >= innerEnd)
        {
            NativeMemory.Clear(addr, size);
            return true;
        }
        if (innerStart > start) NativeMemory.Clear(addr, innerStart - start);
        if (end > innerEnd) NativeMemory.Clear((void*)innerEnd, end - innerEnd);
        if (Libc.madvise((void*)innerStart, innerEnd - innerStart, Libc.MADV_DONTNEED) != 0)
        {
            error = new OsError(Libc.Errno(), $"madvise(MADV_DONTNEED) on hugetlb {innerStart:x}, {innerEnd - innerStart} bytes");
            NativeMemory.Clear((void*)innerStart, innerEnd - innerStart);
        }
        return true;
    }

    /// <summary>Asks for transparent huge pages on the range (MADV_HUGEPAGE); needs THP "always" or "madvise".</summary>
    internal static bool TryAdviseTransparent(void* addr, nuint size, out OsError error)
    {
        if (Libc.madvise(addr, size, Libc.MADV_HUGEPAGE) != 0)
        {
            error = new OsError(Libc.Errno(), $"madvise(MADV_HUGEPAGE) on {(nuint)addr:x}, {size} bytes");
            return false;
        }
        error = default;
        return true;
    }

    /// <summary>The 2 MiB pool's total and free page counts (sysfs); (0, 0) when the kernel has no hugetlb support.</summary>
    internal static (long Total, long Free) PoolPages()
    {
        const string dir = "/sys/kernel/mm/hugepages/hugepages-2048kB/";
        return (ReadLong(dir + "nr_hugepages"), ReadLong(dir + "free_hugepages"));
    }

    /// <summary>The THP mode, the bracketed word of /sys/kernel/mm/transparent_hugepage/enabled ("always", "madvise", "never"), or null.</summary>
    internal static string? TransparentMode()
    {
        try
        {
            string s = File.ReadAllText("/sys/kernel/mm/transparent_hugepage/enabled");
            int a = s.IndexOf('['), b = s.IndexOf(']');
            return a >= 0 && b > a ? s[(a + 1)..b] : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static long ReadLong(string path)
    {
        try
        {
            return File.Exists(path) && long.TryParse(File.ReadAllText(path).Trim(), out long v) ? v : 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }
}
