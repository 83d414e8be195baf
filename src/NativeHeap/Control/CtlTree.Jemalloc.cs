// CtlTree.Jemalloc: the rest of jemalloc 5.3.0's documented mallctl namespace (the names listed in
// tests/NativeHeap.Tests/Control/Data/jemalloc-5.3-mallctl.tsv), with jemalloc's types and access.
//
// Three kinds of names live here:
//  - behaviour NativeHeap has: percpu_arena, oversize_threshold, arenas.dirty/muzzy_decay_ms,
//    thread.peak.*, thread.idle, lock statistics (stats.mutexes.*, bins.<j>.mutex.*, the arena lock
//    under mutexes.large), uptime, background-thread statistics, extents.<j>.* (free runs);
//  - build facts (config.*), reported as they are for this build;
//  - jemalloc-internal strategies NativeHeap does not have (dss, hpa, thp, metadata_thp):
//    honest values ("disabled", false, 0) and jemalloc's refusals (writes to r- names are EPERM
//    before anything else; arena.<i>.dss refuses "primary"/"secondary" with EFAULT, as a jemalloc
//    without DSS does);
//  - opt.retain (HugeCache): arena.<i>.retain_grow_limit reads and writes the arena's byte budget of
//    retained huge extents, and is ENOENT when opt.retain is false, as in jemalloc.
// Profiling (prof.*, opt.prof*, thread.prof.*) is built (config.prof true): CtlTree.Prof.cs.
using NativeHeap.Core;
using NativeHeap.General;
using NativeHeap.Os;

namespace NativeHeap.Control;

internal static unsafe partial class CtlTree
{
    /// <summary>Counters of jemalloc's mutex statistics, in its order, with their C types.</summary>
    // Properties, not fields: CtlTree.Root is built by a field initialiser in the other part of this
    // class, which may run before this part's field initialisers.
    internal static (string Name, CtlType Type, Func<MutexStats, long> Get)[] MutexCounters =>
    [
        ("num_ops", CtlType.UInt64, m => m.Ops),
        ("num_wait", CtlType.UInt64, m => m.Waits),
        ("num_spin_acq", CtlType.UInt64, m => m.SpinAcquired),
        ("num_owner_switch", CtlType.UInt64, m => m.OwnerSwitches),
        ("total_wait_time", CtlType.UInt64, m => m.TotalWaitNs),
        ("max_wait_time", CtlType.UInt64, m => m.MaxWaitNs),
        ("max_num_thds", CtlType.UInt32, m => m.MaxThreads),
    ];

    /// <summary>jemalloc's per-arena mutexes; NativeHeap's one arena lock is reported as "large", the others have no lock of their own (0).</summary>
    internal static string[] ArenaMutexes =>
        ["large", "extent_avail", "extents_dirty", "extents_muzzy", "extents_retained", "decay_dirty", "decay_muzzy", "base", "tcache_list"];

    /// <summary>jemalloc's global mutexes documented under stats.mutexes.</summary>
    internal static string[] GlobalMutexes => ["ctl", "background_thread", "prof"];

