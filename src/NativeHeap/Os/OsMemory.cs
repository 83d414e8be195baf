// OsMemory: the page vocabulary of the OS layer (after jemalloc's pages.c): map, unmap, commit,
// decommit, and purge lazily or forcibly.
//
// Contract of every method here:
//  - addresses and sizes are multiples of the OS page size (4 KiB on x86-64 Linux) unless stated;
//  - a Try method returns true on success; on failure it returns false, changes nothing that the
//    caller can observe, and reports the errno and the call through an OsError;
//  - memory returned by a map call is readable, writable and zero-filled (anonymous mappings are
//    committed lazily by the kernel: a page costs RSS only once it is touched).
// No other folder calls the OS for memory; everything above this layer sees only these verbs.
using System.Runtime.CompilerServices;

namespace NativeHeap.Os;

internal static unsafe class OsMemory
{
    /// <summary>The OS page size; NativeHeap requires 4 KiB pages (x86-64 Linux).</summary>
    internal const int PageSize = 4096;
    internal const int LgPageSize = 12;

    /// <summary>Number of online processors, read once.</summary>
    internal static readonly int CpuCount = Math.Max(1, (int)Libc.sysconf(Libc._SC_NPROCESSORS_ONLN));

    /// <summary>
    /// Maps <paramref name="size"/> bytes of zeroed anonymous read-write memory aligned to
    /// <paramref name="alignment"/> (a power of two, at least a page). Over-maps by the alignment and
    /// unmaps the excess on both sides, so the result owns exactly [addr, addr+size).
    /// </summary>
    internal static bool TryMapAligned(nuint size, nuint alignment, out void* addr, out OsError error, int extraFlags = 0)
    {
        Debug.Assert(size % PageSize == 0 && alignment >= PageSize && (alignment & (alignment - 1)) == 0);
        addr = null;
        int flags = Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | extraFlags;
        if (alignment <= PageSize)
        {
            void* p = Libc.mmap(null, size, Libc.PROT_READ | Libc.PROT_WRITE, flags, -1, 0);
            if (p == Libc.MAP_FAILED)
            {
                error = new OsError(Libc.Errno(), $"mmap({size} bytes)");
                return false;
            }
            addr = p;
            error = default;
            return true;
        }
        nuint total = size + alignment - PageSize;
        if (total < size)
        {
            error = new OsError(Libc.ENOMEM, $"mmap({size} bytes, alignment {alignment})");
            return false;
        }
        void* raw = Libc.mmap(null, total, Libc.PROT_READ | Libc.PROT_WRITE, flags, -1, 0);
        if (raw == Libc.MAP_FAILED)
        {
            error = new OsError(Libc.Errno(), $"mmap({total} bytes)");
            return false;
        }
        nuint start = ((nuint)raw + alignment - 1) & ~(alignment - 1);
        nuint lead = start - (nuint)raw;
        nuint trail = total - lead - size;
        if (lead != 0) Libc.munmap(raw, lead);
        if (trail != 0) Libc.munmap((void*)(start + size), trail);
        addr = (void*)start;
        error = default;
        return true;
    }

    /// <summary>
    /// Maps zeroed anonymous memory exactly at <paramref name="at"/> without replacing anything
    /// (MAP_FIXED_NOREPLACE). Fails with EEXIST when any page of the range is already mapped.
    /// </summary>
    internal static bool TryMapAt(void* at, nuint size, out OsError error, int extraFlags = 0)
    {
        int flags = Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_FIXED_NOREPLACE | extraFlags;
        void* p = Libc.mmap(at, size, Libc.PROT_READ | Libc.PROT_WRITE, flags, -1, 0);
        if (p == Libc.MAP_FAILED)
        {
            error = new OsError(Libc.Errno(), $"mmap(fixed {(nuint)at:x}, {size} bytes)");
            return false;
        }
        if (p != at)
        {
            // Kernels older than 4.17 ignore MAP_FIXED_NOREPLACE and treat the address as a hint.
            Libc.munmap(p, size);
            error = new OsError(Libc.EEXIST, $"mmap(fixed {(nuint)at:x}, {size} bytes)");
            return false;
        }
        error = default;
        return true;
    }

