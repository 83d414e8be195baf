// LockFreeThroughput: a timed multi-threaded harness comparing LockFreeHeap with the real AO_malloc
// (issue 7). Run: dotnet run -c Release --project bench/NativeHeap.Benchmarks -- --lockfree
// [--seconds 1] [--reps 5]. Each repetition runs every (workload, threads, allocator) case for the
// given time, allocators interleaved so that both see the same machine noise; the table shows the
// median of the repetitions in millions of malloc+free pairs per second, all threads together, and
// the median process CPU time per pair (ns; includes the loop's own work, the same for both, and is
// steadier than wall time on a loaded machine).
//
// Workloads (fixed seeds):
//   pair64  each thread: p = malloc(64); write it; free(p) — the single-size fast path.
//   ring    each thread keeps 256 live blocks of mixed sizes 16..1024 B (seeded xorshift) and
//           replaces a random one per step: free, malloc, write the first and last word.
using System.Diagnostics;
using System.Runtime.CompilerServices;
using NativeHeap.Benchmarks.Peers;
using NativeHeap.LockFree;

namespace NativeHeap.Benchmarks.LockFree;

internal static unsafe class LockFreeThroughput
{
    private interface IAllocator
    {
        void* Alloc(nuint size);
        void Free(void* p);
    }