    private static void DeclareJemalloc(Builder t)
    {
        t.Leaf("max_background_threads", CtlType.Size, CtlAccess.ReadWrite, MaxBackgroundThreads, "most background purging threads (NativeHeap runs at most 1; writing more is EINVAL, 0 stops it)");

        // config.*: how this build was made.
        t.Ro("config.cache_oblivious", CtlType.Bool, _ => 0, "large blocks are not offset by a random cache line (false)");
#if DEBUG
        t.Ro("config.debug", CtlType.Bool, _ => 1, "built with assertions (Debug build)");
#else
        t.Ro("config.debug", CtlType.Bool, _ => 0, "built with assertions (false: Release build)");
#endif
        t.Ro("config.fill", CtlType.Bool, _ => 1, "junk and zero filling are available (opt.junk, opt.zero)");
        t.Ro("config.lazy_lock", CtlType.Bool, _ => 0, "locking is never lazily switched on (false)");
        t.Ro("config.malloc_conf", CtlType.String, _ => "", "options built into the library (none: empty)");
        t.Ro("config.opt_safety_checks", CtlType.Bool, _ => 0, "jemalloc's extra safety checks (false; see opt.checked)");
        t.Ro("config.prof", CtlType.Bool, _ => 1, "heap profiling built (true: prof.*, opt.prof*, thread.prof.*)");
        t.Ro("config.prof_libgcc", CtlType.Bool, _ => 0, "profiling backtraces through libgcc (false: managed StackTrace; the C library uses glibc's backtrace)");
        t.Ro("config.prof_libunwind", CtlType.Bool, _ => 0, "profiling backtraces through libunwind (false)");
        t.Ro("config.stats", CtlType.Bool, _ => 1, "statistics are kept (true)");
        t.Ro("config.utrace", CtlType.Bool, _ => 0, "utrace(2) tracing (false)");
        t.Ro("config.xmalloc", CtlType.Bool, _ => 1, "opt.xmalloc is available (true)");

        // opt.*: options jemalloc has; honest values for strategies NativeHeap lacks.
        t.Ro("opt.abort", CtlType.Bool, _ => 0, "abort on warnings (false: NativeHeap warns and continues)");
        t.Ro("opt.abort_conf", CtlType.Bool, _ => 0, "abort on bad options (false: they are reported and ignored)");
        t.Ro("opt.cache_oblivious", CtlType.Bool, _ => 0, "random offsets of large blocks (false)");
        t.Ro("opt.metadata_thp", CtlType.String, _ => "disabled", "transparent huge pages for metadata (disabled: not a NativeHeap strategy)");
        t.Ro("opt.trust_madvise", CtlType.Bool, _ => 1, "MADV_DONTNEED is trusted to zero pages without a run-time check (true)");
        t.Ro("opt.retain", CtlType.Bool, _ => B(Heap.Options.Retain), "freed huge mappings are kept (bounded, purged by decay) and reused instead of unmapped (option retain, default true)");
        t.Ro("opt.dss", CtlType.String, _ => "disabled", "sbrk(2) precedence (disabled: NativeHeap maps only)");
        t.Ro("opt.oversize_threshold", CtlType.Size, _ => (ulong)Heap.Options.OversizeThreshold, "requests at least this big use a dedicated arena (0: off)");
        t.Ro("opt.percpu_arena", CtlType.String, _ => Heap.Options.PerCpuArena, "disabled, percpu or phycpu: a thread uses the arena of its current CPU");
        t.Ro("opt.mutex_max_spin", CtlType.Int64, _ => NativeLock.MaxSpin, "spin rounds before a contended lock blocks");
        t.Ro("opt.max_background_threads", CtlType.Size, _ => 1, "most background purging threads (1)");
        t.Ro("opt.lg_extent_max_active_fit", CtlType.Size, _ => 63, "log2 of the largest free run / request ratio reused (63: NativeHeap takes the best-fitting bucket, no limit)");
        t.Ro("opt.stats_interval", CtlType.Int64, _ => unchecked((ulong)-1L), "bytes between periodic statistics prints (-1: never)");
        t.Ro("opt.stats_interval_opts", CtlType.String, _ => "", "options of periodic statistics prints (none)");
        t.Ro("opt.utrace", CtlType.Bool, _ => 0, "utrace(2) tracing (false)");
        t.Ro("opt.thp", CtlType.String, _ => "default", "transparent huge pages (default: NativeHeap leaves the system's setting alone)");
        t.Ro("opt.confirm_conf", CtlType.Bool, _ => 0, "print the options in force at start (false)");
        t.Ro("opt.zero_realloc", CtlType.String, _ => "free", "realloc(p, 0) frees p and returns NULL");
        t.Ro("opt.hpa", CtlType.Bool, _ => 0, "jemalloc's hugepage allocator (false: not a NativeHeap strategy)");

        // thread.*
        t.Ro("thread.peak.read", CtlType.UInt64, _ => Heap.ThreadPeak, "most bytes the thread held (allocated - freed) since thread.peak.reset (approximate, as jemalloc)");
        t.Act("thread.peak.reset", _ => Heap.ResetThreadPeak(), "start the thread's peak afresh");
        t.Act("thread.idle", _ => Heap.ThreadIdle(), "the thread will be idle: flush its cache, apply its arena's due decay");

        // arena.<i>.* and arenas.*
        t.Ro("arena.<i>.initialized", CtlType.Bool, x => B(All(x) || Heap.ArenaInitialized(A(x))), "the arena's metadata exists (4096: true)");
        t.Leaf("arena.<i>.dss", CtlType.String, CtlAccess.ReadWrite, ArenaDss, "sbrk(2) precedence: reads \"disabled\"; writing \"disabled\" succeeds, \"primary\"/\"secondary\" EFAULT (no DSS), anything else EINVAL", CtlType.Pointer);
        t.Leaf("arena.<i>.retain_grow_limit", CtlType.Size, CtlAccess.ReadWrite, RetainGrowLimit,
            "byte budget of the arena's retained huge extents (NativeHeap's meaning; ENOENT when opt.retain is false, as jemalloc)");
        t.Leaf("arenas.dirty_decay_ms", CtlType.SSize, CtlAccess.ReadWrite, (ref CtlCall c) => NewArenaDecay(ref c, dirty: true),
            "dirty decay time given to arenas created from now on (below -1: EFAULT, as jemalloc)");
        t.Leaf("arenas.muzzy_decay_ms", CtlType.SSize, CtlAccess.ReadWrite, (ref CtlCall c) => NewArenaDecay(ref c, dirty: false),
            "muzzy decay time given to arenas created from now on (below -1: EFAULT, as jemalloc)");

        // stats.*
        t.Ro("stats.metadata_thp", CtlType.Size, _ => 0, "metadata bytes on transparent huge pages (0)");
        t.Ro("stats.zero_reallocs", CtlType.Size, _ => (ulong)Heap.ZeroReallocs, "realloc(p, 0) calls");
        t.Ro("stats.background_thread.num_threads", CtlType.Size, _ => (ulong)Heap.BackgroundThreads, "background purging threads running");
        t.Ro("stats.background_thread.num_runs", CtlType.UInt64, _ => (ulong)Heap.BackgroundRuns, "background purge passes");
        t.Ro("stats.background_thread.run_interval", CtlType.UInt64, _ => Heap.BackgroundRuns > 0 ? 1_000_000_000UL : 0, "average ns between passes (one a second)");
        foreach (string m in GlobalMutexes)
            foreach ((string c, CtlType type, Func<MutexStats, long> get) in MutexCounters)
                t.Ro($"stats.mutexes.{m}.{c}", type, _ => (ulong)get(GlobalMutex(m)), $"{m} lock: {c}");
        t.Act("stats.mutexes.reset", _ => { Heap.ResetLockStats(); HeapControl.ResetCtlLockStats(); }, "zero every lock's statistics");

        // stats.arenas.<i>.*
        t.Ro("stats.arenas.<i>.dss", CtlType.String, _ => "disabled", "sbrk(2) precedence (disabled)");
        t.SA("uptime", CtlType.UInt64, a => a.UptimeNs);
        t.SA("extent_avail", CtlType.Size, _ => 0);
        t.SA("base", CtlType.Size, a => (long)a.Chunks * Chunk.HeaderPages * OsMemory.PageSize + (long)Arena.TotalSize);
        t.SA("internal", CtlType.Size, _ => 0);
        t.SA("metadata_thp", CtlType.Size, _ => 0);
        t.SA("tcache_bytes", CtlType.Size, _ => 0);
        t.SA("tcache_stashed_bytes", CtlType.Size, _ => 0);
        t.SA("muzzy_npurge", CtlType.UInt64, a => a.MuzzyPurgePasses);
        t.SA("muzzy_nmadvise", CtlType.UInt64, a => a.MuzzyPurgeCalls);
        t.SA("muzzy_purged", CtlType.UInt64, a => a.MuzzyPurgedPages);
        t.SA("small.nfills", CtlType.UInt64, a => a.Bins.Sum(b => b.NFills));
        t.SA("small.nflushes", CtlType.UInt64, a => a.Bins.Sum(b => b.NFlushes));
        t.SA("large.nrequests", CtlType.UInt64, a => a.LargeNMalloc);
        t.SA("large.nfills", CtlType.UInt64, _ => 0);
        t.SA("large.nflushes", CtlType.UInt64, _ => 0);
        t.SB("nreslabs", CtlType.UInt64, _ => 0);
        t.SB("nonfull_slabs", CtlType.Size, b => b.NonfullSlabs);
        foreach ((string c, CtlType type, Func<MutexStats, long> get) in MutexCounters)
            t.Ro("stats.arenas.<i>.bins.<j>.mutex." + c, type, x => (ulong)get(Snap.Arena((int)x[0])!.BinLocks[(int)x[1]]), "bin lock: " + c);
        t.SL("nrequests", CtlType.UInt64, l => l.NMalloc);
        t.Index("stats.arenas.<i>.extents", (_, j) => j < (nuint)Heap.NPageSizeClasses);
        t.SE("ndirty", a => a.DirtyRuns);
        t.SE("nmuzzy", a => a.MuzzyRuns);
        t.SE("nretained", a => a.RetainedRuns);
        t.SE("dirty_bytes", a => a.DirtyRunBytes);
        t.SE("muzzy_bytes", a => a.MuzzyRunBytes);
        t.SE("retained_bytes", a => a.RetainedRunBytes);
        foreach (string m in ArenaMutexes)
            foreach ((string c, CtlType type, Func<MutexStats, long> get) in MutexCounters)
                t.Ro($"stats.arenas.<i>.mutexes.{m}.{c}", type, x => m == "large" ? (ulong)get(Snap.Arena((int)x[0])!.Lock) : 0,
                    m == "large" ? "the arena lock: " + c : "no separate lock in NativeHeap (its work is under the arena lock): 0");
    }

