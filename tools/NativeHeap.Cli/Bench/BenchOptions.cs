// BenchOptions: what `nheap bench` was asked to do.
using NativeHeap.Workloads.Workloads;

namespace NativeHeap.Cli.Bench;

/// <summary>The parsed options of <c>nheap bench</c>.</summary>
internal sealed class BenchOptions
{
    /// <summary>Quick or full.</summary>
    public BenchSize Size { get; init; }

    /// <summary>Workload names, in order.</summary>
    public List<string> Workloads { get; init; } = [];

    /// <summary>Allocator names, in order.</summary>
    public List<string> Allocators { get; init; } = [];

    /// <summary>Runs per (workload, allocator).</summary>
    public int Repeats { get; init; } = 5;

    /// <summary>
    /// True: one child process per (workload, allocator, repeat). False: one child per (allocator,
    /// repeat) that runs every workload in turn, resetting the peak-RSS mark and purging between
    /// workloads (faster: fewer runtime start-ups).
    /// </summary>
    public bool ProcessPerRun { get; init; }

    /// <summary>Where to write the JSON, or null.</summary>
    public FileInfo? JsonFile { get; init; }

    /// <summary>Where to write the SVG, or null.</summary>
    public FileInfo? SvgFile { get; init; }
}