    private readonly struct Ours(LockFreeHeap heap) : IAllocator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void* Alloc(nuint size) => heap.Allocate(size);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Free(void* p) => heap.Free(p);
    }

    private readonly struct Ao(AoMallocPeer peer) : IAllocator
    {
        private readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<nuint, void*> _malloc = peer.Malloc;
        private readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<void*, void> _free = peer.Free;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void* Alloc(nuint size) => _malloc(size);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Free(void* p) => _free(p);
    }

    private sealed class Control
    {
        public volatile bool Stop;
        public long Failures;
    }

    public static int Run(string[] args)
    {
        double seconds = 1.0;
        int reps = 5;
        for (int i = 0; i < args.Length - 1; i++)
        {
            if (args[i] == "--seconds") seconds = double.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture);
            if (args[i] == "--reps") reps = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture);
        }

        if (!AoMallocPeer.TryLoad(out AoMallocPeer? ao, out string reason))
        {
            Console.WriteLine($"AO_malloc peer unavailable, skipping the comparison: {reason}");
            Console.WriteLine("(apt-get install libatomic-ops-dev gcc)");
            return 0;
        }
        ao!.EnableMmap();
        using var heap = new LockFreeHeap();
        heap.EnableMmap();

        Console.WriteLine($"# LockFreeHeap vs AO_malloc, {Environment.ProcessorCount} CPUs, {seconds} s per case, median of {reps}");
        Console.WriteLine($"# peer: {ao.LibraryPath} built with: {AoMallocPeer.BuildCommand(ao.LibraryPath)}");
        Console.WriteLine($"# LockFreeHeap: arena {heap.HeapSize} B, {heap.ShardCount} shards");
        Console.WriteLine($"# load average at start: {LoadAverage()}");

        string[] workloads = ["pair64", "ring"];
        int[] threadCounts = [1, 2, 4, 8];
        var results = new Dictionary<(string, int, string), List<double>>();
        var cpu = new Dictionary<(string, int, string), List<double>>();
        // Warm-up: JIT both paths and fault in the memory both heaps will use.
        foreach (string w in workloads)
        {
            Measure(new Ours(heap), w, 2, 0.2, out _);
            Measure(new Ao(ao), w, 2, 0.2, out _);
        }
        for (int r = 0; r < reps; r++)
        {
            foreach (string w in workloads)
            {
                foreach (int t in threadCounts)
                {
                    Add(results, (w, t, "LockFreeHeap"), Measure(new Ours(heap), w, t, seconds, out double oursNs));
                    Add(cpu, (w, t, "LockFreeHeap"), oursNs);
                    Add(results, (w, t, "AO_malloc"), Measure(new Ao(ao), w, t, seconds, out double aoNs));
                    Add(cpu, (w, t, "AO_malloc"), aoNs);
                }
            }
        }

        Console.WriteLine();
        Console.WriteLine("| workload | threads | LockFreeHeap (M pairs/s) | AO_malloc (M pairs/s) | ratio | LockFreeHeap CPU ns/pair | AO_malloc CPU ns/pair | CPU ratio |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (string w in workloads)
        {
            foreach (int t in threadCounts)
            {
                double ours = Median(results[(w, t, "LockFreeHeap")]);
                double theirs = Median(results[(w, t, "AO_malloc")]);
                double oursNs = Median(cpu[(w, t, "LockFreeHeap")]), theirsNs = Median(cpu[(w, t, "AO_malloc")]);
                Console.WriteLine($"| {w} | {t} | {ours:F1} | {theirs:F1} | {ours / theirs:F2}x | {oursNs:F1} | {theirsNs:F1} | {theirsNs / oursNs:F2}x |");
            }
        }
        Console.WriteLine($"# load average at end: {LoadAverage()} (other processes on the machine distort multi-thread figures)");
        heap.Validate();
        return 0;
    }

    private static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Trim();
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static void Add(Dictionary<(string, int, string), List<double>> d, (string, int, string) key, double v)
    {
        if (!d.TryGetValue(key, out List<double>? list)) d[key] = list = [];
        list.Add(v);
    }

    private static double Median(List<double> v)
    {
        var s = v.OrderBy(x => x).ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    /// <summary>Runs <paramref name="threads"/> threads for <paramref name="seconds"/>; returns millions of pairs per second.</summary>
    private static double Measure<T>(T alloc, string workload, int threads, double seconds, out double cpuNsPerPair) where T : struct, IAllocator
    {
        var control = new Control();
        var counts = new long[threads * 16];
        using var ready = new CountdownEvent(threads);
        using var go = new ManualResetEventSlim(false);
        var list = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            int id = t;
            list[t] = new Thread(() =>
            {
                ready.Signal();
                go.Wait();
                counts[id * 16] = workload == "pair64" ? PairLoop(alloc, control) : RingLoop(alloc, control, 0x9E3779B97F4A7C15UL * (ulong)(id + 1));
            });
            list[t].IsBackground = true;
            list[t].Start();
        }
        ready.Wait();
        TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        go.Set();
        Thread.Sleep(TimeSpan.FromSeconds(seconds));
        control.Stop = true;
        foreach (Thread th in list) th.Join();
        double elapsed = sw.Elapsed.TotalSeconds;
        double cpuNs = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalNanoseconds;
        if (control.Failures != 0) throw new InvalidOperationException($"{typeof(T).Name}: {control.Failures} allocations failed");
        long total = 0;
        for (int t = 0; t < threads; t++) total += counts[t * 16];
        cpuNsPerPair = cpuNs / Math.Max(1, total);
        return total / elapsed / 1e6;
    }

    private static long PairLoop<T>(T alloc, Control control) where T : struct, IAllocator
    {
        long n = 0;
        while (!control.Stop)
        {
            for (int i = 0; i < 4096; i++)
            {
                void* p = alloc.Alloc(64);
                if (p == null) { Interlocked.Increment(ref control.Failures); return n; }
                *(long*)p = i;
                alloc.Free(p);
            }
            n += 4096;
        }
        return n;
    }

    private static long RingLoop<T>(T alloc, Control control, ulong seed) where T : struct, IAllocator
    {
        const int Slots = 256;
        void** slots = stackalloc void*[Slots];
        ulong x = seed;
        for (int i = 0; i < Slots; i++)
        {
            slots[i] = alloc.Alloc(16);
            if (slots[i] == null) { Interlocked.Increment(ref control.Failures); return 0; }
        }
        long n = 0;
        while (!control.Stop)
        {
            for (int i = 0; i < 4096; i++)
            {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                int j = (int)(x & (Slots - 1));
                nuint size = (nuint)(16 + (int)((x >> 8) % 1009));
                alloc.Free(slots[j]);
                byte* p = (byte*)alloc.Alloc(size);
                if (p == null) { Interlocked.Increment(ref control.Failures); slots[j] = null; continue; }
                *(ulong*)p = x;
                *(ulong*)(p + size - 8) = x;
                slots[j] = p;
            }
            n += 4096;
        }
        for (int i = 0; i < Slots; i++) alloc.Free(slots[i]);
        return n;
    }
}
