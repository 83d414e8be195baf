// FreeChecksAb: an interleaved A/B of default mode's free checks on the malloc+free pair, robust to a
// loaded machine: child processes alternate between NATIVEHEAP_FREE_CHECKS=0 and the default (the
// switch is read once into a static readonly field, so each child's JIT compiles its side only), and
// each child reports, per size, the best of several rounds in process CPU time and in wall time.
// `-- --free-checks-ab [REPS]` runs it; BenchmarkDotNet's FreeChecksCost is the same pair in two jobs.
using System.Diagnostics;

namespace NativeHeap.Benchmarks.General;

internal static unsafe class FreeChecksAb
{
    private static readonly int[] Sizes = [16, 64, 256, 1024];
    private const int PairsPerRound = 4_000_000;
    private const int Rounds = 5;

    internal static int Run(string[] args)
    {
        int reps = args.Length > 0 ? int.Parse(args[0]) : 6;
        string self = typeof(FreeChecksAb).Assembly.Location;
        var results = new Dictionary<(string Side, int Size), List<(double Cpu, double Wall)>>();
        Console.WriteLine($"load before: {File.ReadAllText("/proc/loadavg").Trim()}");
        for (int rep = 0; rep < reps; rep++)
        {
            string[] order = rep % 2 == 0 ? ["off", "on"] : ["on", "off"];
            foreach (string side in order)
            {
                var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
                psi.ArgumentList.Add(self);
                psi.ArgumentList.Add("--free-checks-child");
                psi.Environment["NATIVEHEAP_FREE_CHECKS"] = side == "off" ? "0" : "1";
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
        Console.WriteLine("| size | off CPU ns/pair (median, min–max) | on CPU ns/pair (median, min–max) | on/off CPU | off wall | on wall | on/off wall |");
        Console.WriteLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (int size in Sizes)
        {
            var off = results[("off", size)];
            var on = results[("on", size)];
            double Med(IEnumerable<double> xs) { var a = xs.OrderBy(x => x).ToArray(); return a.Length % 2 == 1 ? a[a.Length / 2] : (a[a.Length / 2 - 1] + a[a.Length / 2]) / 2; }
            double offCpu = Med(off.Select(x => x.Cpu)), onCpu = Med(on.Select(x => x.Cpu));
            double offWall = Med(off.Select(x => x.Wall)), onWall = Med(on.Select(x => x.Wall));
            Console.WriteLine($"| {size} | {offCpu:F2} ({off.Min(x => x.Cpu):F2}–{off.Max(x => x.Cpu):F2}) | {onCpu:F2} ({on.Min(x => x.Cpu):F2}–{on.Max(x => x.Cpu):F2}) | {onCpu / offCpu:F3} | {offWall:F2} | {onWall:F2} | {onWall / offWall:F3} |");
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
