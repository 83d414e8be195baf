// HeapStats: a snapshot of the general heap's statistics, read under each arena's and bin's lock so
// that every figure within one arena is consistent. Named after jemalloc's stats.* where the concept
// exists. Building a snapshot allocates managed objects; it is never on a fast path.
using System.Text;

namespace NativeHeap;

/// <summary>Statistics of one small size class in one arena (stats.arenas.&lt;i&gt;.bins.&lt;j&gt;).</summary>
public sealed record BinStats(
    int Index, long Size, int Regions, long SlabSize,
    long NMalloc, long NDalloc, long NRequests, long CurRegs, long CurSlabs, long NSlabs, long NFills, long NFlushes);

/// <summary>Statistics of one large size class in one arena (stats.arenas.&lt;i&gt;.lextents.&lt;j&gt;).</summary>
public sealed record LargeStats(int Index, long Size, long NMalloc, long NDalloc, long CurExtents);

/// <summary>Statistics of one arena (stats.arenas.&lt;i&gt;).</summary>
public sealed class ArenaStats
{
    /// <summary>Arena index.</summary>
    public int Index { get; init; }
    /// <summary>True for arenas made by <see cref="Heap.CreateArena"/>.</summary>
    public bool IsExplicit { get; init; }
    /// <summary>Threads whose cache is attached to the arena.</summary>
    public int Threads { get; init; }
    /// <summary>Bytes mapped by the arena (chunks and huge mappings).</summary>
    public long Mapped { get; init; }
    /// <summary>Pages in live slabs and large blocks (pactive).</summary>
    public long ActivePages { get; init; }
    /// <summary>Free pages still resident, waiting for decay (pdirty).</summary>
    public long DirtyPages { get; init; }
    /// <summary>Free pages purged lazily (pmuzzy).</summary>
    public long MuzzyPages { get; init; }
    /// <summary>Free pages purged or never used (not resident).</summary>
    public long CleanPages { get; init; }
    /// <summary>Chunks mapped.</summary>
    public int Chunks { get; init; }
    /// <summary>Purge passes that did work (dirty_npurge).</summary>
    public long PurgePasses { get; init; }
    /// <summary>Purge calls to the memory source (dirty_nmadvise).</summary>
    public long PurgeCalls { get; init; }
    /// <summary>Pages purged (dirty_purged).</summary>
    public long PurgedPages { get; init; }
    /// <summary>Bytes in live small regions, including those in thread caches.</summary>
    public long SmallAllocated { get; init; }
    /// <summary>Bytes in live large blocks, including those in thread caches.</summary>
    public long LargeAllocated { get; init; }
    /// <summary>Bytes in live huge blocks.</summary>
    public long HugeAllocated { get; init; }
    /// <summary>Live huge blocks.</summary>
    public long HugeCount { get; init; }
    /// <summary>Dirty decay time (ms).</summary>
    public long DirtyDecayMs { get; init; }
    /// <summary>Muzzy decay time (ms).</summary>
    public long MuzzyDecayMs { get; init; }
    /// <summary>Per small class.</summary>
    public IReadOnlyList<BinStats> Bins { get; init; } = [];
    /// <summary>Per large class with any activity.</summary>
    public IReadOnlyList<LargeStats> Large { get; init; } = [];
}

/// <summary>Heap-wide statistics (stats.*).</summary>
public sealed class HeapStats
{
    /// <summary>Bytes in live blocks by usable size, including blocks cached by threads (stats.allocated).</summary>
    public long Allocated { get; init; }
    /// <summary>Bytes in pages of live slabs and blocks (stats.active).</summary>
    public long Active { get; init; }
    /// <summary>Bytes of metadata (stats.metadata): chunk headers in use and the metadata allocator's mappings.</summary>
    public long Metadata { get; init; }
    /// <summary>Estimate of resident bytes (stats.resident): active, dirty and muzzy pages plus metadata.</summary>
    public long Resident { get; init; }
    /// <summary>Bytes mapped from memory sources, plus metadata mappings (stats.mapped).</summary>
    public long Mapped { get; init; }
    /// <summary>Bytes of virtual memory kept rather than unmapped (stats.retained); NativeHeap unmaps, so 0.</summary>
    public long Retained { get; init; }
    /// <summary>Per arena, for arenas that exist.</summary>
    public IReadOnlyList<ArenaStats> Arenas { get; init; } = [];

    /// <inheritdoc />
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.AppendLine("___ NativeHeap statistics ___");
        sb.AppendLine($"allocated: {Allocated,14:N0}  active: {Active,14:N0}  metadata: {Metadata,12:N0}");
        sb.AppendLine($"resident:  {Resident,14:N0}  mapped: {Mapped,14:N0}  retained: {Retained,12:N0}");
        foreach (ArenaStats a in Arenas)
        {
            if (a.Mapped == 0 && a.Threads == 0) continue;
            sb.AppendLine($"arena {a.Index}{(a.IsExplicit ? " (explicit)" : "")}: threads {a.Threads}, chunks {a.Chunks}, mapped {a.Mapped:N0}, " +
                          $"pages active {a.ActivePages:N0} dirty {a.DirtyPages:N0} muzzy {a.MuzzyPages:N0} clean {a.CleanPages:N0}, " +
                          $"purged {a.PurgedPages:N0} pages in {a.PurgeCalls:N0} calls");
            sb.AppendLine($"  small {a.SmallAllocated:N0} B, large {a.LargeAllocated:N0} B, huge {a.HugeAllocated:N0} B in {a.HugeCount} blocks");
            foreach (BinStats b in a.Bins)
            {
                if (b.NMalloc == 0) continue;
                sb.AppendLine($"  bin {b.Size,6}: nmalloc {b.NMalloc,10:N0} ndalloc {b.NDalloc,10:N0} nrequests {b.NRequests,10:N0} curregs {b.CurRegs,8:N0} curslabs {b.CurSlabs,6:N0}");
            }
            foreach (LargeStats l in a.Large)
                sb.AppendLine($"  large {l.Size,9}: nmalloc {l.NMalloc,10:N0} ndalloc {l.NDalloc,10:N0} cur {l.CurExtents,6:N0}");
        }
        return sb.ToString();
    }
}
