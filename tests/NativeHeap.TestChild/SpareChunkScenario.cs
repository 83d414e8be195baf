// Spare-chunk migration between automatic arenas, in a process of its own: the spare pool is
// process-wide, so in the test host any other test's arenas could take or donate chunks between the
// measurements (a load-dependent failure). Here nothing else allocates.
using NativeHeap.General;

namespace NativeHeap.TestChild;

internal static unsafe class SpareChunkScenario
{
    private static (long Arena5, long Arena6, long Spare) Mapped()
    {
        HeapStats s = Heap.GetStats();
        long Of(int i) => s.Arenas.FirstOrDefault(a => a.Index == i)?.Mapped ?? 0;
        return (Of(5), Of(6), (long)s.SpareChunks * (4L << 20));
    }

    private static string? OnThread(Func<string?> body)
    {
        string? result = null;
        var t = new Thread(() => result = body());
        t.Start();
        t.Join();
        return result;
    }

    /// <summary>Arena 5 frees 64 MiB of large blocks; the chunks reach the spare pool and arena 6 grows from them instead of mapping.</summary>
    internal static string? Run()
    {
        // Decay releases pooled chunks once they are older than dirty_decay_ms: on a loaded machine the
        // steps below can take that long, so the heap's clock is frozen (the pool's behaviour, not the
        // machine's speed, is what is measured).
        long frozen = Environment.TickCount64;
        HeapClock.Set(() => frozen);
        const int Blocks = 256;          // 64 MiB: far more than the free pages arenas 5 and 6 may already own
        const nuint Size = 256 * 1024;   // large, above the thread-cache limit
        Heap.Purge();
        var m0 = Mapped();
        long heldByFirst = 0;
        string? e = OnThread(() =>
        {
            Heap.CurrentThreadArena = 5;
            var p = new nint[Blocks];
            for (int i = 0; i < Blocks; i++) p[i] = (nint)Heap.Malloc(Size);
            heldByFirst = Mapped().Arena5 - m0.Arena5;
            for (int i = 0; i < Blocks; i++) Heap.Free((void*)p[i]);
            return null;
        });
        if (e != null) return e;
        if (heldByFirst < 32L << 20) return $"arena 5 grew by only {heldByFirst >> 20} MiB for 64 MiB of blocks";
        var m1 = Mapped();
        if (m1.Spare - m0.Spare < heldByFirst - (8L << 20))
            return $"only {(m1.Spare - m0.Spare) >> 20} of the {heldByFirst >> 20} MiB arena 5 mapped reached the spare pool";
        e = OnThread(() =>
        {
            Heap.CurrentThreadArena = 6;
            var p = new nint[Blocks];
            for (int i = 0; i < Blocks; i++) p[i] = (nint)Heap.Malloc(Size);
            var m2 = Mapped();
            long grown = (m2.Arena5 + m2.Arena6 + m2.Spare) - (m1.Arena5 + m1.Arena6 + m1.Spare);
            string? r = null;
            // Arena 6 grew from the chunks arena 5 gave up: it maps new chunks only once the pool is empty.
            if (!(grown <= 8L << 20 || m2.Spare <= 4L << 20))
                r = $"arenas 5, 6 and the pool mapped {grown >> 20} MiB more while {m2.Spare >> 20} MiB of spare chunks stayed unused";
            else if (m1.Spare - m2.Spare < 16L << 20)
                r = $"arena 6 took only {(m1.Spare - m2.Spare) >> 20} MiB from the pool";
            for (int i = 0; i < Blocks; i++) Heap.Free((void*)p[i]);
            return r;
        });
        if (e != null) return e;
        if (!Heap.TryValidate(out string? err)) return "Validate: " + err;
        Heap.Purge();
        int left = Heap.GetStats().SpareChunks;
        return left == 0 ? null : $"{left} spare chunks left after Purge";
    }
}
