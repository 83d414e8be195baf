// WorkloadSummary: one workload's results across allocators, and the ratios against a reference
// allocator (NativeHeap when it was measured).
using NativeHeap.Workloads.Workloads;

namespace NativeHeap.Workloads.Reporting;

/// <summary>One workload's results for every allocator.</summary>
public sealed class WorkloadSummary
{
    /// <summary>Workload name.</summary>
    public string Workload { get; init; } = "";

    /// <summary>Parameters in the original program's terms.</summary>
    public string Parameters { get; init; } = "";

    /// <summary>Unit of the figure.</summary>
    public string Unit { get; init; } = "";

    /// <summary>Time or throughput.</summary>
    public MetricKind Kind { get; init; }

    /// <summary>Per allocator, in table order.</summary>
    public List<AllocatorSummary> Allocators { get; } = [];

    /// <summary>The summary of <paramref name="allocator"/>, or null.</summary>
    public AllocatorSummary? For(string allocator) =>
        Allocators.FirstOrDefault(a => a.Allocator == allocator && a.Runs.Count > 0);

    /// <summary>
    /// reference's cost / other's cost, where cost is the time (or 1 / throughput): below 1 means the
    /// reference is faster. NaN when either is missing.
    /// </summary>
    public double TimeRatio(string reference, string other)
    {
        AllocatorSummary? r = For(reference), o = For(other);
        if (r is null || o is null)
        {
            return double.NaN;
        }
        return Kind == MetricKind.Time ? r.MetricMedian / o.MetricMedian : o.MetricMedian / r.MetricMedian;
    }

    /// <summary>reference's median peak RSS / other's: below 1 means the reference used less.</summary>
    public double PeakRatio(string reference, string other)
    {
        AllocatorSummary? r = For(reference), o = For(other);
        return r is null || o is null ? double.NaN : r.PeakMedian / o.PeakMedian;
    }
}
