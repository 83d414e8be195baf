// BenchSize: how much work a workload does: the mimalloc-bench parameters (Full), a cut-down run
// for `nheap bench --quick`, and a tiny one for smoke tests.
namespace NativeHeap.Workloads.Workloads;

/// <summary>The scale a workload runs at.</summary>
public enum BenchSize
{
    /// <summary>A few milliseconds: only checks that the workload runs (tests).</summary>
    Tiny,

    /// <summary>About a tenth of a second per run, for <c>nheap bench --quick</c>.</summary>
    Quick,

    /// <summary>mimalloc-bench's bench.sh parameters at N = core count.</summary>
    Full,
}
