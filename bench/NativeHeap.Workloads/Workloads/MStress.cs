// MStress: mimalloc's multi-threaded stress test (mimalloc-bench `mstress`). Each thread allocates
// blocks of 1..128 words (1 % of them 100× larger), keeps half as long-lived "retained" blocks of
// 10..1280 words, frees random earlier blocks, and swaps blocks with other threads through a shared
// 1000-slot transfer array, so blocks are freed by threads that did not allocate them. Every block
// is filled with a cookie pattern when allocated and verified before it is freed. bench.sh passes a
// third argument (25 rounds): the thread set runs that many times, and between rounds half of the
// transfer slots are freed (all after the last round), as mimalloc's test-stress does.
using NativeHeap.Workloads.Allocators;
using NativeHeap.Workloads.Random;

namespace NativeHeap.Workloads.Workloads;

/// <summary>mstressN: <c>mstress N 50 25</c>.</summary>
public sealed class MStress : Workload
{
    private const int Transfers = 1000;
    private const ulong Cookie = 0xbf58476d1ce4e5b9UL;
    private readonly int _threads, _scale, _rounds;

    /// <summary>mstressN at <paramref name="size"/>.</summary>
    public MStress(BenchSize size) : base("mstressN", size)
    {
        _threads = CoreCount;
        _scale = BySize(4, 10, 50);
        _rounds = BySize(2, 3, 25);
    }

    /// <inheritdoc/>
    public override MetricKind Kind => MetricKind.Time;

    /// <inheritdoc/>
    public override string Unit => "s";

    /// <inheritdoc/>
    public override string Parameters => $"mstress {_threads} {_scale} {_rounds}";

    /// <inheritdoc/>
    public override unsafe WorkloadResult Run<TAlloc>(TAlloc allocator)
    {
        nint* transfer = (nint*)NativeMemory.AllocZeroed(Transfers, (nuint)sizeof(nint));
        int perThread = Math.Max(1, _scale / _threads);
        long operations = 0;
        var r = new MixRandom(42);
        long start = Stopwatch.GetTimestamp();
        for (int round = 0; round < _rounds; round++)
        {
            var threads = new Thread[_threads];
            long[] counts = new long[_threads];
            for (int t = 0; t < _threads; t++)
            {
                int tid = t;
                threads[t] = new Thread(() => counts[tid] = Stress(allocator, tid, perThread, transfer));
                threads[t].Start();
            }
            foreach (Thread thread in threads)
            {
                thread.Join();
            }
            operations += counts.Sum();
            for (int i = 0; i < Transfers; i++)
            {
                if (r.Chance(50) || round + 1 == _rounds)
                {
                    FreeItems(allocator, (ulong*)Interlocked.Exchange(ref transfer[i], 0));
                }
            }
        }
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        NativeMemory.Free(transfer);
        return new WorkloadResult(seconds, operations, operations);
    }

    private static unsafe long Stress<TAlloc>(TAlloc allocator, int tid, int scale, nint* transfer) where TAlloc : struct, IAllocator
    {
        var r = new MixRandom((ulong)tid ^ 42);
        const int maxItem = 128, maxItemRetained = 10 * maxItem;
        long allocs = 80L * scale * (tid % 8 + 1);
        long retain = allocs / 2;
        long operations = 0;
        ulong** data = null;
        long dataSize = 0, dataTop = 0;
        ulong** retained = (ulong**)Check(allocator.Malloc((nuint)(retain * sizeof(nint))), (nuint)(retain * sizeof(nint)));
        long retainTop = 0;
        while (allocs > 0 || retain > 0)
        {
            if (retain == 0 || (r.Chance(50) && allocs > 0))
            {
                allocs--;
                if (dataTop >= dataSize)
                {
                    dataSize += 100_000;
                    nuint bytes = (nuint)(dataSize * sizeof(nint));
                    data = (ulong**)Check(allocator.Realloc(data, bytes), bytes);
                }
                data[dataTop++] = AllocItems(allocator, r.Next() % maxItem + 1, ref r);
            }
            else
            {
                retained[retainTop++] = AllocItems(allocator, 10 * (r.Next() % maxItemRetained + 1), ref r);
                retain--;
            }
            operations++;
            if (r.Chance(66) && dataTop > 0)
            {
                long idx = (long)(r.Next() % (ulong)dataTop);
                FreeItems(allocator, data[idx]);
                data[idx] = null;
                operations++;
            }
            if (r.Chance(25) && dataTop > 0)
            {
                long dataIdx = (long)(r.Next() % (ulong)dataTop);
                long transferIdx = (long)(r.Next() % Transfers);
                data[dataIdx] = (ulong*)Interlocked.Exchange(ref transfer[transferIdx], (nint)data[dataIdx]);
            }
        }
        for (long i = 0; i < retainTop; i++)
        {
            FreeItems(allocator, retained[i]);
        }
        for (long i = 0; i < dataTop; i++)
        {
            FreeItems(allocator, data[i]);
        }
        allocator.Free(retained);
        allocator.Free(data);
        return operations;
    }

    private static unsafe ulong* AllocItems<TAlloc>(TAlloc allocator, ulong items, ref MixRandom r) where TAlloc : struct, IAllocator
    {
        if (r.Chance(1))
        {
            items *= 100; // 1 % huge blocks
        }
        if (items == 40)
        {
            items++; // the original avoids the size pthreads uses for stack growth
        }
        nuint bytes = (nuint)(items * sizeof(ulong));
        ulong* p = (ulong*)Check(allocator.Malloc(bytes), bytes);
        Touch.FillCookie(p, items, Cookie);
        return p;
    }

    private static unsafe void FreeItems<TAlloc>(TAlloc allocator, ulong* p) where TAlloc : struct, IAllocator
    {
        if (p != null && !Touch.CheckCookie(p, Cookie, out ulong bad))
        {
            throw new InvalidOperationException($"mstress: memory corruption in block 0x{(nint)p:x} at word {bad}");
        }
        allocator.Free(p);
    }
}
