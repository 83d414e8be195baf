// HeapStats: a snapshot of the general heap's statistics, read under each arena's and bin's lock so
// that every figure within one arena is consistent. Named after jemalloc's stats.* where the concept
// exists. Building a snapshot allocates managed objects; it is never on a fast path.
namespace NativeHeap;

/// <summary>Statistics of one small size class in one arena (stats.arenas.&lt;i&gt;.bins.&lt;j&gt;).</summary>
public sealed record BinStats(
    int Index, long Size, int Regions, long SlabSize,
    long NMalloc, long NDalloc, long NRequests, long CurRegs, long CurSlabs, long NSlabs, long NFills, long NFlushes, long NonfullSlabs = 0);

/// <summary>Statistics of one large size class in one arena (stats.arenas.&lt;i&gt;.lextents.&lt;j&gt;).</summary>
public sealed record LargeStats(int Index, long Size, long NMalloc, long NDalloc, long CurExtents);

/// <summary>Counters of one lock (jemalloc's mutex statistics): acquisitions, contended acquisitions that blocked, contended ones won by spinning, owner switches (not counted: 0), total and longest wait in ns, most threads waiting at once.</summary>
public sealed record MutexStats(long Ops, long Waits, long SpinAcquired, long OwnerSwitches, long TotalWaitNs, long MaxWaitNs, int MaxThreads)
{
    /// <summary>No activity.</summary>
    public static readonly MutexStats Zero = new(0, 0, 0, 0, 0, 0, 0);

    /// <summary>Sums counters, keeping the larger maxima.</summary>
    public MutexStats Add(MutexStats o) => new(Ops + o.Ops, Waits + o.Waits, SpinAcquired + o.SpinAcquired, OwnerSwitches + o.OwnerSwitches,
        TotalWaitNs + o.TotalWaitNs, Math.Max(MaxWaitNs, o.MaxWaitNs), Math.Max(MaxThreads, o.MaxThreads));
}