    /// <summary>
    /// Reserves address space that is only backed when touched and never counted against
    /// overcommit (MAP_NORESERVE). Used for sparse tables such as the page map.
    /// </summary>
    internal static bool TryReserveSparse(nuint size, out void* addr, out OsError error)
        => TryMapAligned(size, PageSize, out addr, out error, Libc.MAP_NORESERVE);

    /// <summary>Unmaps [addr, addr+size). Failure here means a bookkeeping bug, so it is reported, not hidden.</summary>
    internal static bool TryUnmap(void* addr, nuint size, out OsError error)
    {
        if (Libc.munmap(addr, size) != 0)
        {
            error = new OsError(Libc.Errno(), $"munmap({(nuint)addr:x}, {size} bytes)");
            return false;
        }
        error = default;
        return true;
    }

    /// <summary>
    /// Returns the pages to the OS at once (MADV_DONTNEED): RSS drops now and the next touch reads
    /// zeroes. The range stays mapped.
    /// </summary>
    internal static bool TryPurgeForced(void* addr, nuint size, out OsError error)
        => Advise(addr, size, Libc.MADV_DONTNEED, "madvise(MADV_DONTNEED)", out error);

    /// <summary>
    /// Lets the OS take the pages when it needs them (MADV_FREE): cheap now, RSS falls only under
    /// memory pressure, and the contents are undefined (old data or zeroes) until written.
    /// </summary>
    internal static bool TryPurgeLazy(void* addr, nuint size, out OsError error)
        => Advise(addr, size, Libc.MADV_FREE, "madvise(MADV_FREE)", out error);

    /// <summary>Makes the range inaccessible and drops its pages (decommit). Touching it faults.</summary>
    internal static bool TryDecommit(void* addr, nuint size, out OsError error)
    {
        if (Libc.mprotect(addr, size, Libc.PROT_NONE) != 0)
        {
            error = new OsError(Libc.Errno(), $"mprotect({(nuint)addr:x}, {size}, PROT_NONE)");
            return false;
        }
        return TryPurgeForced(addr, size, out error);
    }

    /// <summary>Makes a decommitted range readable and writable again (commit).</summary>
    internal static bool TryCommit(void* addr, nuint size, out OsError error)
    {
        if (Libc.mprotect(addr, size, Libc.PROT_READ | Libc.PROT_WRITE) != 0)
        {
            error = new OsError(Libc.Errno(), $"mprotect({(nuint)addr:x}, {size}, PROT_READ|PROT_WRITE)");
            return false;
        }
        error = default;
        return true;
    }

    /// <summary>
    /// Counts the resident pages of a mapped, page-aligned range (mincore): pages in RAM, whether or not
    /// other processes share them. False (ENOMEM) when part of the range is not mapped.
    /// </summary>
    internal static bool TryCountResident(void* addr, nuint size, out nuint residentPages, out OsError error)
    {
        residentPages = 0;
        nuint pages = (size + PageSize - 1) / PageSize;
        const int Chunk = 4096;
        byte* vec = stackalloc byte[Chunk];
        for (nuint done = 0; done < pages;)
        {
            nuint n = Math.Min(pages - done, Chunk);
            if (Libc.mincore((byte*)addr + done * PageSize, n * PageSize, vec) != 0)
            {
                error = new OsError(Libc.Errno(), $"mincore on {(nuint)addr + done * PageSize:x}, {n * PageSize} bytes");
                return false;
            }
            for (nuint i = 0; i < n; i++) residentPages += (nuint)(vec[i] & 1);
            done += n;
        }
        error = default;
        return true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool Advise(void* addr, nuint size, int advice, string name, out OsError error)
    {
        if (Libc.madvise(addr, size, advice) != 0)
        {
            error = new OsError(Libc.Errno(), $"{name} on {(nuint)addr:x}, {size} bytes");
            return false;
        }
        error = default;
        return true;
    }
}
