// CoreV2Harness: core v2 against tcmalloc, mimalloc, jemalloc and the current Heap in one process,
// allocators interleaved round by round so they share the machine's noise (issue 13's workloads).
// Run: dotnet run -c Release --project bench/NativeHeap.Benchmarks -- --corev2 [--rounds 11] [--scale 1] [--only <workload substring>]
//
// Workloads (one op = one malloc+free pair, or one block for producer->consumer):
//   pair N     same thread: p = malloc(N); write one byte; free(p)
//   batch64    1000 x malloc(64), then the 1000 frees
//   batchmix   1000 x malloc(16..1024, fixed-seed sizes), then the 1000 frees
//   prodcons   one thread mallocs 64 B blocks and hands them through a 1024-slot ring to another that frees them
//   tls-*      pair 64 and batch64 through the four thread-local access options of core v2
// Each cell: median over rounds of CPU ns per op (thread CPU time for single-thread workloads,
// process CPU time for producer->consumer), with the interquartile range; wall time beside it.
// Native peers are called through delegate* unmanaged[Cdecl, SuppressGCTransition]; NativeHeap's
// two cores are direct (inlined) calls.
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NativeHeap.Workloads.Allocators;

namespace NativeHeap.Benchmarks.Sharded;

internal static unsafe partial class CoreV2Harness
{
    private enum Kind { Pair, Batch, BatchMixed, ProdCons }

