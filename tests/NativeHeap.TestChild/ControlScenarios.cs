// Control-namespace scenarios that need process-wide options (thread caches off) or a heap no other
// test touches, so that statistics can be compared exactly with what the scenario holds.
namespace NativeHeap.TestChild;

internal static unsafe class ControlScenarios
{
    internal static bool TryRun(string name, string[] args, out string? result)
    {
        switch (name)
        {
            case "stats-exact": result = StatsExact(); return true;
            case "stats-cached-bound": result = StatsCachedBound(); return true;
            case "ctl-fresh": result = Fresh(); return true;
            case "ctl-arenas-decay": result = ArenasDecay(); return true;
            case "ctl-percpu": result = PerCpu(); return true;
            case "ctl-oversize": result = Oversize(); return true;
            default: result = null; return false;
        }
    }

    // Before the first allocation: arena 0 exists (stats.arenas.0.*, arena.0.initialized) and
    // arenas.narenas agrees with opt.narenas (run with narenas:8).
    private static string? Fresh()
    {
        if (HeapControl.Read("stats.arenas.0.pactive", out ulong pactive) is var st && st != CtlStatus.Ok) return "stats.arenas.0.pactive: " + st;
        if (pactive != 0) return "pactive " + pactive;
        if (HeapControl.Read("opt.narenas", out uint opt) != CtlStatus.Ok || opt != 8) return "opt.narenas " + opt;
        if (HeapControl.Read("arenas.narenas", out uint n) != CtlStatus.Ok || n != 8) return "arenas.narenas " + n;
        return null;
    }

    // arenas.dirty_decay_ms / muzzy_decay_ms: the decay times of arenas created afterwards.
    private static string? ArenasDecay()
    {
        if (HeapControl.Write("arenas.dirty_decay_ms", 1234L) != CtlStatus.Ok) return "write dirty";
        if (HeapControl.Write("arenas.muzzy_decay_ms", 55L) != CtlStatus.Ok) return "write muzzy";
        if (HeapControl.Write("arenas.dirty_decay_ms", -2L) is var st && st != CtlStatus.Fault) return "decay -2: " + st;
        if (HeapControl.Read("arenas.dirty_decay_ms", out long d) != CtlStatus.Ok || d != 1234) return "read dirty " + d;
        HeapControl.Read("arenas.create", out uint arena);
        if (Heap.GetArenaDecay((int)arena) != (1234L, 55L)) return "new arena has " + Heap.GetArenaDecay((int)arena);
        if (Heap.GetArenaDecay(0) == (1234L, 55L)) return "arena 0 changed";
        return null;
    }

    // percpu_arena:percpu — one automatic arena per CPU; a thread's arena is the one of the CPU it runs
    // on (checked when it first allocates and at every cache refill).
    private static string? PerCpu()
    {
        if (HeapControl.Read("opt.percpu_arena", out string? mode) != CtlStatus.Ok || mode != "percpu") return "opt.percpu_arena " + mode;
        HeapControl.Read("opt.narenas", out uint n);
        if (n != (uint)Environment.ProcessorCount) return $"narenas {n}, CPUs {Environment.ProcessorCount}";
        string? error = null;
        int judged = 0;
        var threads = new Thread[4];
        for (int t = 0; t < threads.Length; t++)
        {
            threads[t] = new Thread(() =>
            {
                for (int round = 0; round < 200; round++)
                {
                    // Flushing empties the cache, so the next allocation refills it: the point where
                    // the thread's arena follows its CPU. Judge only rounds without a migration.
                    int cpu = Thread.GetCurrentProcessorId();
                    Heap.FlushCurrentThreadCache();
                    void* p = Heap.Malloc(48);
                    HeapControl.Read("thread.arena", out uint arena);
                    int after = Thread.GetCurrentProcessorId();
                    Heap.Free(p);
                    if (arena >= n) error = $"thread arena {arena} is not automatic";
                    if (cpu != after) continue;
                    Interlocked.Increment(ref judged);
                    if (arena != (uint)(cpu % (int)n)) error = $"on CPU {cpu} the thread's arena is {arena}";
                }
            });
            threads[t].Start();
        }
        foreach (Thread t in threads) t.Join();
        if (error != null) return error;
        if (judged < 100) return $"only {judged} of 800 rounds ran without migrating";
        return null;
    }

