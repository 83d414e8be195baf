// WorkloadResult: what one run of a workload measured on itself.
namespace NativeHeap.Workloads.Workloads;

/// <summary>The outcome of one workload run.</summary>
/// <param name="Seconds">Elapsed time the workload measured (wall clock, or summed thread time for rptest).</param>
/// <param name="Operations">Operations it counted (allocations, frees, iterations: see the workload).</param>
/// <param name="Check">A value derived from the memory the workload read back, so nothing is optimised away and tests can see work was done.</param>
public sealed record WorkloadResult(double Seconds, long Operations, long Check)
{
    /// <summary>The workload's figure for <paramref name="kind"/>: seconds, or operations per second.</summary>
    public double Metric(MetricKind kind) => kind == MetricKind.Time ? Seconds : Operations / Seconds;
}