    private static MutexStats GlobalMutex(string name) => name switch
    {
        "ctl" => HeapControl.CtlLockStats(),
        "background_thread" => Heap.BackgroundLockStats(),
        _ => MutexStats.Zero,                  // prof: the profiler's lock is a managed Lock without statistics
    };

    private static CtlStatus NewArenaDecay(ref CtlCall c, bool dirty)
    {
        (long d, long m) = Heap.NewArenaDecay;
        if (c.WantOld) c.Old = (ulong)(dirty ? d : m);
        if (!c.HasNew) return CtlStatus.Ok;
        long v = (long)c.New;
        if (v < -1) return CtlStatus.Fault;
        Heap.NewArenaDecay = dirty ? (v, m) : (d, v);
        return CtlStatus.Ok;
    }

    private static ulong s_maxBackgroundThreads = 1;   // read only by the handler, after initialisation

    private static CtlStatus MaxBackgroundThreads(ref CtlCall c)
    {
        if (c.WantOld) c.Old = Volatile.Read(ref s_maxBackgroundThreads);
        if (!c.HasNew) return CtlStatus.Ok;
        if (c.New > 1) return CtlStatus.Invalid;
        Volatile.Write(ref s_maxBackgroundThreads, c.New);
        if (c.New == 0) Heap.BackgroundThreadEnabled = false;
        return CtlStatus.Ok;
    }

    private static CtlStatus ArenaDss(ref CtlCall c)
    {
        if (c.HasNew)
        {
            if (c.New == 0) return CtlStatus.Invalid;
            string? v = System.Runtime.InteropServices.Marshal.PtrToStringUTF8((nint)c.New);
            if (v is "primary" or "secondary") return CtlStatus.Fault;
            if (v is not "disabled") return CtlStatus.Invalid;
        }
        c.OldString = "disabled";
        return CtlStatus.Ok;
    }

    private static CtlStatus RetainGrowLimit(ref CtlCall c)
    {
        if (!Heap.Options.Retain) return CtlStatus.NotFound;
        int index = c.Index[0] > int.MaxValue ? -1 : (int)c.Index[0];
        if (!Heap.ArenaExists(index)) return CtlStatus.Fault;
        if (c.WantOld) c.Old = (ulong)Heap.GetRetainLimit(index);
        if (!c.HasNew) return CtlStatus.Ok;
        if (c.New > long.MaxValue) return CtlStatus.Invalid;
        Heap.SetRetainLimit(index, (long)c.New);
        return CtlStatus.Ok;
    }
}