    // oversize_threshold: blocks of at least the threshold come from one dedicated arena.
    private static string? Oversize()
    {
        HeapControl.Read("opt.oversize_threshold", out nuint threshold);
        if (threshold != 4 << 20) return "opt.oversize_threshold " + threshold;
        HeapControl.Read("arenas.narenas", out uint before);
        void* small = Heap.Malloc(3 << 20);          // below: the thread's arena
        void* big = Heap.Malloc(5 << 20);            // at or above: the oversize arena
        void* big2 = Heap.Malloc(6 << 20);
        uint a1 = 0, a2 = 0, a3 = 0;
        nuint len = 4;
        HeapControl.Ctl("arenas.lookup", &a1, &len, &small, (nuint)sizeof(void*));
        HeapControl.Ctl("arenas.lookup", &a2, &len, &big, (nuint)sizeof(void*));
        HeapControl.Ctl("arenas.lookup", &a3, &len, &big2, (nuint)sizeof(void*));
        HeapControl.Read("thread.arena", out uint mine);
        HeapControl.Read("arenas.narenas", out uint after);
        Heap.Free(small);
        Heap.Free(big);
        Heap.Free(big2);
        if (a1 != mine) return $"3 MiB block in arena {a1}, thread arena {mine}";
        if (a2 == mine || a2 != a3) return $"oversize blocks in arenas {a2} and {a3} (thread arena {mine})";
        if (after != before + 1 || a2 != before) return $"arenas.narenas {before} -> {after}, oversize arena {a2}";
        if (HeapControl.Execute($"arena.{a2}.reset") != CtlStatus.Invalid) return "the oversize arena could be reset";
        return null;
    }

    private static long Allocated()
    {
        if (HeapControl.Write("epoch", 1UL) != CtlStatus.Ok) throw new InvalidOperationException("epoch refresh failed");
        CtlStatus st = HeapControl.Read("stats.allocated", out ulong v);
        if (st != CtlStatus.Ok) throw new InvalidOperationException("stats.allocated: " + st);
        return (long)v;
    }

    /// <summary>Sizes from every range: small classes, large runs and huge blocks.</summary>
    private static IEnumerable<nuint> Sizes()
    {
        for (nuint s = 1; s <= 20_000; s = s * 5 / 4 + 1) yield return s;
        yield return 100_000;
        yield return 1_500_000;
        yield return 3 * 1024 * 1024 + 17;
    }

    // With tcache:false every block goes to and from its arena, so stats.allocated is exact.
    private static string? StatsExact()
    {
        if (HeapControl.Read("opt.tcache", out bool tcache) != CtlStatus.Ok || tcache) return "expected opt.tcache false (run with tcache:false)";
        long baseline = Allocated();
        var held = new List<nint>();
        long bytes = 0;
        foreach (nuint size in Sizes())
        {
            for (int k = 0; k < 3; k++)
            {
                void* p = Heap.Malloc(size);
                held.Add((nint)p);
                bytes += (long)Heap.UsableSize(p);
            }
        }
        long got = Allocated() - baseline;
        if (got != bytes) return $"stats.allocated grew by {got}, the scenario holds {bytes}";
        long freed = 0;
        for (int i = 0; i < held.Count; i += 2)
        {
            freed += (long)Heap.UsableSize((void*)held[i]);
            Heap.Free((void*)held[i]);
        }
        got = Allocated() - baseline;
        if (got != bytes - freed) return $"after freeing half, stats.allocated grew by {got}, the scenario holds {bytes - freed}";
        // The merged arena's parts add up to the total.
        ulong small, large, huge;
        HeapControl.Read("stats.arenas.4096.small.allocated", out small);
        HeapControl.Read("stats.arenas.4096.large.allocated", out large);
        HeapControl.Read("stats.arenas.4096.huge.allocated", out huge);
        if ((long)(small + large + huge) != Allocated()) return $"merged small+large+huge {small + large + huge} differs from stats.allocated";
        for (int i = 1; i < held.Count; i += 2) Heap.Free((void*)held[i]);
        got = Allocated() - baseline;
        return got == 0 ? null : $"after freeing everything stats.allocated is {got} above the start";
    }

    // With caches on, blocks parked in the thread's cache still count as allocated: the figure is at
    // least what the scenario holds and at most that plus what the caches can hold.
    private static string? StatsCachedBound()
    {
        HeapControl.Read("arenas.nhbins", out uint nhbins);
        long bound = 0;
        for (int j = 0; j < nhbins; j++)
        {
            HeapControl.Read(j < 36 ? $"arenas.bin.{j}.size" : $"arenas.lextent.{j - 36}.size", out ulong size);
            bound += 200 * (long)size;    // 200 = the largest per-class cache capacity
        }
        long baseline = Allocated();
        var rng = new Random(7);
        var held = new List<nint>();
        long bytes = 0;
        for (int i = 0; i < 200_000; i++)
        {
            if (held.Count > 0 && rng.Next(3) == 0)
            {
                int k = rng.Next(held.Count);
                bytes -= (long)Heap.UsableSize((void*)held[k]);
                Heap.Free((void*)held[k]);
                held[k] = held[^1];
                held.RemoveAt(held.Count - 1);
            }
            else
            {
                void* p = Heap.Malloc((nuint)rng.Next(1, 40_000));
                bytes += (long)Heap.UsableSize(p);
                held.Add((nint)p);
            }
        }
        long got = Allocated() - baseline;
        if (got < bytes || got > bytes + bound) return $"stats.allocated grew by {got}; held {bytes}, cache bound {bound}";
        HeapControl.Execute("thread.tcache.flush");
        got = Allocated() - baseline;
        if (got != bytes) return $"after thread.tcache.flush stats.allocated grew by {got}, the scenario holds {bytes}";
        foreach (nint p in held) Heap.Free((void*)p);
        return null;
    }
}
