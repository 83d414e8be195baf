// Heap.Tuning: the behaviours behind jemalloc 5.3 control names that NativeHeap implements for real —
// percpu_arena (a thread uses the arena of the CPU it runs on), oversize_threshold (one dedicated arena
// for big blocks), arenas.dirty_decay_ms/muzzy_decay_ms (decay times of arenas created from now on),
// thread.peak.read/reset, thread.idle, stats.background_thread.*, stats.zero_reallocs and the lock
// statistics of stats.mutexes.* (NativeLock's counters).
//
// Terms: the thread's peak is max(allocated - deallocated) of the calling thread since the last reset,
// sampled on slow paths (cache refills, large and huge allocations, and every read), so, as jemalloc's,
// it is an approximation: allocations served from the thread cache between two samples are seen at the
// next one (the error is bounded by the cache's capacity).
using System.Diagnostics;
using NativeHeap.Core;
using NativeHeap.General;

namespace NativeHeap;

public static unsafe partial class Heap
{
    private static bool s_perCpu;
    private static nuint s_oversizeThreshold;
    private static int s_oversizeArena = -1;
    private static readonly Lock s_oversizeLock = new();
    private static long s_newDirtyDecayMs, s_newMuzzyDecayMs;
    private static long s_zeroReallocs;
    private static long s_backgroundRuns;
    private static readonly NativeLock* s_backgroundLock = (NativeLock*)StaticMemory.Alloc((nuint)sizeof(NativeLock));

    [ThreadStatic] private static long t_peakBase;
    [ThreadStatic] private static long t_peak;

    // ---- percpu_arena ------------------------------------------------------------------------------

    /// <summary>The automatic arena of the CPU the calling thread runs on (percpu_arena).</summary>
    private static int CurrentCpuArena() => (int)((uint)Thread.GetCurrentProcessorId() % (uint)s_autoArenas);

    /// <summary>
    /// Called by a thread cache after a refill: samples the thread's peak and, with percpu_arena, moves
    /// the thread's cache to the arena of its current CPU (flushing it first, since a cache holds blocks
    /// of its own arena only).
    /// </summary>
    internal static void OnCacheMiss(ThreadCache* tc)
    {
        if (tc != t_cache) return;
        SamplePeak(tc);
        if (!s_perCpu || tc->Arena->Explicit != 0) return;
        int cpu = CurrentCpuArena();
        if (tc->Arena->Index == cpu) return;
        Arena* a = GetOrCreateAutomatic(cpu);
        if (a == null) return;
        ThreadCache.FlushAll(tc);
        Interlocked.Decrement(ref tc->Arena->NThreads);
        tc->Arena = a;
        Interlocked.Increment(ref a->NThreads);
    }

    // ---- oversize_threshold ------------------------------------------------------------------------

    /// <summary>The dedicated arena for requests of at least oversize_threshold bytes, created on first use.</summary>
    private static Arena* OversizeArena()
    {
        int i = Volatile.Read(ref s_oversizeArena);
        if (i >= 0) return s_arenas[i];
        lock (s_oversizeLock)
        {
            if (s_oversizeArena < 0)
            {
                int index = CreateArena();
                Arena* a = s_arenas[index];
                a->DirtyDecayMs = s_newDirtyDecayMs;   // an automatic arena in all but its index
                a->MuzzyDecayMs = s_newMuzzyDecayMs;
                Volatile.Write(ref s_oversizeArena, index);
            }
            return s_arenas[s_oversizeArena];
        }
    }

    /// <summary>Index of the oversize arena, or -1 while no block has needed it.</summary>
    internal static int OversizeArenaIndex => Volatile.Read(ref s_oversizeArena);

    // ---- decay times of new arenas (arenas.dirty_decay_ms / muzzy_decay_ms) --------------------------

    private static void ApplyNewArenaDecay(Arena* a)
    {
        a->DirtyDecayMs = Volatile.Read(ref s_newDirtyDecayMs);
        a->MuzzyDecayMs = Volatile.Read(ref s_newMuzzyDecayMs);
    }

    /// <summary>Decay times (ms) given to arenas created from now on (arenas.dirty_decay_ms / muzzy_decay_ms); -1 never purges.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value below -1.</exception>
    public static (long DirtyMs, long MuzzyMs) NewArenaDecay
    {
        get
        {
            EnsureInitialized();
            return (Volatile.Read(ref s_newDirtyDecayMs), Volatile.Read(ref s_newMuzzyDecayMs));
        }
        set
        {
            if (value.DirtyMs < -1 || value.MuzzyMs < -1) throw new ArgumentOutOfRangeException(nameof(value), "decay times must be -1 or more");
            EnsureInitialized();
            Volatile.Write(ref s_newDirtyDecayMs, value.DirtyMs);
            Volatile.Write(ref s_newMuzzyDecayMs, value.MuzzyMs);
        }
    }

    // ---- thread.peak / thread.idle -----------------------------------------------------------------

    internal static void SamplePeak(ThreadCache* tc)
    {
        long now = (long)(tc->Allocated - tc->Deallocated) - t_peakBase;
        if (now > t_peak) t_peak = now;
    }

