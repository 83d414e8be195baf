// NativeHeapBinding: the general heap as a harness allocator; purge is Heap.Purge().
using NativeHeap;

namespace NativeHeap.Workloads.Allocators;

/// <summary>The binding of NativeHeap's general heap.</summary>
public sealed class NativeHeapBinding(string name) : AllocatorBinding
{
    /// <inheritdoc/>
    public override string Name => name;

    /// <inheritdoc/>
    public override string Description => $"NativeHeap.Heap {typeof(Heap).Assembly.GetName().Version} ({Heap.ActiveCore} core)";

    /// <inheritdoc/>
    public override TResult Run<TResult>(IAllocatorJob<TResult> job) => job.Run(default(NativeHeapAllocator));

    /// <inheritdoc/>
    public override void Purge() => Heap.Purge();
}
