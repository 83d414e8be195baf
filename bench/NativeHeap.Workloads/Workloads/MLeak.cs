// MLeak: mimalloc-bench's `mleak`: rounds of 10 short-lived threads, each allocating one zeroed
// 128-byte block and swapping it into a random slot of a shared transfer array (glibc rand() seeded
// 0x1ce4e5b9), freeing what it got back: long-lived blocks allocated by threads that are gone.
// Allocators whose per-thread state outlives the thread "leak". mleak10 runs 500 rounds (5,000
// threads), mleak100 5,000 rounds (50,000 threads): peak RSS should not grow with the thread count.
using NativeHeap.Workloads.Allocators;
using NativeHeap.Workloads.Random;

namespace NativeHeap.Workloads.Workloads;

/// <summary>mleak10 / mleak100: <c>mleak 5</c> / <c>mleak 50</c>.</summary>
public sealed class MLeak : Workload
{
    private const int Threads = 10, BaseIterations = 100, Transfers = Threads * BaseIterations, AllocWords = 16;
    private readonly int _iter, _rounds;

    /// <summary>mleak10 (<paramref name="hundred"/> false) or mleak100 at <paramref name="size"/>.</summary>
    public MLeak(BenchSize size, bool hundred) : base(hundred ? "mleak100" : "mleak10", size)
    {
        _iter = hundred ? 50 : 5;
        _rounds = hundred ? BySize(20, 100, _iter * BaseIterations) : BySize(2, 10, _iter * BaseIterations);
    }

    /// <inheritdoc/>
    public override MetricKind Kind => MetricKind.Time;

    /// <inheritdoc/>
    public override string Unit => "s";

    /// <inheritdoc/>
    public override string Parameters => $"mleak {_iter} ({_rounds} rounds of {Threads} threads)";

    /// <inheritdoc/>
    public override unsafe WorkloadResult Run<TAlloc>(TAlloc allocator)
    {
        nint* transfer = (nint*)NativeMemory.AllocZeroed(Transfers, (nuint)sizeof(nint));
        var rand = new RandHolder { Rand = new GlibcRandom(0x1ce4e5b9) };
        long start = Stopwatch.GetTimestamp();
        var threads = new Thread[Threads];
        for (int n = 0; n < _rounds; n++)
        {
            for (int t = 0; t < Threads; t++)
            {
                threads[t] = new Thread(() => Leak(allocator, transfer, rand));
                threads[t].Start();
            }
            foreach (Thread thread in threads)
            {
                thread.Join();
            }
        }
        long check = 0;
        for (int i = 0; i < Transfers; i++)
        {
            check += transfer[i] != 0 ? 1 : 0;
            allocator.Free((void*)transfer[i]);
        }
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        NativeMemory.Free(transfer);
        return new WorkloadResult(seconds, (long)_rounds * Threads, check);
    }

    private static unsafe void Leak<TAlloc>(TAlloc allocator, nint* transfer, RandHolder rand) where TAlloc : struct, IAllocator
    {
        void* p = Check(allocator.Calloc(AllocWords, (nuint)sizeof(nint)), AllocWords * 8);
        int i;
        lock (rand)
        {
            i = rand.Rand.Next() % Transfers; // rand() takes glibc's lock too
        }
        allocator.Free((void*)Interlocked.Exchange(ref transfer[i], (nint)p));
    }

    private sealed class RandHolder
    {
        public GlibcRandom Rand;
    }
}
