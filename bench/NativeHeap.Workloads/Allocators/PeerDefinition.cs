// PeerDefinition: how to find one peer allocator: its shared object, the Debian package that ships
// it, the names of its exports for each IAllocator call and how to purge it.
namespace NativeHeap.Workloads.Allocators;

/// <summary>The static description of a peer allocator library.</summary>
/// <param name="Name">Short name (<c>glibc</c>, <c>jemalloc</c>, ...).</param>
/// <param name="SoName">The shared object to load.</param>
/// <param name="AptPackage">The Debian package that brings it.</param>
/// <param name="Malloc">Export name of malloc.</param>
/// <param name="Calloc">Export name of calloc.</param>
/// <param name="Realloc">Export name of realloc.</param>
/// <param name="Free">Export name of free.</param>
/// <param name="SizedFree">Export name of the sized free, or null when the peer has none.</param>
/// <param name="AlignedAlloc">Export name of the (alignment, size) aligned allocation.</param>
/// <param name="UsableSize">Export name of malloc_usable_size.</param>
/// <param name="Purge">How the peer returns unused memory to the OS.</param>
public sealed record PeerDefinition(
    string Name, string SoName, string AptPackage,
    string Malloc, string Calloc, string Realloc, string Free, string? SizedFree,
    string AlignedAlloc, string UsableSize, PurgeKind Purge)
{
    /// <summary>The peers the harness knows, in table order.</summary>
    public static IReadOnlyList<PeerDefinition> All { get; } =
    [
        new("glibc", "libc.so.6", "libc6",
            "malloc", "calloc", "realloc", "free", null, "aligned_alloc", "malloc_usable_size", PurgeKind.MallocTrim),
        new("jemalloc", "libjemalloc.so.2", "libjemalloc2",
            "malloc", "calloc", "realloc", "free", "sdallocx", "aligned_alloc", "malloc_usable_size", PurgeKind.JemallocArenaPurge),
        new("mimalloc", "libmimalloc.so.2", "libmimalloc2.0",
            "mi_malloc", "mi_calloc", "mi_realloc", "mi_free", "mi_free_size", "mi_aligned_alloc", "mi_usable_size", PurgeKind.MimallocCollect),
        new("tcmalloc", "libtcmalloc_minimal.so.4", "libtcmalloc-minimal4",
            "tc_malloc", "tc_calloc", "tc_realloc", "tc_free", "tc_free_sized", "tc_memalign", "tc_malloc_size", PurgeKind.TcmallocRelease),
    ];
}

/// <summary>The purge call of each peer.</summary>
public enum PurgeKind
{
    /// <summary>glibc: <c>malloc_trim(0)</c>.</summary>
    MallocTrim,

    /// <summary>jemalloc: <c>mallctl("arena.4096.purge")</c> (4096 = MALLCTL_ARENAS_ALL).</summary>
    JemallocArenaPurge,

    /// <summary>mimalloc: <c>mi_collect(true)</c>.</summary>
    MimallocCollect,

    /// <summary>tcmalloc: <c>MallocExtension_ReleaseFreeMemory()</c>.</summary>
    TcmallocRelease,
}
