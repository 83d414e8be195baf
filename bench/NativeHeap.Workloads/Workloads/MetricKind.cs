// MetricKind: whether a workload's own figure is an elapsed time (fixed work) or a rate (fixed time).
namespace NativeHeap.Workloads.Workloads;

/// <summary>What a workload reports.</summary>
public enum MetricKind
{
    /// <summary>Seconds for a fixed amount of work: lower is better.</summary>
    Time,

    /// <summary>Operations per second over a time box or per thread-second: higher is better.</summary>
    Throughput,
}
