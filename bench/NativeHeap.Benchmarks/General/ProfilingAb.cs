// ProfilingAb: the heap profiler's cost on the malloc+free pair, robust to a loaded machine: child
// processes rotate between the three sides of ProfilingCost (no opt.prof: the sample test folded
// away; prof:true,prof_active:false; prof:true at the default rate) and each reports, per size, the best of several rounds in process CPU
// time and in wall time. `-- --prof-ab [REPS]` runs it.
using System.Diagnostics;

namespace NativeHeap.Benchmarks.General;

internal static unsafe class ProfilingAb
{
    private static readonly int[] Sizes = [16, 64, 256, 4096];
    private const int PairsPerRound = 4_000_000;
    private const int Rounds = 5;
    private static readonly string[] Sides = ["off", "inactive", "active"];

    internal static int Run(string[] args)
    {
        int reps = args.Length > 0 ? int.Parse(args[0]) : 6;
        string self = typeof(ProfilingAb).Assembly.Location;
        var results = new Dictionary<(string Side, int Size), List<(double Cpu, double Wall)>>();
        Console.WriteLine($"load before: {File.ReadAllText("/proc/loadavg").Trim()}");
        for (int rep = 0; rep < reps; rep++)
        {
            for (int k = 0; k < Sides.Length; k++)
            {
                string side = Sides[(k + rep) % Sides.Length];
                var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
                psi.ArgumentList.Add(self);
                psi.ArgumentList.Add("--prof-child");
                psi.Environment.Remove("NATIVEHEAP_PROF_FASTPATH");
                psi.Environment.Remove("NATIVEHEAP_CONF");
                if (side == "inactive") psi.Environment["NATIVEHEAP_CONF"] = "prof:true,prof_active:false";
                if (side == "active") psi.Environment["NATIVEHEAP_CONF"] = "prof:true";
                using Process p = Process.Start(psi)!;
                string output = p.StandardOutput.ReadToEnd();
                p.WaitForExit();
                foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    string[] f = line.Split(' ');
                    var key = (side, int.Parse(f[0]));
                    if (!results.TryGetValue(key, out var list)) results[key] = list = new();
                    list.Add((double.Parse(f[1]), double.Parse(f[2])));
                }
            }
        }
        Console.WriteLine($"load after: {File.ReadAllText("/proc/loadavg").Trim()}");
        Console.WriteLine("| size | no opt.prof: CPU ns/pair median (min–max) | prof:true,prof_active:false | prof:true | inactive/off CPU | active/off CPU | off wall | inactive wall | active wall |");
        Console.WriteLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        static double Med(IEnumerable<double> xs) { var a = xs.OrderBy(x => x).ToArray(); return a.Length % 2 == 1 ? a[a.Length / 2] : (a[a.Length / 2 - 1] + a[a.Length / 2]) / 2; }
        foreach (int size in Sizes)
        {
            var o = results[("off", size)];
            var i = results[("inactive", size)];
            var a = results[("active", size)];
            string Cell(List<(double Cpu, double Wall)> l) => $"{Med(l.Select(x => x.Cpu)):F2} ({l.Min(x => x.Cpu):F2}–{l.Max(x => x.Cpu):F2})";
            double oc = Med(o.Select(x => x.Cpu)), ic = Med(i.Select(x => x.Cpu)), ac = Med(a.Select(x => x.Cpu));
            Console.WriteLine($"| {size} | {Cell(o)} | {Cell(i)} | {Cell(a)} | {ic / oc:F3} | {ac / oc:F3} | {Med(o.Select(x => x.Wall)):F2} | {Med(i.Select(x => x.Wall)):F2} | {Med(a.Select(x => x.Wall)):F2} |");
        }
        return 0;
    }

    /// <summary>One child: per size, the best round's ns per pair in process CPU time and in wall time.</summary>
    internal static int Child()
    {
        long sink = 0;
        foreach (int size in Sizes)
        {
            sink += Pairs((nuint)size, 2_000_000);   // warm-up: tier-1 code, a filled cache bin
            double bestCpu = double.MaxValue, bestWall = double.MaxValue;
            for (int r = 0; r < Rounds; r++)
            {
                TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                long t0 = Stopwatch.GetTimestamp();
                sink += Pairs((nuint)size, PairsPerRound);
                double wall = Stopwatch.GetElapsedTime(t0).TotalNanoseconds / PairsPerRound;
                double cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalNanoseconds / PairsPerRound;
                bestCpu = Math.Min(bestCpu, cpu);
                bestWall = Math.Min(bestWall, wall);
            }
            Console.WriteLine($"{size} {bestCpu:F3} {bestWall:F3}");
        }
        return sink == 42 ? 1 : 0;
    }

    private static long Pairs(nuint size, int n)
    {
        long sum = 0;
        for (int i = 0; i < n; i++)
        {
            byte* p = (byte*)Heap.Malloc(size);
            sum += (nint)p & 0xFF;
            Heap.Free(p);
        }
        return sum;
    }
}
