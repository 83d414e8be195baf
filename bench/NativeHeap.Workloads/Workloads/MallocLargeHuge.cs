// MallocLargeHuge: malloc-large with the block sizes of mimalloc-bench's C++ source (Danila Kutenin's
// test): 20 slots; each round replaces a random slot with a new block of a random size in 5–25 MiB
// (make_unique<char[]> zero-fills it, so every byte is written) and frees the block it replaces.
// Every block is huge (above 2 MiB): an allocator that unmaps on free maps and faults in fresh pages
// every round; one that keeps freed mappings (jemalloc's retain, NativeHeap's HugeCache, glibc's
// dynamic mmap threshold) reuses them. Figure: elapsed time. Seeded, so every allocator sees the same
// sequence.
using NativeHeap.Workloads.Allocators;

namespace NativeHeap.Workloads.Workloads;

/// <summary>malloc-large-huge: rounds × (replace one of 20 blocks by a new 5–25 MiB block, zero-filled).</summary>
public sealed class MallocLargeHuge : Workload
{
    private const int Slots = 20;
    private const int MinSize = 5 << 20, MaxSize = 25 << 20;
    private readonly int _rounds;

    /// <summary>malloc-large-huge at <paramref name="size"/>.</summary>
    public MallocLargeHuge(BenchSize size) : base("malloc-large-huge", size) => _rounds = BySize(20, 200, 2000);

    /// <inheritdoc/>
    public override MetricKind Kind => MetricKind.Time;

    /// <inheritdoc/>
    public override string Unit => "s";

    /// <inheritdoc/>
    public override string Parameters => $"malloc-large-huge ({_rounds} × replace one of {Slots} blocks of 5–25 MiB)";

    /// <inheritdoc/>
    public override unsafe WorkloadResult Run<TAlloc>(TAlloc allocator)
    {
        long check = 0;
        long start = Stopwatch.GetTimestamp();
        var thread = new Thread(() =>
        {
            var blocks = new nint[Slots];
            var rng = new System.Random(42);
            for (int i = 0; i < _rounds; i++)
            {
                int slot = rng.Next(Slots);
                int n = rng.Next(MinSize, MaxSize + 1);
                byte* p = (byte*)Check(allocator.Malloc((nuint)n), (nuint)n);
                new Span<byte>(p, n).Clear();
                check += p[i % n] == 0 && p[n - 1] == 0 ? 1 : 0;   // rounds whose block reads as zeroed
                if (blocks[slot] != 0) allocator.Free((void*)blocks[slot]);
                blocks[slot] = (nint)p;
            }
            foreach (nint b in blocks) if (b != 0) allocator.Free((void*)b);
        });
        thread.Start();
        thread.Join();
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        return new WorkloadResult(seconds, _rounds, check);
    }
}
