// HeapMetrics: the general heap's figures as a System.Diagnostics.Metrics Meter named "NativeHeap",
// so MeterListener, OpenTelemetry and `dotnet-counters monitor --counters NativeHeap` see them.
// Every instrument is observable: nothing is recorded on allocation paths; a collection takes one
// statistics snapshot (shared by the instruments of one collection, at most every 200 ms).
using System.Diagnostics.Metrics;

namespace NativeHeap;

/// <summary>
/// The "NativeHeap" <see cref="System.Diagnostics.Metrics.Meter"/>: gauges <c>nativeheap.allocated</c>,
/// <c>nativeheap.active</c>, <c>nativeheap.resident</c>, <c>nativeheap.mapped</c>, <c>nativeheap.metadata</c>
/// (bytes) and counters <c>nativeheap.allocations</c>, <c>nativeheap.frees</c> (blocks) and
/// <c>nativeheap.purged</c> (bytes returned to the OS). Created when the heap initialises.
/// </summary>
/// <remarks>
/// Allocation counts include requests served by thread caches (counted when a cache refills or
/// flushes, so they lag by at most a cache's contents); frees are counted when blocks reach their arena.
/// </remarks>
public static class HeapMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "NativeHeap";

    private static readonly Lock s_lock = new();
    private static Meter? s_meter;
    private static HeapStats? s_last;
    private static long s_lastTicks;

    /// <summary>The meter (creates it on first use).</summary>
    public static Meter Meter
    {
        get
        {
            EnsureCreated();
            return s_meter!;
        }
    }

    internal static void EnsureCreated()
    {
        if (Volatile.Read(ref s_meter) != null) return;
        lock (s_lock)
        {
            if (s_meter != null) return;
            var m = new Meter(MeterName, HeapControl.Version);
            m.CreateObservableGauge("nativeheap.allocated", () => Stats().Allocated, "By", "Bytes in live blocks (usable sizes, thread-cached blocks included)");
            m.CreateObservableGauge("nativeheap.active", () => Stats().Active, "By", "Bytes in pages holding live blocks");
            m.CreateObservableGauge("nativeheap.resident", () => Stats().Resident, "By", "Bytes resident (estimate)");
            m.CreateObservableGauge("nativeheap.mapped", () => Stats().Mapped, "By", "Bytes mapped from memory sources");
            m.CreateObservableGauge("nativeheap.metadata", () => Stats().Metadata, "By", "Bytes of allocator metadata");
            m.CreateObservableCounter("nativeheap.allocations", () => Count(a => a.SmallNRequests + a.LargeNMalloc + a.HugeNMalloc), "{block}", "Allocations served");
            m.CreateObservableCounter("nativeheap.frees", () => Count(a => a.SmallNDalloc + a.LargeNDalloc + a.HugeNDalloc), "{block}", "Blocks returned to arenas");
            m.CreateObservableCounter("nativeheap.purged", () => Count(a => a.PurgedPages) * Os.OsMemory.PageSize, "By", "Bytes purged (returned to the OS)");
            Volatile.Write(ref s_meter, m);
        }
    }

    private static long Count(Func<ArenaStats, long> f)
    {
        long sum = 0;
        foreach (ArenaStats a in Stats().Arenas) sum += f(a);
        return sum;
    }

    private static HeapStats Stats()
    {
        lock (s_lock)
        {
            long now = Environment.TickCount64;
            if (s_last == null || now - s_lastTicks > 200)
            {
                s_last = Heap.GetStats();
                s_lastTicks = now;
            }
            return s_last;
        }
    }
}
