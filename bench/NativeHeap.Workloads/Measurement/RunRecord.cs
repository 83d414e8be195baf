// RunRecord: the outcome of one measured run (one workload, one allocator, one repeat), as the
// child process prints it and the parent collects it.
using System.Text.Json;

namespace NativeHeap.Workloads.Measurement;

/// <summary>One run's figures; memory in bytes.</summary>
public sealed record RunRecord
{
    /// <summary>The line prefix the child prints before the JSON record.</summary>
    public const string LinePrefix = "NHEAP-RUN ";

    /// <summary>Workload name.</summary>
    public string Workload { get; init; } = "";

    /// <summary>Allocator name.</summary>
    public string Allocator { get; init; } = "";

    /// <summary>Seconds the workload measured.</summary>
    public double Seconds { get; init; }

    /// <summary>Operations the workload counted.</summary>
    public long Operations { get; init; }

    /// <summary>The workload's figure (seconds or operations per second).</summary>
    public double Metric { get; init; }

    /// <summary>The workload's read-back check value.</summary>
    public long Check { get; init; }

    /// <summary>RSS before the workload (runtime, harness and loaded allocator).</summary>
    public long RssStart { get; init; }

    /// <summary>Peak RSS during the workload (VmHWM, reset just before it started).</summary>
    public long PeakRss { get; init; }

    /// <summary>RSS right after the workload freed everything.</summary>
    public long RssEnd { get; init; }

    /// <summary>RSS after the allocator's purge call.</summary>
    public long RssPurged { get; init; }

    /// <summary>Whether VmHWM could be reset (if not, the peak includes the process start).</summary>
    public bool PeakReset { get; init; }

    /// <summary>Why the run failed, or null.</summary>
    public string? Error { get; init; }

    /// <summary>The record as one line for the parent to parse.</summary>
    public string ToLine() => LinePrefix + JsonSerializer.Serialize(this);

    /// <summary>Parses a line printed by <see cref="ToLine"/>; null if the line is something else.</summary>
    public static RunRecord? TryParse(string line) =>
        line.StartsWith(LinePrefix, StringComparison.Ordinal)
            ? JsonSerializer.Deserialize<RunRecord>(line.AsSpan(LinePrefix.Length))
            : null;
}
