// KindStats: a snapshot of one memory kind's statistics, the sum over its arenas plus what its
// memory source reports. A plain data type: the control namespace exposes it as kinds.<name>.*.
namespace NativeHeap.Kinds;

/// <summary>Statistics of one memory kind (the aggregate of its arenas and its memory source).</summary>
public sealed record KindStats
{
    /// <summary>The kind's name.</summary>
    public required string Name { get; init; }
    /// <summary>Arenas serving the kind.</summary>
    public int Arenas { get; init; }
    /// <summary>Threads that have a cache for the kind.</summary>
    public int ThreadCaches { get; init; }
    /// <summary>Bytes in live blocks by usable size, including blocks held in the kind's thread caches.</summary>
    public long Allocated { get; init; }
    /// <summary>Bytes in pages of live slabs, large and huge blocks.</summary>
    public long Active { get; init; }
    /// <summary>Estimate of resident bytes: active pages plus freed pages not purged yet (dirty, muzzy).</summary>
    public long Resident { get; init; }
    /// <summary>Bytes the arenas hold from the kind's memory source (chunks and huge mappings).</summary>
    public long Mapped { get; init; }
    /// <summary>Freed pages waiting for decay.</summary>
    public long DirtyPages { get; init; }
    /// <summary>Freed pages purged lazily.</summary>
    public long MuzzyPages { get; init; }
    /// <summary>Pages purged so far.</summary>
    public long PurgedPages { get; init; }
    /// <summary>Live huge blocks (above 2 MiB).</summary>
    public long HugeBlocks { get; init; }
    /// <summary>Successful Allocate calls of the source.</summary>
    public long SourceAllocations { get; init; }
    /// <summary>Failed Allocate calls of the source (out of memory, no huge pages, pmem maximum...).</summary>
    public long SourceFailures { get; init; }
    /// <summary>The source's last failure, or null.</summary>
    public string? LastError { get; init; }
    /// <summary>Dirty decay time of the kind's arenas (ms).</summary>
    public long DirtyDecayMs { get; init; }
    /// <summary>Muzzy decay time of the kind's arenas (ms).</summary>
    public long MuzzyDecayMs { get; init; }
}