/// <summary>Statistics of one arena (stats.arenas.&lt;i&gt;), or of all of them merged.</summary>
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
    /// <summary>Huge blocks (above the 2 MiB large limit, each in its own mapping) ever allocated.</summary>
    public long HugeNMalloc { get; init; }
    /// <summary>Huge blocks ever freed.</summary>
    public long HugeNDalloc { get; init; }
    /// <summary>Dirty decay time (ms).</summary>
    public long DirtyDecayMs { get; init; }
    /// <summary>Muzzy decay time (ms).</summary>
    public long MuzzyDecayMs { get; init; }
    /// <summary>Per small class.</summary>
    public IReadOnlyList<BinStats> Bins { get; init; } = [];
    /// <summary>Per large class with any activity, by ascending class index.</summary>
    public IReadOnlyList<LargeStats> Large { get; init; } = [];
    /// <summary>Nanoseconds since the arena was created (merged: the oldest arena's).</summary>
    public long UptimeNs { get; init; }
    /// <summary>The share of PurgePasses that purged muzzy pages (the rest purged dirty ones).</summary>
    public long MuzzyPurgePasses { get; init; }
    /// <summary>The share of PurgeCalls (source purge calls) made on muzzy runs.</summary>
    public long MuzzyPurgeCalls { get; init; }
    /// <summary>The share of PurgedPages that were muzzy.</summary>
    public long MuzzyPurgedPages { get; init; }
    /// <summary>The arena lock's counters (it guards page runs, large blocks and decay).</summary>
    public MutexStats Lock { get; init; } = MutexStats.Zero;
    /// <summary>Each bin lock's counters, by small class.</summary>
    public IReadOnlyList<MutexStats> BinLocks { get; init; } = [];
    /// <summary>Dirty free runs by page-size class (jemalloc's extents.&lt;j&gt;.ndirty).</summary>
    public IReadOnlyList<long> DirtyRuns { get; init; } = [];
    /// <summary>Bytes of the dirty runs of each page-size class.</summary>
    public IReadOnlyList<long> DirtyRunBytes { get; init; } = [];
    /// <summary>Muzzy free runs by page-size class.</summary>
    public IReadOnlyList<long> MuzzyRuns { get; init; } = [];
    /// <summary>Bytes of the muzzy runs of each page-size class.</summary>
    public IReadOnlyList<long> MuzzyRunBytes { get; init; } = [];
    /// <summary>Purged retained huge extents by page-size class (extents.&lt;j&gt;.nretained).</summary>
    public IReadOnlyList<long> RetainedRuns { get; init; } = [];
    /// <summary>Their mapping bytes (extents.&lt;j&gt;.retained_bytes).</summary>
    public IReadOnlyList<long> RetainedRunBytes { get; init; } = [];
    /// <summary>Bytes of purged retained huge extents: address space kept for reuse, nothing resident but their headers (retained).</summary>
    public long Retained { get; init; }
    /// <summary>Freed huge mappings the arena keeps for reuse, in every state (opt.retain).</summary>
    public int RetainedExtents { get; init; }
    /// <summary>Bytes of those mappings, every state (dirty and muzzy ones are in <see cref="Mapped"/>, clean ones in <see cref="Retained"/>).</summary>
    public long RetainedExtentBytes { get; init; }
    /// <summary>Huge blocks served from a retained extent (no new mapping).</summary>
    public long HugeReuses { get; init; }
    /// <summary>Huge blocks that needed a new mapping from the memory source.</summary>
    public long HugeMaps { get; init; }

    /// <summary>Small allocations served (stats.arenas.&lt;i&gt;.small.nmalloc).</summary>
    public long SmallNMalloc => Bins.Sum(b => b.NMalloc);
    /// <summary>Small frees (small.ndalloc).</summary>
    public long SmallNDalloc => Bins.Sum(b => b.NDalloc);
    /// <summary>Small requests, including those served by thread caches (small.nrequests).</summary>
    public long SmallNRequests => Bins.Sum(b => b.NRequests);
    /// <summary>Large allocations (large.nmalloc).</summary>
    public long LargeNMalloc => Large.Sum(l => l.NMalloc);
    /// <summary>Large frees (large.ndalloc).</summary>
    public long LargeNDalloc => Large.Sum(l => l.NDalloc);

    /// <summary>The statistics of one large class, or zeroes when the class saw no activity.</summary>
    private static long[] SumLists(IReadOnlyList<ArenaStats> arenas, Func<ArenaStats, IReadOnlyList<long>> get)
    {
        var sum = new long[Heap.NPageSizeClasses];
        foreach (ArenaStats a in arenas)
        {
            IReadOnlyList<long> l = get(a);
            for (int j = 0; j < l.Count && j < sum.Length; j++) sum[j] += l[j];
        }
        return sum;
    }

    /// <summary>Statistics of large class <paramref name="index"/> (zeroes when never used).</summary>
    public LargeStats LargeClass(int index, long size)
    {
        foreach (LargeStats l in Large) if (l.Index == index) return l;
        return new LargeStats(index, size, 0, 0, 0);
    }

    /// <summary>Sums arenas into one (jemalloc's merged statistics, MALLCTL_ARENAS_ALL).</summary>
    public static unsafe ArenaStats Merge(IReadOnlyList<ArenaStats> arenas, int index)
    {
        int nb = Core.SizeClasses.NBins;
        var bins = new BinStats[nb];
        for (int j = 0; j < nb; j++)
        {
            long nm = 0, nd = 0, nr = 0, cr = 0, cs = 0, ns = 0, nf = 0, nfl = 0, nn = 0;
            foreach (ArenaStats a in arenas)
            {
                BinStats b = a.Bins[j];
                nm += b.NMalloc; nd += b.NDalloc; nr += b.NRequests; cr += b.CurRegs;
                cs += b.CurSlabs; ns += b.NSlabs; nf += b.NFills; nfl += b.NFlushes; nn += b.NonfullSlabs;
            }
            bins[j] = new BinStats(j, (long)Core.SizeClasses.s_sizes[j], Core.SizeClasses.s_slabRegs[j],
                (long)Core.SizeClasses.s_slabPages[j] * Os.OsMemory.PageSize, nm, nd, nr, cr, cs, ns, nf, nfl, nn);
        }
        var large = new SortedDictionary<int, LargeStats>();
        foreach (ArenaStats a in arenas)
            foreach (LargeStats l in a.Large)
                large[l.Index] = large.TryGetValue(l.Index, out LargeStats? m)
                    ? m with { NMalloc = m.NMalloc + l.NMalloc, NDalloc = m.NDalloc + l.NDalloc, CurExtents = m.CurExtents + l.CurExtents }
                    : l;
        return new ArenaStats
        {
            Index = index,
            IsExplicit = false,
            Threads = arenas.Sum(a => a.Threads),
            Mapped = arenas.Sum(a => a.Mapped),
            ActivePages = arenas.Sum(a => a.ActivePages),
            DirtyPages = arenas.Sum(a => a.DirtyPages),
            MuzzyPages = arenas.Sum(a => a.MuzzyPages),
            CleanPages = arenas.Sum(a => a.CleanPages),
            Chunks = arenas.Sum(a => a.Chunks),
            PurgePasses = arenas.Sum(a => a.PurgePasses),
            PurgeCalls = arenas.Sum(a => a.PurgeCalls),
            PurgedPages = arenas.Sum(a => a.PurgedPages),
            SmallAllocated = arenas.Sum(a => a.SmallAllocated),
            LargeAllocated = arenas.Sum(a => a.LargeAllocated),
            HugeAllocated = arenas.Sum(a => a.HugeAllocated),
            HugeCount = arenas.Sum(a => a.HugeCount),
            HugeNMalloc = arenas.Sum(a => a.HugeNMalloc),
            HugeNDalloc = arenas.Sum(a => a.HugeNDalloc),
            UptimeNs = arenas.Count == 0 ? 0 : arenas.Max(a => a.UptimeNs),
            MuzzyPurgePasses = arenas.Sum(a => a.MuzzyPurgePasses),
            MuzzyPurgeCalls = arenas.Sum(a => a.MuzzyPurgeCalls),
            MuzzyPurgedPages = arenas.Sum(a => a.MuzzyPurgedPages),
            Lock = arenas.Aggregate(MutexStats.Zero, (m, a) => m.Add(a.Lock)),
            BinLocks = Enumerable.Range(0, nb).Select(j => arenas.Aggregate(MutexStats.Zero, (m, a) => j < a.BinLocks.Count ? m.Add(a.BinLocks[j]) : m)).ToArray(),
            DirtyRuns = SumLists(arenas, a => a.DirtyRuns),
            DirtyRunBytes = SumLists(arenas, a => a.DirtyRunBytes),
            MuzzyRuns = SumLists(arenas, a => a.MuzzyRuns),
            MuzzyRunBytes = SumLists(arenas, a => a.MuzzyRunBytes),
            RetainedRuns = SumLists(arenas, a => a.RetainedRuns),
            RetainedRunBytes = SumLists(arenas, a => a.RetainedRunBytes),
            Retained = arenas.Sum(a => a.Retained),
            RetainedExtents = arenas.Sum(a => a.RetainedExtents),
            RetainedExtentBytes = arenas.Sum(a => a.RetainedExtentBytes),
            HugeReuses = arenas.Sum(a => a.HugeReuses),
            HugeMaps = arenas.Sum(a => a.HugeMaps),
            DirtyDecayMs = arenas.Count == 0 ? 0 : arenas[0].DirtyDecayMs,
            MuzzyDecayMs = arenas.Count == 0 ? 0 : arenas[0].MuzzyDecayMs,
            Bins = bins,
            Large = large.Values.ToArray(),
        };
    }
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
    /// <summary>Bytes of virtual memory kept rather than unmapped (stats.retained): purged retained huge extents (opt.retain), not in <see cref="Mapped"/>.</summary>
    public long Retained { get; init; }
    /// <summary>Wholly free chunks pooled between automatic arenas (mapped, counted in <see cref="Mapped"/>).</summary>
    public int SpareChunks { get; init; }
    /// <summary>Pooled chunks whose pages are all purged.</summary>
    public int SpareCleanChunks { get; init; }
    /// <summary>Per arena, for arenas that exist.</summary>
    public IReadOnlyList<ArenaStats> Arenas { get; init; } = [];

    /// <summary>The snapshot as the text table <see cref="HeapControl.PrintStats"/> prints (all sections).</summary>
    public override string ToString()
    {
        Control.StatsEmitter.TryParseOptions("", out Control.StatsPrintFlags flags);
        return Control.StatsEmitter.Emit(new Control.StatsModel(0, this, Heap.Options, HeapControl.Version), flags);
    }
}