    /// <summary>
    /// The most the calling thread has held (bytes allocated minus bytes freed by it) since the last
    /// <see cref="ResetThreadPeak"/> or since it started (thread.peak.read); an approximation, as jemalloc's.
    /// </summary>
    public static ulong ThreadPeak
    {
        get
        {
            ThreadCache* tc = CurrentCacheOrThrow();
            SamplePeak(tc);
            return (ulong)Math.Max(0, t_peak);
        }
    }

    /// <summary>Starts the calling thread's peak afresh from what it holds now (thread.peak.reset).</summary>
    public static void ResetThreadPeak()
    {
        ThreadCache* tc = CurrentCacheOrThrow();
        t_peakBase = (long)(tc->Allocated - tc->Deallocated);
        t_peak = 0;
    }

    /// <summary>
    /// Hint that the calling thread will be idle for a while (thread.idle): its cache is returned to the
    /// arenas and its arena's due decay is applied.
    /// </summary>
    public static void ThreadIdle()
    {
        ThreadCache* tc = t_cache;
        if (tc == null) return;
        ThreadCache.FlushAll(tc);
        Arena* a = tc->Arena;
        a->Lock.Enter();
        Arena.DecayLocked(a, HeapClock.Now());
        a->Lock.Exit();
    }

    // ---- statistics ------------------------------------------------------------------------------------

    /// <summary>Page counts of the page-size classes (jemalloc's psz classes: size classes that are page multiples), ascending.</summary>
    private static readonly uint[] s_pageClasses = BuildPageClasses();

    /// <summary>Number of page-size classes (the indices of stats.arenas.&lt;i&gt;.extents.&lt;j&gt;).</summary>
    internal static int NPageSizeClasses => s_pageClasses.Length;

    /// <summary>Page count of page-size class <paramref name="j"/>.</summary>
    internal static uint PageClassPages(int j) => s_pageClasses[j];

    private static uint[] BuildPageClasses()
    {
        var list = new List<uint>();
        for (int i = 0; i < SizeClasses.NClasses; i++)
        {
            nuint s = SizeClasses.s_sizes[i];
            if (s % (nuint)Os.OsMemory.PageSize != 0) continue;
            nuint pages = s / (nuint)Os.OsMemory.PageSize;
            list.Add((uint)pages);
        }
        return [.. list];
    }

    /// <summary>The largest page-size class not above <paramref name="pages"/> (jemalloc quantizes free extents down).</summary>
    internal static int PageClassFloor(uint pages)
    {
        int lo = 0, hi = s_pageClasses.Length - 1;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) >> 1;
            if (s_pageClasses[mid] <= pages) lo = mid; else hi = mid - 1;
        }
        return lo;
    }

    /// <summary>realloc(p, 0) calls (stats.zero_reallocs).</summary>
    internal static long ZeroReallocs => Volatile.Read(ref s_zeroReallocs);

    /// <summary>Background purge passes run (stats.background_thread.num_runs).</summary>
    internal static long BackgroundRuns => Volatile.Read(ref s_backgroundRuns);

    /// <summary>1 while the background purging thread runs (stats.background_thread.num_threads).</summary>
    internal static int BackgroundThreads => s_backgroundThread != null ? 1 : 0;

    /// <summary>Nanoseconds since arena <paramref name="a"/> was created (stats.arenas.&lt;i&gt;.uptime).</summary>
    internal static long UptimeNs(Arena* a) => (long)Stopwatch.GetElapsedTime(a->CreatedTicks).TotalNanoseconds;

    /// <summary>Counters of a lock, read by its holder.</summary>
    internal static MutexStats ReadLock(NativeLock* l)
    {
        long ns(long ticks) => (long)(ticks * (1e9 / Stopwatch.Frequency));
        int waits = Volatile.Read(ref l->Contended);
        return new MutexStats(l->Ops, Math.Max(0, waits - l->SpinAcquired), l->SpinAcquired, 0,
            ns(l->WaitTicks), ns(l->MaxWaitTicks), l->MaxWaiters);
    }

    /// <summary>The background-thread lock's counters (stats.mutexes.background_thread).</summary>
    internal static MutexStats BackgroundLockStats()
    {
        s_backgroundLock->Enter();
        MutexStats m = ReadLock(s_backgroundLock);
        s_backgroundLock->Exit();
        return m;
    }

    /// <summary>Zeroes every arena's, bin's and the background lock's statistics (stats.mutexes.reset).</summary>
    internal static void ResetLockStats()
    {
        EnsureInitialized();
        int n = Volatile.Read(ref s_arenaCount);
        for (int i = 0; i < n; i++)
        {
            Arena* a = s_arenas[i];
            if (a == null || a->Destroyed != 0) continue;
            for (int j = 0; j < SizeClasses.NBins; j++)
            {
                Bin* b = Arena.BinOf(a, j);
                b->Lock.Enter();
                b->Lock.ResetStats();
                b->Lock.Exit();
            }
            a->Lock.Enter();
            a->Lock.ResetStats();
            a->Lock.Exit();
        }
        s_backgroundLock->Enter();
        s_backgroundLock->ResetStats();
        s_backgroundLock->Exit();
    }
}
