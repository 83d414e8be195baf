// TableWriter: the per-workload tables of a bench report, as Markdown pipe tables (readable in a
// terminal and pasteable into docs/benchmarks.md).
using NativeHeap.Workloads.Workloads;

namespace NativeHeap.Workloads.Reporting;

/// <summary>Writes the tables of a <see cref="BenchReport"/>.</summary>
public static class TableWriter
{
    /// <summary>Writes one table per workload and a summary of the ratios to <paramref name="output"/>.</summary>
    public static void Write(BenchReport report, TextWriter output)
    {
        string reference = report.Reference;
        output.WriteLine($"Machine: {report.Machine}. Size: {report.Size}, {report.Repeats} repeats, allocators interleaved; {report.Isolation}.");
        output.WriteLine($"Ratios are {reference} / allocator: time ratio below 1 means {reference} is faster, RSS ratio below 1 means it used less.");
        foreach ((string name, string reason) in report.Skipped)
        {
            output.WriteLine($"Skipped {name}: {reason}");
        }
        foreach (WorkloadSummary w in report.Workloads)
        {
            output.WriteLine();
            string better = w.Kind == MetricKind.Time ? "lower is better" : "higher is better";
            output.WriteLine($"### {w.Workload}: `{w.Parameters}` ({w.Unit}, {better})");
            output.WriteLine();
            output.WriteLine($"| allocator | median | spread | time {reference}/x | peak RSS | spread | peak {reference}/x | RSS start | RSS end | RSS purged |");
            output.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
            foreach (AllocatorSummary a in w.Allocators)
            {
                if (a.Runs.Count == 0)
                {
                    output.WriteLine($"| {a.Allocator} | failed: {string.Join("; ", a.Errors.Distinct()).Replace('|', '/')} | | | | | | | | |");
                    continue;
                }
                string metric = w.Kind == MetricKind.Time ? Format.Seconds(a.MetricMedian) : Format.Rate(a.MetricMedian);
                output.WriteLine($"| {a.Allocator} | {metric} | {Format.Percent(a.MetricSpread)} | {Format.Ratio(w.TimeRatio(reference, a.Allocator))} | " +
                    $"{Format.MiB(a.PeakMedian)} | {Format.Percent(a.PeakSpread)} | {Format.Ratio(w.PeakRatio(reference, a.Allocator))} | " +
                    $"{Format.MiB(a.StartMedian)} | {Format.MiB(a.EndMedian)} | {Format.MiB(a.PurgedMedian)} |");
            }
        }
        WriteSummary(report, output);
    }

    // One line per workload: the time and peak ratios against every other allocator.
    private static void WriteSummary(BenchReport report, TextWriter output)
    {
        string reference = report.Reference;
        List<string> others = [.. report.Allocators.Where(a => a != reference)];
        if (others.Count == 0)
        {
            return;
        }
        output.WriteLine();
        output.WriteLine($"### Summary: {reference} / allocator (time; peak RSS)");
        output.WriteLine();
        output.WriteLine("| workload | " + string.Join(" | ", others) + " |");
        output.WriteLine("| --- |" + string.Concat(others.Select(_ => " ---: |")));
        foreach (WorkloadSummary w in report.Workloads)
        {
            IEnumerable<string> cells = others.Select(o => $"{Format.Ratio(w.TimeRatio(reference, o))}; {Format.Ratio(w.PeakRatio(reference, o))}");
            output.WriteLine($"| {w.Workload} | " + string.Join(" | ", cells) + " |");
        }
    }
}
