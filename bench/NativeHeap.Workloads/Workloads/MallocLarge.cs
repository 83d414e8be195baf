// MallocLarge: Danila Kutenin's large-block test (mimalloc-bench `malloc-large`): one thread
// allocates a 2 MiB block, writes every byte, frees it, 5,000 times. Allocators that unmap on free
// and map again pay page faults on every round. Figure: elapsed time.
using NativeHeap.Workloads.Allocators;

namespace NativeHeap.Workloads.Workloads;

/// <summary>malloc-large: 5,000 × (allocate 2 MiB, fill, free).</summary>
public sealed class MallocLarge : Workload
{
    private const nuint BlockSize = 1 << 21;
    private readonly int _rounds;

    /// <summary>malloc-large at <paramref name="size"/>.</summary>
    public MallocLarge(BenchSize size) : base("malloc-large", size) => _rounds = BySize(10, 200, 5000);

    /// <inheritdoc/>
    public override MetricKind Kind => MetricKind.Time;

    /// <inheritdoc/>
    public override string Unit => "s";

    /// <inheritdoc/>
    public override string Parameters => $"malloc-large ({_rounds} × 2 MiB)";

    /// <inheritdoc/>
    public override unsafe WorkloadResult Run<TAlloc>(TAlloc allocator)
    {
        long check = 0;
        long start = Stopwatch.GetTimestamp();
        var thread = new Thread(() =>
        {
            for (int i = 0; i < _rounds; i++)
            {
                byte* p = (byte*)Check(allocator.Malloc(BlockSize), BlockSize);
                new Span<byte>(p, (int)BlockSize).Fill((byte)'x');
                check += p[i % (int)BlockSize];
                allocator.Free(p);
            }
        });
        thread.Start();
        thread.Join();
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        return new WorkloadResult(seconds, _rounds, check);
    }
}
