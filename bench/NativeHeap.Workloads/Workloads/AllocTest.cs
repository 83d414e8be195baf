// AllocTest: OLogN's allocator tester (mimalloc-bench `alloc-test`). Each thread owns 2^18 / T slots;
// it fills about half of them, then for its iteration count picks a slot with a Pareto 80/20-style
// distribution over six groups (so a few slots are hit most often): a full slot is read entirely
// and freed, an empty one gets a new block of a size from 9 B to 1 KiB skewed towards small sizes,
// filled entirely. At the end every block is read and freed. Figure: elapsed time of all threads.
using NativeHeap.Workloads.Allocators;
using NativeHeap.Workloads.Random;

namespace NativeHeap.Workloads.Workloads;

/// <summary>alloc-test1 and alloc-testN: <c>alloc-test T</c> (100,000,000 operations per thread, sizes up to 2^10).</summary>
public sealed class AllocTest : Workload
{
    private const int MaxItemsAll = 1 << 18, MaxItemSizeExp = 10;
    private const ulong Seed = 41;
    private readonly int _threads;
    private readonly long _iterations;

    /// <summary>alloc-test with N threads when <paramref name="multiThreaded"/>, else 1, at <paramref name="size"/>.</summary>
    public AllocTest(BenchSize size, bool multiThreaded) : base(multiThreaded ? "alloc-testN" : "alloc-test1", size)
    {
        _threads = multiThreaded ? Math.Min(CoreCount, 16) : 1;
        _iterations = BySize(100_000L, 500_000L, 100_000_000L);
    }

    /// <inheritdoc/>
    public override MetricKind Kind => MetricKind.Time;

    /// <inheritdoc/>
    public override string Unit => "s";

    /// <inheritdoc/>
    public override string Parameters => $"alloc-test {_threads} ({_iterations} operations per thread)";

    /// <inheritdoc/>
    public override WorkloadResult Run<TAlloc>(TAlloc allocator)
    {
        long[] checks = new long[_threads];
        var threads = new Thread[_threads];
        int maxItems = MaxItemsAll / _threads;
        long start = Stopwatch.GetTimestamp();
        for (int t = 0; t < _threads; t++)
        {
            int id = t;
            threads[t] = new Thread(() => checks[id] = RandomPositionRandomSize(allocator, maxItems));
            threads[t].Start();
        }
        foreach (Thread thread in threads)
        {
            thread.Join();
        }
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        long check = 0;
        foreach (long c in checks)
        {
            check = unchecked(check + c);
        }
        return new WorkloadResult(seconds, _iterations * _threads, check);
    }

    private unsafe long RandomPositionRandomSize<TAlloc>(TAlloc allocator, int maxItems) where TAlloc : struct, IAllocator
    {
        var pareto = new ParetoPicker((uint)maxItems);
        nuint slotBytes = (nuint)(maxItems * sizeof(Slot));
        Slot* slots = (Slot*)Check(allocator.Malloc(slotBytes), slotBytes);
        new Span<byte>(slots, (int)slotBytes).Clear();
        var rng = new ShiftRandom(Seed);
        long sum = 0;
        // Setup: each bit of a random word decides whether a slot starts full.
        for (int i = 0; i < maxItems / 32; i++)
        {
            uint bits = rng.Next32();
            for (int j = 0; j < 32; j++)
            {
                if (((bits >> j) & 1) != 0)
                {
                    Fill(allocator, ref slots[i * 32 + j], SizeFor(rng.Next64()));
                }
            }
        }
        for (int k = 0; k < 32; k++)
        {
            long count = _iterations >> 5;
            for (long j = 0; j < count; j++)
            {
                uint r1 = rng.Next32();
                uint r2 = rng.Next32();
                ref Slot slot = ref slots[pareto.Pick(r1, r2)];
                if (slot.Pointer != null)
                {
                    sum = unchecked(sum + ReadAll(slot.Pointer, slot.Size));
                    allocator.Free(slot.Pointer);
                    slot.Pointer = null;
                }
                else
                {
                    Fill(allocator, ref slot, SizeFor(rng.Next64()));
                }
            }
        }
        for (int i = 0; i < maxItems; i++)
        {
            if (slots[i].Pointer != null)
            {
                sum = unchecked(sum + ReadAll(slots[i].Pointer, slots[i].Size));
                allocator.Free(slots[i].Pointer);
            }
        }
        allocator.Free(slots);
        return sum;
    }

    private static unsafe void Fill<TAlloc>(TAlloc allocator, ref Slot slot, uint size) where TAlloc : struct, IAllocator
    {
        byte* p = (byte*)Check(allocator.Malloc(size), size);
        new Span<byte>(p, (int)size).Fill((byte)size);
        slot.Pointer = p;
        slot.Size = size;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static unsafe long ReadAll(byte* p, uint size)
    {
        long sum = 0;
        uint words = size / sizeof(ulong);
        for (uint i = 0; i < words; i++)
        {
            sum = unchecked(sum + (long)((ulong*)p)[i]);
        }
        for (uint i = words * sizeof(ulong); i < size; i++)
        {
            sum += p[i];
        }
        return sum;
    }

    // Sizes 2^k+1 .. 2^(k+1) for k = 2 .. 9 (capped by MaxItemSizeExp), the class picked by the
    // trailing zeros of the low bits, so smaller classes are exponentially more likely.
    private static uint SizeFor(ulong random)
    {
        const int classBits = MaxItemSizeExp - 3;
        ulong classBase = (random & ((1UL << classBits) - 1)) + 1;
        random >>= classBits;
        int idx = System.Numerics.BitOperations.TrailingZeroCount(classBase) + 2;
        ulong mask = (1UL << idx) - 1;
        return (uint)((random & mask) + 1 + (1UL << idx));
    }

    private unsafe struct Slot
    {
        public byte* Pointer;
        public uint Size;
        public uint Reincarnation;
    }

    /// <summary>Picks a slot: six groups of growing size chosen with binomial(6, 0.2) probabilities.</summary>
    private unsafe struct ParetoPicker
    {
        private fixed uint _ranges[6];
        private fixed uint _offsets[8];

        public ParetoPicker(uint items)
        {
            // P(k) = C(6,k) 0.8^(6-k) 0.2^k, k = 0..6: group k is hit with P(k).
            Span<double> p = stackalloc double[7];
            for (int k = 0; k <= 6; k++)
            {
                p[k] = Binomial(6, k) * Math.Pow(0.8, 6 - k) * Math.Pow(0.2, k);
            }
            _ranges[0] = (uint)(uint.MaxValue * p[0]);
            _ranges[5] = (uint)(uint.MaxValue * (1.0 - p[6]));
            for (int i = 1; i < 5; i++)
            {
                _ranges[i] = _ranges[i - 1] + (uint)(uint.MaxValue * p[i]);
            }
            // The most likely groups cover the fewest slots.
            _offsets[0] = 0;
            _offsets[7] = items;
            for (int i = 0; i < 6; i++)
            {
                _offsets[i + 1] = _offsets[i] + (uint)(items * p[6 - i]);
            }
        }

        public readonly int Pick(uint r1, uint r2)
        {
            int idx = 6;
            for (int i = 0; i < 6; i++)
            {
                if (r1 < _ranges[i])
                {
                    idx = i;
                    break;
                }
            }
            uint rangeSize = _offsets[idx + 1] - _offsets[idx];
            return (int)(_offsets[idx] + r2 % rangeSize);
        }

        private static double Binomial(int n, int k)
        {
            double result = 1;
            for (int i = 1; i <= k; i++)
            {
                result = result * (n - k + i) / i;
            }
            return result;
        }
    }
}
