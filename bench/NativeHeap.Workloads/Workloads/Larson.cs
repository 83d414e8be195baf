// Larson: Paul Larson's server simulation (mimalloc-bench `larson` and `larson-sized`). N threads
// each own a slice of a shared array of blocks that the main thread allocated (warm-up), and keep
// replacing a random block with a new one of random size in [min, max) (lran2), writing two bytes
// into each new block. A thread that finishes its rounds starts a successor on the same slice and
// exits, so threads keep retiring and being replaced; the run stops after a fixed time and reports
// allocations per second. larson-sized frees with the size (sized free).
using NativeHeap.Workloads.Allocators;
using NativeHeap.Workloads.Random;

namespace NativeHeap.Workloads.Workloads;

/// <summary>larsonN / larsonN-sized: <c>larson 5 8 1000 5000 100 4141 N</c>.</summary>
public sealed class Larson : Workload
{
    private readonly bool _sized;
    private readonly double _seconds;
    private readonly int _minSize = 8, _maxSize = 1000, _chunksPerThread, _rounds = 100, _seed = 4141, _threads;

    /// <summary>larsonN, or larsonN-sized when <paramref name="sized"/>.</summary>
    public Larson(BenchSize size, bool sized) : base(sized ? "larsonN-sized" : "larsonN", size)
    {
        _sized = sized;
        _seconds = BySize(0.05, 0.2, 5.0);
        _chunksPerThread = BySize(500, 5000, 5000);
        _threads = CoreCount;
    }

    /// <inheritdoc/>
    public override MetricKind Kind => MetricKind.Throughput;

    /// <inheritdoc/>
    public override string Unit => "allocs/s";

    /// <inheritdoc/>
    public override string Parameters =>
        $"larson{(_sized ? "-sized" : "")} {_seconds} {_minSize} {_maxSize} {_chunksPerThread} {_rounds} {_seed} {_threads}";

    /// <inheritdoc/>
    public override unsafe WorkloadResult Run<TAlloc>(TAlloc allocator)
    {
        int chunks = _threads * _chunksPerThread;
        byte** blocks = (byte**)NativeMemory.AllocZeroed((nuint)chunks, (nuint)sizeof(nint));
        nuint* sizes = (nuint*)NativeMemory.AllocZeroed((nuint)chunks, (nuint)sizeof(nuint));
        var shared = new SharedState();
        var rng = new Lran2(_seed);
        try
        {
            WarmUp(allocator, blocks, sizes, chunks, ref rng);
            var slots = new Slot[_threads];
            for (int i = 0; i < _threads; i++)
            {
                long seed = rng.Next();
                slots[i] = new Slot
                {
                    Blocks = blocks + i * _chunksPerThread,
                    Sizes = sizes + i * _chunksPerThread,
                    Count = _chunksPerThread,
                    BlocksPerThread = _rounds * _chunksPerThread,
                    Rng = new Lran2(seed),
                };
            }
            long start = Stopwatch.GetTimestamp();
            foreach (Slot slot in slots)
            {
                StartThread(allocator, slot, shared);
            }
            Thread.Sleep(TimeSpan.FromSeconds(_seconds));
            shared.Stop = true;
            foreach (Slot slot in slots)
            {
                while (slot.Finished == 0)
                {
                    Thread.Yield();
                }
            }
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            shared.JoinAll();
            long allocs = 0, check = 0;
            foreach (Slot slot in slots)
            {
                allocs += slot.Allocs;
                check += slot.Threads;
            }
            return new WorkloadResult(seconds, allocs, check);
        }
        finally
        {
            for (int i = 0; i < chunks; i++)
            {
                Release(allocator, blocks[i], sizes[i]);
            }
            NativeMemory.Free(blocks);
            NativeMemory.Free(sizes);
        }
    }

