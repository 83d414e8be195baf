// RpTest: Mattias Jansson's rpmalloc benchmark (mimalloc-bench `rptest`). Each thread keeps a ring
// of `allocs` slots; every loop it frees a table-driven number of slots (stepping by one prime),
// frees the batches other threads sent it, allocates a table-driven number of new blocks (stepping
// by another prime; sizes from a linear-dropoff table over [min, max]; small blocks use memalign
// with alignment 0/8/16 and are filled with 0xCD, the others calloc), writes the size into the first
// word and touches every page, and every `cross rate` loops sends a batch of fresh blocks to another
// thread to free. The figure is memory operations per thread-second (only the timed sections count).
//
// The original draws sizes and operation counts from fixed tables of 2,000, 311 and 257 numbers;
// this port builds tables of the same length and ranges (uniform [0, 100000) and [30, 100)) from
// lran2 with a fixed seed, and applies the original's transforms to them.
using NativeHeap.Workloads.Allocators;
using NativeHeap.Workloads.Random;

namespace NativeHeap.Workloads.Workloads;

/// <summary>rptestN: <c>rptest N 0 1 2 500 1000 100 8 16000</c>.</summary>
public sealed class RpTest : Workload
{
    private const int SizeTableLength = 2000, AllocOpsLength = 311, FreeOpsLength = 257;
    private static readonly nuint[] s_alignments = [0, 8, 16];
    private static readonly int[] s_primes = [7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97];

    private readonly int _threads, _crossRate = 2, _loops, _allocCount = 1000, _opCount = 100, _minSize = 8, _maxSize = 16000;
    private readonly nuint[] _sizes = new nuint[SizeTableLength];
    private readonly int[] _allocOps = new int[AllocOpsLength];
    private readonly int[] _freeOps = new int[FreeOpsLength];
    private readonly int _allocScatter, _freeScatter;

    /// <summary>rptestN at <paramref name="size"/>.</summary>
    public RpTest(BenchSize size) : base("rptestN", size)
    {
        _threads = CoreCount;
        _loops = BySize(20, 100, 500);
        if (_threads == 1)
        {
            _crossRate = 0;
        }
        int iprime = 0;
        _allocScatter = s_primes[iprime];
        while (_allocCount % _allocScatter == 0)
        {
            _allocScatter = s_primes[++iprime];
        }
        _freeScatter = s_primes[++iprime];
        while (_allocCount % _freeScatter == 0)
        {
            _freeScatter = s_primes[++iprime];
        }
        BuildTables();
    }

    /// <inheritdoc/>
    public override MetricKind Kind => MetricKind.Throughput;

    /// <inheritdoc/>
    public override string Unit => "ops/thread-s";

    /// <inheritdoc/>
    public override string Parameters => $"rptest {_threads} 0 1 {_crossRate} {_loops} {_allocCount} {_opCount} {_minSize} {_maxSize}";

    private void BuildTables()
    {
        var rng = new Lran2(1);
        long[] raw = new long[SizeTableLength];
        for (int i = 0; i < raw.Length; i++)
        {
            raw[i] = rng.Next() % 100_000;
        }
        int range = _maxSize - _minSize;
        long[] even = new long[SizeTableLength];
        for (int i = 0; i < even.Length; i++)
        {
            even[i] = _minSize + (long)Math.Round(range * (raw[i] / 100000.0));
        }
        double divisor = range == 0 ? 1 : range;
        for (int i = 0; i < SizeTableLength; i++)
        {
            double w0 = 1.0 - (even[i] - _minSize) / divisor;
            double w1 = 1.0 - (even[(i + 1) % SizeTableLength] - _minSize) / divisor;
            double spanned = even[(i + 2) % SizeTableLength] - _minSize;
            _sizes[i] = (nuint)(_minSize + (long)(spanned * Math.Abs(w0 + w1 - 1.0))); // linear dropoff
        }
        for (int i = 0; i < AllocOpsLength; i++)
        {
            _allocOps[i] = (int)(_opCount * ((30 + rng.Next() % 70) / 100.0));
        }
        for (int i = 0; i < FreeOpsLength; i++)
        {
            _freeOps[i] = (int)(0.8 * _opCount * ((30 + rng.Next() % 70) / 100.0));
        }
    }

