// LockFreeStress: a deterministic-seed workload that allocates, fills, checks and frees blocks of a
// LockFreeHeap, handing some blocks to other threads through a shared exchange so that frees cross
// threads and shards. Used by the stress tests and by the native-thread and signal-handler tests.
//
// Every block carries its own proof of integrity: bytes 0..7 a stamp unique to the allocation,
// bytes 8..15 the requested size, then a pattern derived from the stamp over the first 256 bytes and
// the last 16. A block handed out twice, overlapping another, or scribbled on by the heap fails the
// check of whichever owner looks next.
using NativeHeap.LockFree;

namespace NativeHeap.Tests.LockFree;

internal sealed unsafe class LockFreeStress
{
    /// <summary>Slots each worker keeps.</summary>
    internal const int Slots = 256;

    /// <summary>Shared slots used to pass blocks between workers.</summary>
    internal const int ExchangeSlots = 256;

    private readonly LockFreeHeap _heap;
    private readonly nint[] _exchange = new nint[ExchangeSlots];
    private readonly bool _large;
    private long _failures;

    internal LockFreeStress(LockFreeHeap heap, bool largeObjects)
    {
        _heap = heap;
        _large = largeObjects;
    }

    /// <summary>Content-check failures seen by any worker (0 when the heap is correct).</summary>
    internal long Failures => Volatile.Read(ref _failures);

    /// <summary>The first content failure, for the assertion message.</summary>
    internal string? FirstFailure { get; private set; }

    /// <summary>
    /// The state one worker runs with: its slots live in native memory so that the worker may run on
    /// a native thread and allocate no managed memory.
    /// </summary>
    internal struct Worker
    {
        public ulong Seed;
        public long Ops;
        public long Nulls;
        public int Id;
        public fixed long Slots[LockFreeStress.Slots];
    }

    /// <summary>
    /// Runs <paramref name="operations"/> allocations and frees (each counts one) on <paramref name="w"/>.
    /// </summary>
    internal void Run(Worker* w, long operations)
    {
        ulong x = w->Seed;
        ulong stampBase = (ulong)w->Id << 48;
        long ops = 0;
        while (ops < operations)
        {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            int slot = (int)(x % Slots);
            byte* p = (byte*)w->Slots[slot];
            if (p == null)
            {
                nuint size = PickSize(x >> 9);
                p = (byte*)_heap.Allocate(size);
                ops++;
                if (p == null)
                {
                    w->Nulls++;
                    continue;
                }
                Fill(p, size, stampBase | (ulong)ops);
                w->Slots[slot] = (nint)p;
            }
            else
            {
                w->Slots[slot] = 0;
                Check(p);
                if (((x >> 40) & 3) == 0)
                {
                    // Hand the block to whichever worker comes next to this exchange slot; free what was there.
                    p = (byte*)Interlocked.Exchange(ref _exchange[(int)((x >> 20) % ExchangeSlots)], (nint)p);
                    if (p == null) continue;
                    Check(p);
                }
                _heap.Free(p);
                ops++;
            }
        }
        w->Ops += ops;
        w->Seed = x;
    }

    /// <summary>Live blocks per size class (and large objects) held by the workers and the exchange.</summary>
    internal (long[] PerClass, long Large) CountLive(Worker*[] workers)
    {
        var perClass = new long[LockFreeHeap.SizeClassCount];
        long large = 0;
        void Count(nint p)
        {
            if (p == 0) return;
            nuint size = (nuint)((long*)p)[1];
            int c = LockFreeHeap.SizeClassOf(size);
            if (c >= 0) perClass[c]++; // from the arena or a mapped chunk
            else large++;
        }
        foreach (Worker* w in workers)
        {
            for (int i = 0; i < Slots; i++) Count((nint)w->Slots[i]);
        }
        foreach (nint p in _exchange) Count(p);
        return (perClass, large);
    }

    /// <summary>Checks and frees every block the workers and the exchange hold.</summary>
    internal void FreeAll(Worker*[] workers)
    {
        foreach (Worker* w in workers)
        {
            for (int i = 0; i < Slots; i++)
            {
                if (w->Slots[i] == 0) continue;
                Check((byte*)w->Slots[i]);
                _heap.Free((void*)w->Slots[i]);
                w->Slots[i] = 0;
            }
        }
        for (int i = 0; i < ExchangeSlots; i++)
        {
            if (_exchange[i] == 0) continue;
            Check((byte*)_exchange[i]);
            _heap.Free((void*)_exchange[i]);
            _exchange[i] = 0;
        }
    }

    private nuint PickSize(ulong r)
    {
        ulong pick = r % 1000;
        r >>= 10;
        if (_large && pick == 0) return (nuint)(LockFreeHeap.MaxSmallSize + 1 + (int)(r % 200_000));
        if (pick < 900) return (nuint)(16 + (int)(r % 497));
        if (pick < 990) return (nuint)(513 + (int)(r % 7680));
        return (nuint)(8193 + (int)(r % (ulong)(LockFreeHeap.MaxSmallSize - 8192)));
    }

    private static void Fill(byte* p, nuint size, ulong stamp)
    {
        ((ulong*)p)[0] = stamp;
        ((ulong*)p)[1] = size;
        nuint head = Math.Min(size, 256);
        for (nuint i = 16; i < head; i++) p[i] = (byte)(stamp + i);
        for (nuint i = Math.Max(head, size - 16); i < size; i++) p[i] = (byte)(stamp ^ i);
    }

    private void Check(byte* p)
    {
        ulong stamp = ((ulong*)p)[0];
        nuint size = (nuint)((ulong*)p)[1];
        bool ok = size >= 16 && size <= 1 << 20;
        nuint head = Math.Min(size, 256);
        for (nuint i = 16; ok && i < head; i++) ok = p[i] == (byte)(stamp + i);
        for (nuint i = Math.Max(head, size - 16); ok && i < size; i++) ok = p[i] == (byte)(stamp ^ i);
        if (!ok && Interlocked.Increment(ref _failures) == 1)
        {
            FirstFailure = $"block {(nint)p:x} stamp {stamp:x} size {size} has wrong contents";
        }
    }
}
