// IMemorySource: where an arena gets its memory — the meaning of jemalloc's extent hooks in C# form.
// The default source maps anonymous memory (OsMemorySource). Memory kinds (huge pages, NUMA,
// file-backed) are sources; an arena created with a source uses it for every chunk and huge block.
//
// Contract (all sizes and addresses are multiples of the 4 KiB page; every method may be called
// from any thread, concurrently, but never for overlapping ranges at once):
//  - Allocate returns memory of exactly `size` bytes aligned to `alignment` (a power of two, at least
//    4 MiB for chunks), or null when it cannot. When `at` is not null it must return exactly `at` or
//    null (used to grow a huge block in place). It reports whether the memory is already zeroed.
//  - TryRelease gives a range back (dalloc); false means the source keeps it (the arena then just
//    forgets it). TryPurgeForced must leave the range zero-filled; TryPurgeLazy may leave old data.
//  - TrySplit / TryMerge are asked before a huge block is cut in two (to shrink in place) or two
//    adjacent ranges become one (to grow in place); false forbids it.
//  - Methods other than Allocate return true on success (NativeHeap's TryX convention).
namespace NativeHeap;

/// <summary>
/// A source of memory for an arena (jemalloc's extent hooks). Implement it to serve a heap from
/// memory of your choosing; the default maps anonymous memory with mmap.
/// </summary>
public unsafe interface IMemorySource
{
    /// <summary>
    /// Returns <paramref name="size"/> bytes aligned to <paramref name="alignment"/>, at
    /// <paramref name="at"/> exactly when it is not null, or null on failure.
    /// </summary>
    /// <param name="at">Required address, or null for anywhere.</param>
    /// <param name="size">Bytes wanted (a page multiple).</param>
    /// <param name="alignment">Alignment (a power of two, at least a page).</param>
    /// <param name="zeroed">Set to true when the returned memory is known to read as zeroes.</param>
    void* Allocate(void* at, nuint size, nuint alignment, out bool zeroed);

    /// <summary>Returns a range obtained from <see cref="Allocate"/> (whole, or a part after a split).</summary>
    bool TryRelease(void* address, nuint size);

    /// <summary>Makes a range usable again after <see cref="TryDecommit"/>.</summary>
    bool TryCommit(void* address, nuint size);

    /// <summary>Gives up the physical memory of a range and makes it inaccessible.</summary>
    bool TryDecommit(void* address, nuint size);

    /// <summary>Lets the system reclaim the pages when it wants; contents become undefined.</summary>
    bool TryPurgeLazy(void* address, nuint size);

    /// <summary>Returns the pages now; the range must read as zeroes afterwards.</summary>
    bool TryPurgeForced(void* address, nuint size);

    /// <summary>Agrees that [address, address+size) becomes two ranges at <paramref name="firstSize"/>.</summary>
    bool TrySplit(void* address, nuint size, nuint firstSize);

    /// <summary>Agrees that two adjacent ranges become one.</summary>
    bool TryMerge(void* first, nuint firstSize, void* second, nuint secondSize);
}
