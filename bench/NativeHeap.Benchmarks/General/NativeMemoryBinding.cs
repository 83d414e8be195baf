// NativeMemoryBinding: runs micro-benchmark jobs on the NativeMemory baseline.
using NativeHeap.Workloads.Allocators;

namespace NativeHeap.Benchmarks.General;

/// <summary>The binding of <see cref="NativeMemoryAllocator"/>.</summary>
public sealed class NativeMemoryBinding : AllocatorBinding
{
    /// <inheritdoc/>
    public override string Name => BenchAllocators.NativeMemoryName;

    /// <inheritdoc/>
    public override string Description => "System.Runtime.InteropServices.NativeMemory (glibc malloc)";

    /// <inheritdoc/>
    public override TResult Run<TResult>(IAllocatorJob<TResult> job) => job.Run(default(NativeMemoryAllocator));

    /// <inheritdoc/>
    public override void Purge()
    {
    }
}
