// HeapMetrics: NativeHeap's figures as a System.Diagnostics.Metrics Meter named "NativeHeap", so
// MeterListener, OpenTelemetry and `dotnet-counters monitor --counters NativeHeap` see them.
// Every instrument is observable: nothing is recorded on allocation paths; a collection takes one
// statistics snapshot of the general heap (shared by the instruments of one collection, at most
// every 200 ms) and reads kinds, observed mapped / lock-free heaps and native memory pools.
//
// Counting rule (the same for allocations and frees): a block is counted when an arena hands it out
// (nmalloc) and when it comes back to an arena (ndalloc), whether for a caller or for a thread cache;
// so allocations − frees = blocks held outside the arenas (by callers and thread caches), and both
// lag the callers' own calls by at most the thread caches' contents.
// Tags: nativeheap.heap ("general", "kind", "mapped", "lockfree", "pool"), nativeheap.arena (the
// arena group "auto" / "explicit" / "kind", or the arena index with PerArenaSeries), nativeheap.kind
// (kind name, also on the general heap's series of a kind's arenas), nativeheap.name (a mapped
// heap's or pool's name). Few series by default, so pipelines' series limits are never reached.
using System.Diagnostics.Metrics;
using NativeHeap.Kinds;
using NativeHeap.LockFree;
using NativeHeap.Mapped;
using NativeHeap.Safe;

namespace NativeHeap;

/// <summary>
/// The "NativeHeap" <see cref="System.Diagnostics.Metrics.Meter"/> (docs/control.md, "Metrics"). General heap:
/// gauges <c>nativeheap.allocated</c>, <c>nativeheap.active</c>, <c>nativeheap.mapped</c>,
/// <c>nativeheap.resident</c>, <c>nativeheap.metadata</c> (bytes, the heap's stats.* totals); counters <c>nativeheap.allocations</c>,
/// <c>nativeheap.frees</c> (blocks) and <c>nativeheap.purged</c> (bytes), per arena group (see <see cref="PerArenaSeries"/>). Kinds:
/// <c>nativeheap.kind.allocated</c>, <c>.active</c>, <c>.resident</c>, <c>.mapped</c>. Mapped and lock-free
/// heaps passed to <see cref="Observe(MappedHeap)"/> / <see cref="Observe(LockFreeHeap)"/>:
/// <c>nativeheap.mapped_heap.used</c>, <c>.free</c>, <c>.file_size</c>; <c>nativeheap.lockfree.heap_size</c>.
/// Native memory pools: <c>nativeheap.pool.rented</c> (counter), <c>nativeheap.pool.outstanding</c>.
/// </summary>
/// <remarks>
/// <c>nativeheap.allocations</c> and <c>nativeheap.frees</c> count the same event on both sides: a
/// block leaving an arena and a block coming back to one (thread-cache refills and flushes included),
/// so their difference is the number of blocks held by callers and thread caches.
/// </remarks>
public static class HeapMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "NativeHeap";

    /// <summary>
    /// False where the Meter is never wanted: the NativeAOT C library and drop-in turn it off
    /// (RuntimeHostConfigurationOption NativeHeap.Metrics.IsSupported = false), so a C program's start
    /// neither builds the Meter's instruments nor reads the assembly's version through reflection, and
    /// the trimmer drops the code. Managed programs keep it on.
    /// </summary>
#if NET9_0_OR_GREATER
    [System.Diagnostics.CodeAnalysis.FeatureSwitchDefinition("NativeHeap.Metrics.IsSupported")]