    private unsafe void WarmUp<TAlloc>(TAlloc allocator, byte** blocks, nuint* sizes, int chunks, ref Lran2 rng)
        where TAlloc : struct, IAllocator
    {
        for (int i = 0; i < chunks; i++)
        {
            nuint size = NextSize(ref rng, _minSize, _maxSize);
            blocks[i] = (byte*)Check(allocator.Malloc(size), size);
            sizes[i] = size;
        }
        // A random permutation, so each thread's slice holds blocks allocated all over the warm-up.
        for (int i = chunks; i > 0; i--)
        {
            int victim = (int)(rng.Next() % i);
            byte* block = blocks[victim];
            blocks[victim] = blocks[i - 1];
            blocks[i - 1] = block;
            (sizes[victim], sizes[i - 1]) = (sizes[i - 1], sizes[victim]);
        }
        for (int i = 0; i < 4 * chunks; i++)
        {
            int victim = (int)(rng.Next() % chunks);
            Release(allocator, blocks[victim], sizes[victim]);
            nuint size = NextSize(ref rng, _minSize, _maxSize);
            blocks[victim] = (byte*)Check(allocator.Malloc(size), size);
            sizes[victim] = size;
        }
    }

    private void StartThread<TAlloc>(TAlloc allocator, Slot slot, SharedState shared) where TAlloc : struct, IAllocator
    {
        var thread = new Thread(() => Exercise(allocator, slot, shared)) { IsBackground = true };
        shared.Add(thread);
        thread.Start();
    }

    private unsafe void Exercise<TAlloc>(TAlloc allocator, Slot slot, SharedState shared) where TAlloc : struct, IAllocator
    {
        if (shared.Stop)
        {
            slot.Finished = 1;
            return;
        }
        slot.Finished = 0;
        slot.Threads++;
        byte** blocks = slot.Blocks;
        nuint* sizes = slot.Sizes;
        int count = slot.Count;
        long allocs = 0;
        for (int i = 0; i < slot.BlocksPerThread; i++)
        {
            int victim = (int)(slot.Rng.Next() % count);
            Release(allocator, blocks[victim], sizes[victim]);
            nuint size = NextSize(ref slot.Rng, _minSize, _maxSize);
            byte* block = (byte*)Check(allocator.Malloc(size), size);
            blocks[victim] = block;
            sizes[victim] = size;
            allocs++;
            // "Write something": two bytes and a read the compiler must keep.
            block[0] = (byte)'a';
            Volatile.Read(ref block[0]);
            block[1] = (byte)'b';
            if (shared.Stop)
            {
                break;
            }
        }
        slot.Allocs += allocs;
        slot.Finished = 1;
        if (!shared.Stop)
        {
            StartThread(allocator, slot, shared);
        }
    }

    private unsafe void Release<TAlloc>(TAlloc allocator, byte* block, nuint size) where TAlloc : struct, IAllocator
    {
        if (_sized)
        {
            if (block != null)
            {
                allocator.SizedFree(block, size);
            }
        }
        else
        {
            allocator.Free(block);
        }
    }

    private static nuint NextSize(ref Lran2 rng, int min, int max) =>
        min == max ? (nuint)min : (nuint)(min + rng.Next() % (max - min));

    /// <summary>One thread's slice of the block array; successors continue with the same generator.</summary>
    private sealed unsafe class Slot
    {
        public byte** Blocks;
        public nuint* Sizes;
        public int Count;
        public int BlocksPerThread;
        public Lran2 Rng;
        public long Allocs;
        public long Threads;
        public volatile int Finished;
    }

    /// <summary>The stop flag and every thread started, so the run can join them all before freeing.</summary>
    private sealed class SharedState
    {
        private readonly List<Thread> _threads = [];
        public volatile bool Stop;

        public void Add(Thread thread)
        {
            lock (_threads)
            {
                _threads.Add(thread);
            }
        }

        public void JoinAll()
        {
            for (int i = 0; ; i++)
            {
                Thread next;
                lock (_threads)
                {
                    if (i >= _threads.Count)
                    {
                        return;
                    }
                    next = _threads[i];
                }
                next.Join();
            }
        }
    }
}
