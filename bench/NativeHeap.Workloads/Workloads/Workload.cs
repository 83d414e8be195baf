// Workload: the base of the C# ports of the mimalloc-bench programs. A workload is a job generic over
// the allocator struct: the binding hands it the concrete struct, so every allocator runs the same
// specialised code. Bookkeeping arrays that the C programs keep in globals or on the stack live in
// NativeMemory here, outside the allocator under test.
using NativeHeap.Workloads.Allocators;

namespace NativeHeap.Workloads.Workloads;

/// <summary>One benchmark program at one size.</summary>
public abstract class Workload : IAllocatorJob<WorkloadResult>
{
    /// <summary>A workload called <paramref name="name"/> at <paramref name="size"/>.</summary>
    protected Workload(string name, BenchSize size)
    {
        Name = name;
        Size = size;
    }

    /// <summary>The name as in mimalloc-bench's result tables (e.g. <c>larsonN</c>, <c>cache-scratch1</c>).</summary>
    public string Name { get; }

    /// <summary>The size it runs at.</summary>
    public BenchSize Size { get; }

    /// <summary>Whether its figure is a time or a rate.</summary>
    public abstract MetricKind Kind { get; }

    /// <summary>The unit of its figure (e.g. <c>s</c>, <c>allocs/s</c>).</summary>
    public abstract string Unit { get; }

    /// <summary>The parameters in the original program's terms (e.g. <c>larson 5 8 1000 5000 100 4141 2</c>).</summary>
    public abstract string Parameters { get; }

    /// <summary>The thread count bench.sh uses for "N": the number of cores.</summary>
    protected static int CoreCount => Environment.ProcessorCount;

    /// <summary>Picks the value for the current size.</summary>
    protected T BySize<T>(T tiny, T quick, T full) => Size switch
    {
        BenchSize.Tiny => tiny,
        BenchSize.Quick => quick,
        _ => full,
    };

    /// <inheritdoc/>
    public abstract WorkloadResult Run<TAlloc>(TAlloc allocator) where TAlloc : struct, IAllocator;

    /// <summary>Throws when an allocation failed: a benchmark cannot go on without its memory.</summary>
    protected static unsafe void* Check(void* p, nuint size)
    {
        if (p == null)
        {
            throw new OutOfMemoryException($"allocation of {size} bytes failed");
        }
        return p;
    }
}