#endif
    internal static bool IsSupported { get; } = !AppContext.TryGetSwitch("NativeHeap.Metrics.IsSupported", out bool on) || on;

    private static readonly Lock s_lock = new();
    private static Meter? s_meter;
    private static HeapStats? s_last;
    private static Dictionary<int, string>? s_kindOfArena;
    private static long s_lastTicks;
    private static readonly List<WeakReference<MappedHeap>> s_mapped = [];
    private static readonly List<WeakReference<LockFreeHeap>> s_lockFree = [];
    private static readonly List<WeakReference<NativeMemoryPool>> s_pools = [];

    /// <summary>The meter (creates it on first use).</summary>
    public static Meter Meter
    {
        get
        {
            EnsureCreated();
            return s_meter!;
        }
    }

    /// <summary>Publishes <paramref name="heap"/>'s figures (tagged with its name) until it is detached or collected.</summary>
    public static void Observe(MappedHeap heap)
    {
        ArgumentNullException.ThrowIfNull(heap);
        lock (s_lock) s_mapped.Add(new WeakReference<MappedHeap>(heap));
    }

    /// <summary>Publishes <paramref name="heap"/>'s size until it is disposed or collected.</summary>
    public static void Observe(LockFreeHeap heap)
    {
        ArgumentNullException.ThrowIfNull(heap);
        lock (s_lock) s_lockFree.Add(new WeakReference<LockFreeHeap>(heap));
    }

    internal static void Observe(NativeMemoryPool pool)
    {
        lock (s_lock) s_pools.Add(new WeakReference<NativeMemoryPool>(pool));
    }

    internal static void EnsureCreated()
    {
        if (Volatile.Read(ref s_meter) != null) return;
        lock (s_lock)
        {
            if (s_meter != null) return;
            var m = new Meter(MeterName, HeapControl.Version);
            // General heap.
            m.CreateObservableGauge("nativeheap.allocated", () => General(Stats().Allocated), "By", "Bytes in live blocks (usable sizes, thread-cached blocks included)");
            m.CreateObservableGauge("nativeheap.active", () => General(Stats().Active), "By", "Bytes in pages holding live blocks");
            m.CreateObservableGauge("nativeheap.mapped", () => General(Stats().Mapped), "By", "Bytes mapped from memory sources, plus metadata mappings");
            m.CreateObservableGauge("nativeheap.resident", () => General(Stats().Resident), "By", "Bytes resident (estimate)");
            m.CreateObservableGauge("nativeheap.metadata", () => General(Stats().Metadata), "By", "Bytes of allocator metadata");
            m.CreateObservableCounter("nativeheap.allocations", () => PerArena(a => a.SmallNMalloc + a.LargeNMalloc + a.HugeNMalloc), "{block}",
                "Blocks handed out by arenas (to callers and thread caches)");
            m.CreateObservableCounter("nativeheap.frees", () => PerArena(a => a.SmallNDalloc + a.LargeNDalloc + a.HugeNDalloc), "{block}",
                "Blocks returned to arenas (by callers and thread caches)");
            m.CreateObservableCounter("nativeheap.purged", () => PerArena(a => a.PurgedPages * Os.OsMemory.PageSize), "By", "Bytes purged (returned to the OS), per arena group");
            // Kinds.
            m.CreateObservableGauge("nativeheap.kind.allocated", () => PerKind(k => k.Allocated), "By", "Bytes in live blocks of each memory kind");
            m.CreateObservableGauge("nativeheap.kind.active", () => PerKind(k => k.Active), "By", "Bytes in pages holding live blocks of each kind");
            m.CreateObservableGauge("nativeheap.kind.resident", () => PerKind(k => k.Resident), "By", "Bytes resident in each kind");
            m.CreateObservableGauge("nativeheap.kind.mapped", () => PerKind(k => k.Mapped), "By", "Bytes mapped from each kind's source");
            // Observed mapped and lock-free heaps.
            m.CreateObservableGauge("nativeheap.mapped_heap.used", () => PerMapped(s => s.UsedBytes), "By", "Bytes in allocated blocks of each observed mapped heap");
            m.CreateObservableGauge("nativeheap.mapped_heap.free", () => PerMapped(s => s.FreeBytes), "By", "Bytes in free blocks of each observed mapped heap");
            m.CreateObservableGauge("nativeheap.mapped_heap.file_size", () => PerMapped(s => s.FileSize), "By", "File size of each observed mapped heap");
            m.CreateObservableGauge("nativeheap.lockfree.heap_size", PerLockFree, "By", "Arena size of each observed lock-free heap");
            // Native memory pools (the safe layer).
            m.CreateObservableCounter("nativeheap.pool.rented", () => PerPool(p => p.RentedCount), "{buffer}", "Buffers rented from each native memory pool");
            m.CreateObservableGauge("nativeheap.pool.outstanding", () => PerPool(p => p.OutstandingCount), "{buffer}", "Rented buffers not yet disposed, per pool");
            Volatile.Write(ref s_meter, m);
        }
    }

    private static Measurement<long>[] General(long value) => [new(value, new KeyValuePair<string, object?>("nativeheap.heap", "general"))];

    /// <summary>
    /// When false (the default), the general heap's per-arena instruments publish one series per arena
    /// group: <c>nativeheap.arena</c> = "auto" (the automatic arenas), "explicit" (explicit arenas of no
    /// kind), or "kind" with <c>nativeheap.kind</c> = the kind's name; a handful of series however many
    /// arenas there are. When true, one series per arena (<c>nativeheap.arena</c> = its index), for
    /// diagnosing imbalance; mind the metrics pipeline's series limit (dotnet-counters: 1000).
    /// </summary>
    public static bool PerArenaSeries { get; set; }

    private static IEnumerable<Measurement<long>> PerArena(Func<ArenaStats, long> f)
    {
        HeapStats s = Stats(out Dictionary<int, string> kindOfArena);
        bool perArena = PerArenaSeries;
        var sums = new Dictionary<(string Arena, string? Kind), long>();
        if (!perArena) sums[("auto", null)] = 0;        // published even before the heap's first use
        foreach (ArenaStats a in s.Arenas)
        {
            string? kind = kindOfArena.TryGetValue(a.Index, out string? k) ? k : null;
            string arena = perArena ? a.Index.ToString(System.Globalization.CultureInfo.InvariantCulture)
                : kind != null ? "kind" : a.IsExplicit ? "explicit" : "auto";
            sums[(arena, kind)] = sums.GetValueOrDefault((arena, kind)) + f(a);
        }
        var list = new List<Measurement<long>>(sums.Count);
        foreach (KeyValuePair<(string Arena, string? Kind), long> e in sums)
        {
            var heapTag = new KeyValuePair<string, object?>("nativeheap.heap", "general");
            var arenaTag = new KeyValuePair<string, object?>("nativeheap.arena", e.Key.Arena);
            list.Add(e.Key.Kind != null
                ? new Measurement<long>(e.Value, heapTag, arenaTag, new KeyValuePair<string, object?>("nativeheap.kind", e.Key.Kind))
                : new Measurement<long>(e.Value, heapTag, arenaTag));
        }
        return list;
    }

    private static IEnumerable<Measurement<long>> PerKind(Func<KindStats, long> f)
    {
        var list = new List<Measurement<long>>();
        foreach (MemoryKind k in MemoryKind.LiveKinds())
        {
            if (k.IsDestroyed) continue;
            KindStats st;
            try
            {
                st = k.GetStats();
            }
            catch (ObjectDisposedException)
            {
                continue;       // destroyed while we looked
            }
            list.Add(new Measurement<long>(f(st), new KeyValuePair<string, object?>("nativeheap.heap", "kind"), new KeyValuePair<string, object?>("nativeheap.kind", k.Name)));
        }
        return list;
    }

    private static IEnumerable<Measurement<long>> PerMapped(Func<MappedHeapStats, long> f)
    {
        var list = new List<Measurement<long>>();
        foreach (MappedHeap h in Live(s_mapped))
        {
            if (h.IsDisposed) continue;
            MappedHeapStats st;
            try
            {
                st = h.GetStats();
            }
            catch (ObjectDisposedException)
            {
                continue;
            }
            if (h.IsDisposed) continue;
            list.Add(new Measurement<long>(f(st), new KeyValuePair<string, object?>("nativeheap.heap", "mapped"), new KeyValuePair<string, object?>("nativeheap.name", h.Name)));
        }
        return list;
    }

    private static IEnumerable<Measurement<long>> PerLockFree()
    {
        var list = new List<Measurement<long>>();
        foreach (LockFreeHeap h in Live(s_lockFree))
        {
            if (((INativeHeap)h).IsDisposed) continue;
            list.Add(new Measurement<long>((long)h.HeapSize, new KeyValuePair<string, object?>("nativeheap.heap", "lockfree"),
                new KeyValuePair<string, object?>("nativeheap.name", ((INativeHeap)h).Name)));
        }
        return list;
    }

    private static IEnumerable<Measurement<long>> PerPool(Func<NativeMemoryPool, long> f)
    {
        var list = new List<Measurement<long>>();
        foreach (NativeMemoryPool p in Live(s_pools))
        {
            list.Add(new Measurement<long>(f(p), new KeyValuePair<string, object?>("nativeheap.heap", "pool"),
                new KeyValuePair<string, object?>("nativeheap.name", p.Heap.Name)));
        }
        return list;
    }

    /// <summary>The live targets of a weak list, dropping the collected and disposed ones.</summary>
    private static List<T> Live<T>(List<WeakReference<T>> refs) where T : class
    {
        var live = new List<T>();
        lock (s_lock)
        {
            refs.RemoveAll(r => !r.TryGetTarget(out T? t) || (t is INativeHeap h && h.IsDisposed));
            foreach (WeakReference<T> r in refs) if (r.TryGetTarget(out T? t)) live.Add(t);
        }
        return live;
    }

    private static HeapStats Stats() => Stats(out _);

    private static HeapStats Stats(out Dictionary<int, string> kindOfArena)
    {
        lock (s_lock)
        {
            long now = Environment.TickCount64;
            if (s_last == null || s_kindOfArena == null || now - s_lastTicks > 200)
            {
                s_last = Heap.GetStats();
                var map = new Dictionary<int, string>();
                foreach (MemoryKind k in MemoryKind.LiveKinds())
                    if (!k.IsDestroyed)
                        foreach (int a in k.ArenaIndices) map[a] = k.Name;
                s_kindOfArena = map;
                s_lastTicks = now;
            }
            kindOfArena = s_kindOfArena;
            return s_last;
        }
    }
}
