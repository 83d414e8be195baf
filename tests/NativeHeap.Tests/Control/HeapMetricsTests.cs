using System.Diagnostics.Metrics;

namespace NativeHeap.Tests.Control;

[Collection("Serial")]
public unsafe class HeapMetricsTests
{
    private sealed record Point(string Instrument, long Value, Dictionary<string, object?> Tags);

    private static List<Point> CollectPoints()
    {
        var points = new List<Point>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == HeapMetrics.MeterName) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var t = new Dictionary<string, object?>();
            foreach (KeyValuePair<string, object?> kv in tags) t[kv.Key] = kv.Value;
            points.Add(new Point(instrument.Name, value, t));
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return points;
    }

    /// <summary>Each instrument's measurements summed over its series (arenas, kinds, heaps).</summary>
    private static Dictionary<string, long> Collect()
    {
        var values = new Dictionary<string, long>();
        foreach (Point p in CollectPoints()) values[p.Instrument] = values.GetValueOrDefault(p.Instrument) + p.Value;
        return values;
    }

    [Fact]
    public void MeterPublishesTheHeapFigures()
    {
        Assert.Equal("NativeHeap", HeapMetrics.Meter.Name);
        Heap.Purge();   // no retained huge extent (opt.retain) may serve the block below: it must map anew
        Dictionary<string, long> before = Collect();
        foreach (string name in new[] { "nativeheap.allocated", "nativeheap.active", "nativeheap.resident", "nativeheap.mapped",
                                        "nativeheap.metadata", "nativeheap.allocations", "nativeheap.frees", "nativeheap.purged" })
            Assert.True(before.ContainsKey(name), $"{name} not published");
        Assert.True(before["nativeheap.mapped"] >= before["nativeheap.resident"] - before["nativeheap.metadata"]);

        // A 64 MiB huge block shows in allocated and mapped, and its allocation is counted.
        void* p = Heap.Malloc(64 << 20);
        Thread.Sleep(250);     // the meter reuses a snapshot for 200 ms
        Dictionary<string, long> during = Collect();
        Heap.Free(p);
        Assert.True(during["nativeheap.allocated"] - before["nativeheap.allocated"] >= 32 << 20,
            $"allocated {before["nativeheap.allocated"]} → {during["nativeheap.allocated"]}");
        Assert.True(during["nativeheap.mapped"] - before["nativeheap.mapped"] >= 32 << 20);
        Assert.True(during["nativeheap.allocations"] > before["nativeheap.allocations"]);
    }

    [Fact]
    public void AllocationsAndFreesAreCountedTheSameWay()
    {
        // On a thread of its own (a fresh thread cache): 10,000 blocks allocated and freed, then the
        // cache flushed: every block that left an arena came back, so the two counters move equally.
        long dAlloc = 0, dFree = 0;
        TestThreads.Run(() =>
        {
            Heap.FlushCurrentThreadCache();
            Thread.Sleep(250);
            Dictionary<string, long> before = Collect();
            var blocks = new nint[10_000];
            for (int i = 0; i < blocks.Length; i++) blocks[i] = (nint)Heap.Malloc(64);
            for (int i = 0; i < blocks.Length; i++) Heap.Free((void*)blocks[i]);
            Heap.FlushCurrentThreadCache();
            Thread.Sleep(250);
            Dictionary<string, long> after = Collect();
            dAlloc = after["nativeheap.allocations"] - before["nativeheap.allocations"];
            dFree = after["nativeheap.frees"] - before["nativeheap.frees"];
        });
        Assert.True(dAlloc >= 10_000, $"allocations +{dAlloc}");
        Assert.Equal(dAlloc, dFree);
    }

    [Fact]
    public void SeriesAreTaggedPerArenaKindMappedHeapAndPool()
    {
        Assert.True(NativeHeap.Kinds.MemoryKind.TryCreate("metrics-kind", NativeHeap.General.OsMemorySource.Instance, null, out NativeHeap.Kinds.MemoryKind? kind, out string error), error);
        Assert.True(NativeHeap.Mapped.MappedHeap.TryAttachAnonymous(null, out NativeHeap.Mapped.MappedHeap? mapped, out NativeHeap.Mapped.MappedHeapFailure f), f.ToString());
        using var lf = new NativeHeap.LockFree.LockFreeHeap();
        try
        {
            void* k = kind!.Malloc(1 << 20);
            void* m = mapped!.Allocate(100_000);
            HeapMetrics.Observe(mapped);
            HeapMetrics.Observe(lf);
            var pool = new NativeHeap.Safe.NativeMemoryPool(mapped);
            System.Buffers.IMemoryOwner<byte> owner = pool.Rent(1000);
            Thread.Sleep(250);
            List<Point> points = CollectPoints();

            Assert.Contains(points, p => p.Instrument == "nativeheap.allocations" && (string?)p.Tags["nativeheap.arena"] == "auto" && (string?)p.Tags["nativeheap.heap"] == "general");
            Assert.True(points.Count(p => p.Instrument == "nativeheap.allocations") < 20, "one series per arena group, not per arena");
            Assert.Contains(points, p => p.Instrument == "nativeheap.kind.allocated" && (string?)p.Tags["nativeheap.kind"] == "metrics-kind" && p.Value >= 1 << 20);
            Assert.Contains(points, p => p.Instrument == "nativeheap.allocations" && p.Tags.TryGetValue("nativeheap.kind", out object? n) && (string?)n == "metrics-kind");
            HeapMetrics.PerArenaSeries = true;
            try
            {
                Thread.Sleep(250);
                List<Point> perArena = CollectPoints();
                foreach (int a in kind.ArenaIndices)
                    Assert.Contains(perArena, p => p.Instrument == "nativeheap.allocations" && (string?)p.Tags["nativeheap.arena"] == a.ToString() && (string?)p.Tags["nativeheap.kind"] == "metrics-kind");
            }
            finally
            {
                HeapMetrics.PerArenaSeries = false;
            }
            Assert.Contains(points, p => p.Instrument == "nativeheap.mapped_heap.used" && (string?)p.Tags["nativeheap.name"] == mapped.Name && p.Value >= 100_000);
            Assert.Contains(points, p => p.Instrument == "nativeheap.lockfree.heap_size" && p.Value == (long)lf.HeapSize);
            Assert.Contains(points, p => p.Instrument == "nativeheap.pool.outstanding" && (string?)p.Tags["nativeheap.name"] == mapped.Name && p.Value == 1);

            owner.Dispose();
            kind.FreeBlock(k);
            Assert.True(mapped.TryFree(m));
        }
        finally
        {
            mapped!.Dispose();
            Assert.True(kind!.TryDestroy(out string e), e);
        }
        Thread.Sleep(250);
        List<Point> later = CollectPoints();
        Assert.DoesNotContain(later, p => p.Instrument == "nativeheap.kind.allocated" && (string?)p.Tags["nativeheap.kind"] == "metrics-kind");
        Assert.DoesNotContain(later, p => p.Instrument == "nativeheap.mapped_heap.used" && (string?)p.Tags["nativeheap.name"] == mapped.Name);
    }
}

