// ReportTests: tables, JSON and SVG come out of a small hand-made report.
using NativeHeap.Workloads.Measurement;
using NativeHeap.Workloads.Reporting;
using NativeHeap.Workloads.Workloads;

namespace NativeHeap.Tests.Bench;

public sealed class ReportTests
{
    private static BenchReport Sample()
    {
        var report = new BenchReport { Machine = "test", Size = "tiny", Repeats = 2, Reference = "a", Allocators = ["a", "b"] };
        var w = new WorkloadSummary { Workload = "w", Parameters = "w 1 2", Unit = "s", Kind = MetricKind.Time };
        foreach (string name in new[] { "a", "b" })
        {
            var s = new AllocatorSummary { Allocator = name };
            double seconds = name == "a" ? 1.0 : 2.0;
            s.Runs.Add(new RunRecord { Workload = "w", Allocator = name, Metric = seconds, Seconds = seconds, PeakRss = 100 << 20 });
            s.Runs.Add(new RunRecord { Workload = "w", Allocator = name, Metric = seconds * 1.1, Seconds = seconds * 1.1, PeakRss = 100 << 20 });
            w.Allocators.Add(s);
        }
        report.Workloads.Add(w);
        return report;
    }

    [Fact]
    public void RatiosFollowTheMetricKind()
    {
        WorkloadSummary w = Sample().Workloads[0];
        Assert.Equal(0.5, w.TimeRatio("a", "b"), 6);
        Assert.Equal(1.0, w.PeakRatio("a", "b"), 6);
    }

    [Fact]
    public void TableJsonAndSvgAreWritten()
    {
        BenchReport report = Sample();
        var text = new StringWriter();
        TableWriter.Write(report, text);
        Assert.Contains("| b | 2.100 s |", text.ToString());
        Assert.Contains("\"Workload\": \"w\"", report.ToJson());
        string svg = SvgChart.Render(report);
        Assert.StartsWith("<svg", svg);
        Assert.EndsWith("</svg>\n", svg);
    }
}
