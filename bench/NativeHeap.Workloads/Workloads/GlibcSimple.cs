// GlibcSimple: glibc's bench-malloc-simple (mimalloc-bench `glibc-simple`). For block sizes 16, 32
// and 64 bytes and batch lengths 25, 100, 400 and 1600, allocate a batch, write every int of every
// block, free the batch; 2,000,000 / batch-length times. Each size runs a warm-up, then the batches
// on the main thread, then on a second thread, then on the main thread again. Figure: elapsed time.
using NativeHeap.Workloads.Allocators;

namespace NativeHeap.Workloads.Workloads;

/// <summary>glibc-simple: <c>bench-malloc-simple</c> (sizes 16, 32, 64).</summary>
public sealed class GlibcSimple : Workload
{
    private static readonly int[] s_batchLengths = [25, 100, 400, 1600];
    private readonly int _iterations;

    /// <summary>glibc-simple at <paramref name="size"/>.</summary>
    public GlibcSimple(BenchSize size) : base("glibc-simple", size) => _iterations = BySize(20_000, 40_000, 2_000_000);

    /// <inheritdoc/>
    public override MetricKind Kind => MetricKind.Time;

    /// <inheritdoc/>
    public override string Unit => "s";

    /// <inheritdoc/>
    public override string Parameters => $"glibc-simple (sizes 16 32 64, {_iterations} allocations per batch length)";

    /// <inheritdoc/>
    public override unsafe WorkloadResult Run<TAlloc>(TAlloc allocator)
    {
        long start = Stopwatch.GetTimestamp();
        long operations = 0;
        for (nuint size = 16; size <= 64; size *= 2)
        {
            nuint arrayBytes = (nuint)(s_batchLengths[^1] * sizeof(nint));
            int** arr = (int**)Check(allocator.Malloc(arrayBytes), arrayBytes);
            operations += RunAll(allocator, arr, size); // warm-up
            operations += RunAll(allocator, arr, size); // main thread
            long threaded = 0;
            var thread = new Thread(() => threaded = RunAll(allocator, arr, size));
            thread.Start();
            thread.Join();
            operations += threaded;
            operations += RunAll(allocator, arr, size); // main thread again, now multi-threaded
            allocator.Free(arr);
        }
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        return new WorkloadResult(seconds, operations, operations);
    }

    private unsafe long RunAll<TAlloc>(TAlloc allocator, int** arr, nuint size) where TAlloc : struct, IAllocator
    {
        long operations = 0;
        foreach (int n in s_batchLengths)
        {
            operations += Batches(allocator, arr, size, n, _iterations / n);
        }
        return operations;
    }

    private static unsafe long Batches<TAlloc>(TAlloc allocator, int** arr, nuint size, int n, int iterations) where TAlloc : struct, IAllocator
    {
        int ints = (int)(size / sizeof(int));
        for (int j = 0; j < iterations; j++)
        {
            for (int i = 0; i < n; i++)
            {
                int* p = (int*)Check(allocator.Malloc(size), size);
                arr[i] = p;
                Touch.IndexInts(p, ints);
            }
            for (int i = 0; i < n; i++)
            {
                allocator.Free(arr[i]);
            }
        }
        return (long)iterations * n;
    }
}
