// AllocatorSummary: all repeats of one workload on one allocator, reduced to medians and spreads.
using NativeHeap.Workloads.Measurement;

namespace NativeHeap.Workloads.Reporting;

/// <summary>The repeats of one (workload, allocator) pair.</summary>
public sealed class AllocatorSummary
{
    /// <summary>Allocator name.</summary>
    public string Allocator { get; init; } = "";

    /// <summary>The successful runs.</summary>
    public List<RunRecord> Runs { get; } = [];

    /// <summary>Errors of failed runs.</summary>
    public List<string> Errors { get; } = [];

    /// <summary>Median of the workload's figure.</summary>
    public double MetricMedian => Statistics.Median(Runs.Select(r => r.Metric).ToList());

    /// <summary>(max − min) / median of the figure.</summary>
    public double MetricSpread => Statistics.Spread(Runs.Select(r => r.Metric).ToList());

    /// <summary>Median peak RSS (bytes).</summary>
    public double PeakMedian => Statistics.Median(Runs.Select(r => (double)r.PeakRss).ToList());

    /// <summary>(max − min) / median of the peak RSS.</summary>
    public double PeakSpread => Statistics.Spread(Runs.Select(r => (double)r.PeakRss).ToList());

    /// <summary>Median RSS before the workload.</summary>
    public double StartMedian => Statistics.Median(Runs.Select(r => (double)r.RssStart).ToList());

    /// <summary>Median RSS after the workload.</summary>
    public double EndMedian => Statistics.Median(Runs.Select(r => (double)r.RssEnd).ToList());

    /// <summary>Median RSS after the purge.</summary>
    public double PurgedMedian => Statistics.Median(Runs.Select(r => (double)r.RssPurged).ToList());
}
