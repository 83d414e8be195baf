// WorkloadSmokeTests: every mimalloc-bench port runs at a tiny size on every allocator that loads
// here, and reports sane figures. No speed thresholds: this only checks that the harness works.
using NativeHeap.Workloads.Allocators;
using NativeHeap.Workloads.Measurement;
using NativeHeap.Workloads.Workloads;
using Xunit.Abstractions;

namespace NativeHeap.Tests.Bench;

public sealed class WorkloadSmokeTests(ITestOutputHelper output)
{
    public static TheoryData<string> WorkloadNames()
    {
        var data = new TheoryData<string>();
        foreach (string name in WorkloadCatalog.Names)
        {
            data.Add(name);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(WorkloadNames))]
    public void RunsOnEveryAvailableAllocator(string workloadName)
    {
        int ran = 0;
        foreach (string allocatorName in AllocatorCatalog.Names)
        {
            if (!AllocatorCatalog.TryGet(allocatorName, out AllocatorBinding? binding, out string reason))
            {
                output.WriteLine($"{allocatorName} not measured: {reason}");
                continue;
            }
            Workload workload = WorkloadCatalog.Find(workloadName, BenchSize.Tiny)!;
            WorkloadResult result = binding!.Run(workload);
            output.WriteLine($"{workloadName} on {allocatorName}: {result}");
            Assert.True(result.Seconds > 0 && double.IsFinite(result.Seconds), $"{allocatorName}: seconds {result.Seconds}");
            Assert.True(result.Operations > 0, $"{allocatorName}: no operations counted");
            Assert.NotEqual(0, result.Check);
            double metric = result.Metric(workload.Kind);
            Assert.True(metric > 0 && double.IsFinite(metric), $"{allocatorName}: metric {metric}");
            ran++;
        }
        Assert.True(ran > 0, "no allocator could be loaded (glibc at least should)");
    }

    [Fact]
    public void MeasuredRunRecordsMemoryAndRoundTrips()
    {
        Assert.True(AllocatorCatalog.TryGet("glibc", out AllocatorBinding? glibc, out string reason), reason);
        RunRecord record = MeasuredRun.Execute(glibc!, WorkloadCatalog.Find("malloc-large", BenchSize.Tiny)!);
        Assert.Null(record.Error);
        Assert.True(record.RssStart > 0);
        Assert.True(record.PeakRss >= 2 << 20, "malloc-large touches 2 MiB blocks: the peak must show at least one");
        Assert.True(record.RssPurged > 0);
        RunRecord? parsed = RunRecord.TryParse(record.ToLine());
        Assert.Equal(record, parsed);
    }

    [Fact]
    public void MissingAllocatorIsExplained()
    {
        Assert.False(AllocatorCatalog.TryGet("no-such-allocator", out _, out string reason));
        Assert.Contains("unknown allocator", reason);
    }
}
