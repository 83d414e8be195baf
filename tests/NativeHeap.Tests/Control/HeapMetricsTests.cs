using System.Diagnostics.Metrics;

namespace NativeHeap.Tests.Control;

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