    /// <inheritdoc/>
    public override unsafe WorkloadResult Run<TAlloc>(TAlloc allocator)
    {
        long ops = 0, ticks = 0, check = 0;
        // The original runs its thread set twice; each thread does two passes.
        for (int pass = 0; pass < 2; pass++)
        {
            var shared = new Shared();
            var workers = new Worker[_threads];
            var threads = new Thread[_threads];
            for (int t = 0; t < _threads; t++)
            {
                workers[t] = new Worker { Index = t };
            }
            for (int t = 0; t < _threads; t++)
            {
                Worker w = workers[t];
                threads[t] = new Thread(() => Work(allocator, w, workers, shared));
                threads[t].Start();
            }
            Thread.Sleep(10);
            shared.Start = 1;
            for (int sync = 0; sync < 3; sync++)
            {
                while (Volatile.Read(ref shared.Sync) < _threads)
                {
                    Thread.Sleep(1);
                }
                Volatile.Write(ref shared.Sync, 0);
                Interlocked.Increment(ref shared.Generation);
            }
            foreach (Thread thread in threads)
            {
                thread.Join();
            }
            foreach (Worker w in workers)
            {
                ops += w.Ops;
                ticks += w.Ticks;
                check += w.Check;
            }
        }
        double seconds = (double)Math.Max(ticks, 1) / Stopwatch.Frequency;
        return new WorkloadResult(seconds, ops, check);
    }

    private unsafe void Work<TAlloc>(TAlloc allocator, Worker me, Worker[] all, Shared shared) where TAlloc : struct, IAllocator
    {
        nuint pointersSize = (nuint)(sizeof(nint) * _allocCount);
        void** pointers = (void**)Check(Malloc(allocator, 16, pointersSize), pointersSize);
        new Span<byte>(pointers, (int)pointersSize).Clear();
        int allocIdx = 0, freeIdx = 0, crossIndex = 0;
        while (shared.Start == 0)
        {
            Thread.Sleep(1);
        }
        for (int iter = 0; iter < 2; iter++)
        {
            int sizeIndex = (me.Index + 1) * ((iter + 1) * 37) % SizeTableLength;
            bool doForeign = true;
            for (int loop = 0; loop < _loops; loop++)
            {
                Batch* foreign = (Batch*)Interlocked.Exchange(ref me.Foreign, 0);
                long start = Stopwatch.GetTimestamp();
                int freeOps = _freeOps[(iter + loop) % FreeOpsLength];
                int allocOps = _allocOps[(iter + loop) % AllocOpsLength];
                for (int op = 0; op < freeOps; op++)
                {
                    if (pointers[freeIdx] != null)
                    {
                        me.Check += *(int*)pointers[freeIdx];
                        allocator.Free(pointers[freeIdx]);
                        me.Ops++;
                        pointers[freeIdx] = null;
                    }
                    freeIdx = (freeIdx + _freeScatter) % _allocCount;
                }
                me.Ops += FreeBatches(allocator, foreign);
                for (int op = 0; op < allocOps; op++)
                {
                    if (pointers[allocIdx] != null)
                    {
                        allocator.Free(pointers[allocIdx]);
                        me.Ops++;
                    }
                    nuint size = _sizes[(sizeIndex + 2) % SizeTableLength];
                    pointers[allocIdx] = AllocTouched(allocator, size, size < 4096 ? s_alignments[(sizeIndex + op) % 3] : 0);
                    me.Ops++;
                    allocIdx = (allocIdx + _allocScatter) % _allocCount;
                    sizeIndex = (sizeIndex + 1) % SizeTableLength;
                }
                Batch* outgoing = null;
                if (_crossRate != 0 && loop % _crossRate == 0 && doForeign)
                {
                    outgoing = (Batch*)Check(Malloc(allocator, 16, (nuint)sizeof(Batch)), (nuint)sizeof(Batch));
                    outgoing->Count = allocOps;
                    outgoing->Padding = 0;
                    nuint bytes = (nuint)(sizeof(nint) * Math.Max(allocOps, 1));
                    outgoing->Pointers = (void**)Check(Malloc(allocator, 16, bytes), bytes);
                    me.Ops += 2;
                    for (int op = 0; op < allocOps; op++)
                    {
                        nuint size = _sizes[(sizeIndex + 2) % SizeTableLength];
                        outgoing->Pointers[op] = AllocTouched(allocator, size, size < 4096 ? s_alignments[(sizeIndex + op) % 3] : 0);
                        me.Ops++;
                        sizeIndex = (sizeIndex + 1) % SizeTableLength;
                    }
                }
                me.Ticks += Stopwatch.GetTimestamp() - start;
                if (outgoing != null)
                {
                    crossIndex = (crossIndex + 1) % _threads;
                    if (_threads > 1 && crossIndex == me.Index)
                    {
                        crossIndex = (crossIndex + 1) % _threads;
                    }
                    Push(all[crossIndex], outgoing);
                }
                if (Volatile.Read(ref shared.Sync) > 0)
                {
                    doForeign = false; // one thread completed
                }
            }
            DrainUntilReleased(allocator, me, shared);
            long freeStart = Stopwatch.GetTimestamp();
            for (int i = 0; i < _allocCount; i++)
            {
                if (pointers[i] != null)
                {
                    allocator.Free(pointers[i]);
                    me.Ops++;
                    pointers[i] = null;
                }
            }
            me.Ticks += Stopwatch.GetTimestamp() - freeStart;
            Thread.Sleep(1);
            FreeBatches(allocator, (Batch*)Interlocked.Exchange(ref me.Foreign, 0));
        }
        DrainUntilReleased(allocator, me, shared);
        allocator.Free(pointers);
    }