/// <summary>Warnings reach the NativeHeap EventSource and the HeapDiagnostics.Warning event.</summary>
public class HeapDiagnosticsTests
{
    private sealed class WarningListener : System.Diagnostics.Tracing.EventListener
    {
        public readonly System.Collections.Concurrent.ConcurrentQueue<string> Messages = new();

        protected override void OnEventSourceCreated(System.Diagnostics.Tracing.EventSource source)
        {
            if (source.Name == "NativeHeap") EnableEvents(source, System.Diagnostics.Tracing.EventLevel.Warning);
        }

        protected override void OnEventWritten(System.Diagnostics.Tracing.EventWrittenEventArgs e)
        {
            if (e.EventSource.Name == "NativeHeap" && e.Payload is { Count: > 0 }) Messages.Enqueue((string)e.Payload[0]!);
        }
    }

    [Fact]
    public void AnUnknownConfKeyIsReportedToTheEventSourceAndTheCallback()
    {
        using var listener = new WarningListener();
        var seen = new System.Collections.Concurrent.ConcurrentQueue<string>();
        void Handler(string m) => seen.Enqueue(m);
        HeapDiagnostics.Warning += Handler;
        try
        {
            new HeapOptions().Apply("diagnostics_test_bogus_key:1");
        }
        finally
        {
            HeapDiagnostics.Warning -= Handler;
        }
        Assert.Contains(seen, m => m.Contains("diagnostics_test_bogus_key:1"));
        Assert.Contains(listener.Messages, m => m.Contains("diagnostics_test_bogus_key:1"));
        Assert.Equal(System.Diagnostics.Tracing.EventLevel.Warning,
            typeof(NativeHeapEventSource).GetMethod("Warning")!.GetCustomAttributes(typeof(System.Diagnostics.Tracing.EventAttribute), false)
                .Cast<System.Diagnostics.Tracing.EventAttribute>().Single().Level);
    }
}

/// <summary>
/// The path dotnet-counters uses: it enables the runtime's "System.Diagnostics.Metrics" EventSource
/// with a Metrics filter and reads the published values. An in-process EventListener does the same.
/// </summary>
public class HeapMetricsEventSourceTests
{
    private sealed class MetricsListener : System.Diagnostics.Tracing.EventListener
    {
        public readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> Values = new();

        protected override void OnEventSourceCreated(System.Diagnostics.Tracing.EventSource source)
        {
            if (source.Name != "System.Diagnostics.Metrics") return;
            EnableEvents(source, System.Diagnostics.Tracing.EventLevel.Informational, (System.Diagnostics.Tracing.EventKeywords)0x3,
                new Dictionary<string, string?>
                {
                    ["SessionId"] = "nativeheap-test",
                    ["Metrics"] = "NativeHeap",
                    ["RefreshInterval"] = "0.5",
                    ["MaxTimeSeries"] = "100",
                    ["MaxHistograms"] = "10",
                });
        }

        protected override void OnEventWritten(System.Diagnostics.Tracing.EventWrittenEventArgs e)
        {
            if (e.EventName is not ("GaugeValuePublished" or "CounterRateValuePublished") || e.PayloadNames == null || e.Payload == null) return;
            int name = e.PayloadNames.IndexOf("instrumentName");
            int value = e.PayloadNames.IndexOf(e.EventName == "GaugeValuePublished" ? "lastValue" : "value");
            if (name >= 0 && value >= 0) Values[(string)e.Payload[name]!] = e.Payload[value]?.ToString() ?? "";
        }
    }

    [Fact]
    public void ValuesReachTheMetricsEventSourceThatDotnetCountersReads()
    {
        _ = HeapMetrics.Meter;
        using var listener = new MetricsListener();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline && !(listener.Values.ContainsKey("nativeheap.allocated") && listener.Values.ContainsKey("nativeheap.allocations")))
            Thread.Sleep(100);
        Assert.True(listener.Values.TryGetValue("nativeheap.allocated", out string? allocated), "no nativeheap.allocated event: " + string.Join(", ", listener.Values.Keys));
        Assert.True(double.TryParse(allocated, System.Globalization.CultureInfo.InvariantCulture, out double v) && v >= 0, allocated);
        Assert.True(listener.Values.ContainsKey("nativeheap.allocations"));
    }
}
