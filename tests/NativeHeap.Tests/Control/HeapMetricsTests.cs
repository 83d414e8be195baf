using System.Diagnostics.Metrics;

namespace NativeHeap.Tests.Control;

[Collection("Serial")]
public unsafe class HeapMetricsTests
{
    private static Dictionary<string, long> Collect()
    {
        var values = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == HeapMetrics.MeterName) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => values[instrument.Name] = value);
        listener.Start();
        listener.RecordObservableInstruments();
        return values;
    }

    [Fact]
    public void MeterPublishesTheHeapFigures()
    {
        Assert.Equal("NativeHeap", HeapMetrics.Meter.Name);
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