    // Reports this thread at the sync point, then keeps freeing what others send it until the main
    // thread releases the sync point (a generation count, so a slow thread cannot miss the release).
    private static unsafe void DrainUntilReleased<TAlloc>(TAlloc allocator, Worker me, Shared shared) where TAlloc : struct, IAllocator
    {
        int generation = Volatile.Read(ref shared.Generation);
        Interlocked.Increment(ref shared.Sync);
        do
        {
            Batch* foreign = (Batch*)Interlocked.Exchange(ref me.Foreign, 0);
            if (foreign != null)
            {
                long start = Stopwatch.GetTimestamp();
                me.Ops += FreeBatches(allocator, foreign);
                me.Ticks += Stopwatch.GetTimestamp() - start;
            }
            Thread.Sleep(1);
        }
        while (Volatile.Read(ref shared.Generation) == generation);
    }

    private static unsafe long FreeBatches<TAlloc>(TAlloc allocator, Batch* batch) where TAlloc : struct, IAllocator
    {
        long ops = 0;
        while (batch != null)
        {
            for (int i = 0; i < batch->Count; i++)
            {
                allocator.Free(batch->Pointers[i]);
                ops++;
            }
            Batch* next = batch->Next;
            allocator.Free(batch->Pointers);
            allocator.Free(batch);
            ops += 2;
            batch = next;
        }
        return ops;
    }

    private static unsafe void Push(Worker target, Batch* batch)
    {
        nint head;
        do
        {
            head = Volatile.Read(ref target.Foreign);
            batch->Next = (Batch*)head;
        }
        while (Interlocked.CompareExchange(ref target.Foreign, (nint)batch, head) != head);
    }

    // benchmark_malloc of the original: memalign + fill 0xCD when aligned, calloc otherwise.
    private static unsafe void* Malloc<TAlloc>(TAlloc allocator, nuint alignment, nuint size) where TAlloc : struct, IAllocator
    {
        if (alignment != 0)
        {
            void* p = allocator.AlignedAlloc(alignment, size);
            if (p != null)
            {
                new Span<byte>(p, (int)size).Fill(0xCD);
            }
            return p;
        }
        return allocator.Calloc(1, size);
    }

    private static unsafe void* AllocTouched<TAlloc>(TAlloc allocator, nuint size, nuint alignment) where TAlloc : struct, IAllocator
    {
        byte* p = (byte*)Check(Malloc(allocator, alignment, size), size);
        *(int*)p = (int)size;
        nuint pages = (size - 1) / 4096;
        for (nuint page = 1; page < pages; page++)
        {
            p[page * 4096] = 1;
        }
        p[size - 1] = 1;
        return p;
    }

    /// <summary>A batch of blocks sent to another thread to free (the original's thread_pointers).</summary>
    private unsafe struct Batch
    {
        public void** Pointers;
        public long Count;
        public Batch* Next;
        public long Padding; // the original's fourth field (a counter pointer), kept for the size
    }

    /// <summary>Per-thread state; <see cref="Foreign"/> is the lock-free list of batches sent to it.</summary>
    private sealed class Worker
    {
        public int Index;
        public nint Foreign;
        public long Ops, Ticks, Check;
    }

    /// <summary>The start flag and the sync counter of the original, plus a release generation.</summary>
    private sealed class Shared
    {
        public volatile int Start;
        public int Sync;
        public int Generation;
    }
}
