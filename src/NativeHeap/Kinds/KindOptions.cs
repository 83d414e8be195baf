// KindOptions: per-kind settings chosen at creation — arena policy and count, the thread-cache size
// limit and the usage policy (decay).
namespace NativeHeap.Kinds;

/// <summary>Settings of a memory kind, fixed when the kind is created.</summary>
public sealed class KindOptions
{
    /// <summary>How threads are spread over the kind's arenas. Default: <see cref="KindArenaPolicy.PerThreadHash"/>.</summary>
    public KindArenaPolicy ArenaPolicy { get; init; } = KindArenaPolicy.PerThreadHash;

    /// <summary>Arenas for <see cref="KindArenaPolicy.PerThreadHash"/>; 0 means 4 × the number of CPUs (memkind's choice).</summary>
    public int ArenaCount { get; init; }

    /// <summary>
    /// Largest size served from the per-thread, per-kind caches; null means <see cref="DefaultThreadCacheMax"/>
    /// (32 KiB, memkind's jemalloc default; the general heap's own tcache_max is larger). At most 2 MiB;
    /// larger sizes go to the arena (one lock per call).
    /// </summary>
    public nuint? ThreadCacheMax { get; init; }

    /// <summary>The kinds' tcache_max when <see cref="ThreadCacheMax"/> is null: 32 KiB.</summary>
    public const nuint DefaultThreadCacheMax = 32 * 1024;

    /// <summary>How quickly freed pages go back (decay). Default: <see cref="MemoryUsagePolicy.Default"/>.</summary>
    public MemoryUsagePolicy UsagePolicy { get; init; } = MemoryUsagePolicy.Default;

    internal int ResolvedArenaCount => ArenaPolicy == KindArenaPolicy.Single ? 1 : ArenaCount > 0 ? ArenaCount : 4 * Os.OsMemory.CpuCount;

    internal void Validate()
    {
        if (ArenaCount < 0) throw new ArgumentOutOfRangeException(nameof(ArenaCount), "ArenaCount must be 0 (automatic) or positive");
        if (ArenaCount > 1024) throw new ArgumentOutOfRangeException(nameof(ArenaCount), "ArenaCount must be at most 1024");
        if (ThreadCacheMax is nuint m && m > General.Arena.LargeMax) throw new ArgumentOutOfRangeException(nameof(ThreadCacheMax), "ThreadCacheMax must be at most 2 MiB");
        if (!Enum.IsDefined(ArenaPolicy)) throw new ArgumentOutOfRangeException(nameof(ArenaPolicy));
        if (!Enum.IsDefined(UsagePolicy)) throw new ArgumentOutOfRangeException(nameof(UsagePolicy));
    }
}