    private sealed record Workload(string Name, Kind Kind, nuint Size, long Ops, string[] Allocators);

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Sec, Nsec;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, Timespec* ts);

    private const int ClockThreadCpuTime = 3;

    private static long ThreadCpuNs()
    {
        Timespec ts;
        ClockGetTime(ClockThreadCpuTime, &ts);
        return ts.Sec * 1_000_000_000 + ts.Nsec;
    }

    private static readonly string[] s_main = ["corev2", "nativeheap", "jemalloc", "mimalloc", "tcmalloc"];
    private static readonly string[] s_tls = ["corev2", "corev2-tsstruct", "corev2-tlocal", "corev2-handle"];
    private static nuint* s_mixSizes;
    private static void** s_slots;

    internal static int Run(string[] args)
    {
        int rounds = 11;
        double scale = 1;
        string? only = null;
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            if (args[i] == "--rounds") rounds = int.Parse(args[i + 1]);
            else if (args[i] == "--only") only = args[i + 1];
            else if (args[i] == "--scale") scale = double.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture);
        }
        var available = new List<string>();
        foreach (string a in s_main)
        {
            if (a.StartsWith("corev2", StringComparison.Ordinal) || AllocatorCatalog.TryGet(a, out _, out _)) available.Add(a);
            else Console.WriteLine($"// {a} not loaded");
        }
        string[] mains = available.ToArray();
        long P(double n) => Math.Max(1000, (long)(n * scale));
        var workloads = new List<Workload>();
        foreach (int size in new[] { 16, 64, 256, 1024, 4096, 32768, 65536, 131072, 262144, 524288 })
            workloads.Add(new Workload($"pair {size}", Kind.Pair, (nuint)size, P(2_000_000), mains));
        workloads.Add(new Workload("batch64", Kind.Batch, 64, P(2_000_000), mains));
        workloads.Add(new Workload("batchmix", Kind.BatchMixed, 0, P(2_000_000), mains));
        workloads.Add(new Workload("prodcons 64", Kind.ProdCons, 64, P(500_000), mains));
        workloads.Add(new Workload("tls: pair 64", Kind.Pair, 64, P(2_000_000), s_tls));
        workloads.Add(new Workload("tls: batch64", Kind.Batch, 64, P(2_000_000), s_tls));

        if (only != null) workloads.RemoveAll(w => !w.Name.Contains(only, StringComparison.Ordinal));
        s_slots = (void**)NativeMemory.AllocZeroed(1000, (nuint)sizeof(void*));
        s_mixSizes = (nuint*)NativeMemory.Alloc(1000, (nuint)sizeof(nuint));
        var rng = new Random(42);
        for (int i = 0; i < 1000; i++) s_mixSizes[i] = (nuint)rng.Next(16, 1025);
        CoreV2ThreadStaticStruct.Bind();
        CoreV2ThreadLocal.Bind();

        // Warm-up: every (workload, allocator) kernel reaches tier-1 before anything is measured.
        foreach (Workload w in workloads)
            foreach (string a in w.Allocators)
                for (int i = 0; i < (w.Kind == Kind.ProdCons ? 3 : 40); i++) Measure(a, w with { Ops = w.Kind == Kind.ProdCons ? 20_000 : 2_000 });
        Thread.Sleep(500);

        var cpu = new Dictionary<(string, string), List<double>>();
        var wall = new Dictionary<(string, string), List<double>>();
        for (int r = 0; r < rounds; r++)
        {
            foreach (Workload w in workloads)
            {
                for (int k = 0; k < w.Allocators.Length; k++)
                {
                    string a = w.Allocators[(k + r) % w.Allocators.Length];   // rotate the order every round
                    (double c, double t) = Measure(a, w);
                    (cpu.TryGetValue((w.Name, a), out var lc) ? lc : cpu[(w.Name, a)] = []).Add(c);
                    (wall.TryGetValue((w.Name, a), out var lw) ? lw : wall[(w.Name, a)] = []).Add(t);
                }
            }
        }
        Print(workloads, cpu, wall, rounds);
        return 0;
    }

    private static void Print(List<Workload> workloads, Dictionary<(string, string), List<double>> cpu, Dictionary<(string, string), List<double>> wall, int rounds)
    {
        static double Q(List<double> v, double q)
        {
            var s = v.Order().ToList();
            return s[(int)Math.Round(q * (s.Count - 1))];
        }
        foreach (var group in workloads.GroupBy(w => string.Join(",", w.Allocators)))
        {
            string[] allocs = group.First().Allocators;
            bool peers = allocs.Contains("tcmalloc");
            Console.WriteLine();
            Console.WriteLine($"CPU ns per op: median [IQR] of {rounds} rounds; wall median in parentheses");
            Console.WriteLine("| workload | " + string.Join(" | ", allocs) + (peers ? " | corev2 / best peer |" : " |"));
            Console.WriteLine("| --- |" + string.Concat(Enumerable.Repeat(" ---: |", allocs.Length + (peers ? 1 : 0))));
            foreach (Workload w in group)
            {
                var cells = allocs.Select(a => $"{Q(cpu[(w.Name, a)], 0.5):F1} [{Q(cpu[(w.Name, a)], 0.25):F1}–{Q(cpu[(w.Name, a)], 0.75):F1}] ({Q(wall[(w.Name, a)], 0.5):F1})");
                string ratio = "";
                if (peers)
                {
                    double best = new[] { "jemalloc", "mimalloc", "tcmalloc" }.Where(allocs.Contains).Min(a => Q(cpu[(w.Name, a)], 0.5));
                    ratio = $" {Q(cpu[(w.Name, "corev2")], 0.5) / best:F2} |";
                }
                Console.WriteLine($"| {w.Name} | " + string.Join(" | ", cells) + " |" + ratio);
            }
        }
    }

    /// <summary>Runs one workload once on one allocator: (CPU ns per op, wall ns per op).</summary>
    private static (double Cpu, double Wall) Measure(string alloc, Workload w)
    {
        switch (alloc)
        {
            case "corev2": return Measure(default(CoreV2Allocator), w);
            case "corev2-tsstruct": return Measure(default(CoreV2ThreadStaticStruct), w);
            case "corev2-tlocal": return Measure(default(CoreV2ThreadLocal), w);
            case "corev2-handle": return Measure(CoreV2Handle.ForThisThread(), w);
            case "nativeheap": return Measure(default(NativeHeapAllocator), w);
            default:
                AllocatorCatalog.TryGet(alloc, out AllocatorBinding? b, out _);
                return Measure(((PeerBinding)b!).Allocator, w);
        }
    }

    private static (double Cpu, double Wall) Measure<T>(T a, Workload w) where T : struct, IAllocator
    {
        if (w.Kind == Kind.ProdCons) return ProducerConsumer(a, w.Size, w.Ops);
        long c0 = ThreadCpuNs();
        long t0 = Stopwatch.GetTimestamp();
        long sink = w.Kind switch
        {
            Kind.Pair => Pairs(a, w.Size, w.Ops),
            Kind.Batch => Batch(a, w.Size, w.Ops / 1000),
            _ => BatchMixed(a, w.Ops / 1000),
        };
        double wallNs = Stopwatch.GetElapsedTime(t0).TotalNanoseconds;
        long cpuNs = ThreadCpuNs() - c0;
        GC.KeepAlive(sink);
        return (cpuNs / (double)w.Ops, wallNs / w.Ops);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long Pairs<T>(T a, nuint size, long n) where T : struct, IAllocator
    {
        long sum = 0;
        for (long i = 0; i < n; i++)
        {
            byte* p = (byte*)a.Malloc(size);
            *p = 1;
            sum += (nint)p & 0xFF;
            a.Free(p);
        }
        return sum;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long Batch<T>(T a, nuint size, long rounds) where T : struct, IAllocator
    {
        long sum = 0;
        void** slots = s_slots;
        for (long r = 0; r < rounds; r++)
        {
            for (int i = 0; i < 1000; i++) slots[i] = a.Malloc(size);
            for (int i = 0; i < 1000; i++)
            {
                sum += (nint)slots[i] & 0xFF;
                a.Free(slots[i]);
            }
        }
        return sum;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long BatchMixed<T>(T a, long rounds) where T : struct, IAllocator
    {
        long sum = 0;
        void** slots = s_slots;
        nuint* sizes = s_mixSizes;
        for (long r = 0; r < rounds; r++)
        {
            for (int i = 0; i < 1000; i++) slots[i] = a.Malloc(sizes[i]);
            for (int i = 0; i < 1000; i++)
            {
                sum += (nint)slots[i] & 0xFF;
                a.Free(slots[i]);
            }
        }
        return sum;
    }

    private static (double Cpu, double Wall) ProducerConsumer<T>(T a, nuint size, long n) where T : struct, IAllocator
    {
        const int Ring = 1024;
        nint* ring = (nint*)NativeMemory.AllocZeroed(Ring, (nuint)sizeof(nint));
        long* counters = (long*)NativeMemory.AlignedAlloc(256, 64);   // [0] head (producer), [16] tail (consumer): separate lines
        counters[0] = counters[16] = 0;
        var consumer = new Thread(() => Consume(a, ring, counters, n));
        TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        long t0 = Stopwatch.GetTimestamp();
        consumer.Start();
        Produce(a, size, ring, counters, n);
        consumer.Join();
        double wallNs = Stopwatch.GetElapsedTime(t0).TotalNanoseconds;
        double cpuNs = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalNanoseconds;
        NativeMemory.Free(ring);
        NativeMemory.AlignedFree(counters);
        return (cpuNs / n, wallNs / n);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Produce<T>(T a, nuint size, nint* ring, long* counters, long n) where T : struct, IAllocator
    {
        for (long i = 0; i < n; i++)
        {
            long* p = (long*)a.Malloc(size);
            *p = i;
            int spins = 0;
            while (i - Volatile.Read(ref counters[16]) >= 1024)
            {
                if (++spins > 64) Thread.Yield();
            }
            Volatile.Write(ref ring[i & 1023], (nint)p);
            Volatile.Write(ref counters[0], i + 1);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Consume<T>(T a, nint* ring, long* counters, long n) where T : struct, IAllocator
    {
        for (long i = 0; i < n; i++)
        {
            int spins = 0;
            while (Volatile.Read(ref counters[0]) <= i)
            {
                if (++spins > 64) Thread.Yield();
            }
            long* p = (long*)Volatile.Read(ref ring[i & 1023]);
            if (*p != i) throw new InvalidOperationException("producer->consumer: corrupted block");
            a.Free(p);
            Volatile.Write(ref counters[16], i + 1);
        }
    }
}
