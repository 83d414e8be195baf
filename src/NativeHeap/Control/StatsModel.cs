// StatsModel: one consistent snapshot of everything the control namespace and the stats emitter
// report — the heap's statistics at one epoch, the options in force and the version. Built by
// HeapControl.RefreshStats (epoch), or by tests from fixed figures (golden output).
// Invariant: Merged sums exactly the arenas in Stats.Arenas; ByIndex[i] is the arena with Index i.
using NativeHeap.Kinds;
using NativeHeap.Os;

namespace NativeHeap.Control;

internal sealed class StatsModel
{
    public StatsModel(ulong epoch, HeapStats stats, HeapOptions options, string version, IReadOnlyList<KindEntry>? kinds = null, StatsGlobals? globals = null)
    {
        Kinds = kinds ?? [];
        Globals = globals ?? new StatsGlobals();
        Epoch = epoch;
        Stats = stats;
        Options = options;
        Version = version;
        Merged = ArenaStats.Merge(stats.Arenas, HeapControl.ArenasAll);
        int max = stats.Arenas.Count == 0 ? 0 : stats.Arenas.Max(a => a.Index) + 1;
        ByIndex = new ArenaStats?[max];
        foreach (ArenaStats a in stats.Arenas) ByIndex[a.Index] = a;
        Threads = stats.Arenas.Sum(a => a.Threads);
    }

    public ulong Epoch { get; }
    /// <summary>Heap-wide figures beyond HeapStats (background thread, global locks, realloc(p, 0)); defaults in fixed models.</summary>
    public StatsGlobals Globals { get; }
    public HeapStats Stats { get; }
    public HeapOptions Options { get; }
    public string Version { get; }
    public ArenaStats Merged { get; }
    public ArenaStats?[] ByIndex { get; }
    public int Threads { get; }
    /// <summary>Memory kinds alive at the epoch, by id (always at least the default kind for live snapshots).</summary>
    public IReadOnlyList<KindEntry> Kinds { get; }

    /// <summary>The kind with this id in the snapshot, or null.</summary>
    public KindStats? Kind(int id)
    {
        foreach (KindEntry k in Kinds) if (k.Id == id) return k.Stats;
        return null;
    }

    /// <summary>The arena with this index, the merged statistics for <see cref="HeapControl.ArenasAll"/>, or null.</summary>
    public ArenaStats? Arena(int index)
        => index == HeapControl.ArenasAll ? Merged : (uint)index < (uint)ByIndex.Length ? ByIndex[index] : null;

    /// <summary>Resident bytes of one arena (estimate): active, dirty and muzzy pages, huge blocks and chunk headers.</summary>
    public static long ArenaResident(ArenaStats a)
    {
        long page = OsMemory.PageSize;
        long hugeActive = (a.HugeAllocated + page - 1) / page * page;
        return (a.ActivePages + a.DirtyPages + a.MuzzyPages) * page + hugeActive
               + (long)a.Chunks * General.Chunk.HeaderPages * page + (a.HugeCount + a.RetainedExtents) * page;
    }
}

/// <summary>Heap-wide figures of a snapshot that HeapStats does not carry.</summary>
internal sealed record StatsGlobals
{
    public int AutomaticArenas { get; init; }
    public long NewDirtyDecayMs { get; init; } = 10_000;
    public long NewMuzzyDecayMs { get; init; }
    public long ZeroReallocs { get; init; }
    public int BackgroundThreads { get; init; }
    public long BackgroundRuns { get; init; }
    public MutexStats CtlLock { get; init; } = MutexStats.Zero;
    public MutexStats BackgroundLock { get; init; } = MutexStats.Zero;
    public int CachedClasses { get; init; } = 41;
    public long ThreadCacheMax { get; init; } = 32768;

    /// <summary>The live heap's figures now.</summary>
    public static StatsGlobals Live() => new()
    {
        AutomaticArenas = Heap.AutomaticArenaCount,
        NewDirtyDecayMs = Heap.NewArenaDecay.DirtyMs,
        NewMuzzyDecayMs = Heap.NewArenaDecay.MuzzyMs,
        ZeroReallocs = Heap.ZeroReallocs,
        BackgroundThreads = Heap.BackgroundThreads,
        BackgroundRuns = Heap.BackgroundRuns,
        CtlLock = HeapControl.CtlLockStatsHeld(),
        BackgroundLock = Heap.BackgroundLockStats(),
        CachedClasses = Heap.CachedClassCount,
        ThreadCacheMax = (long)Heap.ThreadCacheMaxSize,
    };
}

/// <summary>One memory kind's statistics in a snapshot.</summary>
internal sealed record KindEntry(int Id, KindStats Stats);
