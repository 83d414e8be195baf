// PairAb: an interleaved A/B(/C) of Heap.Malloc + Heap.Free pairs across child processes, for
// switches that are read once into static readonly fields (so each child's JIT compiles its side
// only) and for figures robust to a loaded machine: the sides rotate in every repetition, and each
// child reports, per size, the best of several rounds in process CPU time and in wall time. The
// table gives the median over the children of each side (min–max) and each side's CPU ratio to the
// first side. FreeChecksAb and ProfilingAb are its two uses.
using System.Diagnostics;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;

namespace NativeHeap.Benchmarks.General;

internal static unsafe class PairAb
{
    private const int PairsPerRound = 4_000_000;
    private const int Rounds = 5;

    /// <summary>One side: its name in the table and the environment its children start with (null: removed).</summary>
    internal readonly record struct Side(string Name, IReadOnlyDictionary<string, string?> Environment);

    /// <summary>Runs <paramref name="reps"/> rounds of one child per side (rotated), then prints the table.</summary>
    internal static int Run(int reps, int[] sizes, string childFlag, IReadOnlyList<Side> sides)
    {
        string self = typeof(PairAb).Assembly.Location;
        var results = new Dictionary<(string Side, int Size), List<(double Cpu, double Wall)>>();
        Console.WriteLine($"load before: {File.ReadAllText("/proc/loadavg").Trim()}");
        for (int rep = 0; rep < reps; rep++)
        {
            for (int k = 0; k < sides.Count; k++)
            {
                Side side = sides[(k + rep) % sides.Count];
                var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
                psi.ArgumentList.Add(self);
                psi.ArgumentList.Add(childFlag);
                foreach ((string name, string? value) in side.Environment)
                {
                    if (value is null) psi.Environment.Remove(name);
                    else psi.Environment[name] = value;
                }
                using Process p = Process.Start(psi)!;
                string output = p.StandardOutput.ReadToEnd();
                p.WaitForExit();
                foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    string[] f = line.Split(' ');
                    var key = (side.Name, int.Parse(f[0]));
                    if (!results.TryGetValue(key, out var list)) results[key] = list = new();
                    list.Add((double.Parse(f[1]), double.Parse(f[2])));
                }
            }
        }
        Console.WriteLine($"load after: {File.ReadAllText("/proc/loadavg").Trim()}");
        string first = sides[0].Name;
        Console.WriteLine("| size | " + string.Join(" | ", sides.Select(s => $"{s.Name}: CPU ns/pair median (min–max)"))
            + " | " + string.Join(" | ", sides.Skip(1).Select(s => $"{s.Name}/{first} CPU")) + " | " + string.Join(" | ", sides.Select(s => $"{s.Name} wall")) + " |");
        Console.WriteLine("| ---: |" + string.Concat(Enumerable.Repeat(" ---: |", sides.Count * 3 - 1)));
        static double Med(IEnumerable<double> xs) { var a = xs.OrderBy(x => x).ToArray(); return a.Length % 2 == 1 ? a[a.Length / 2] : (a[a.Length / 2 - 1] + a[a.Length / 2]) / 2; }
        foreach (int size in sizes)
        {
            var lists = sides.Select(s => results[(s.Name, size)]).ToArray();
            double baseCpu = Med(lists[0].Select(x => x.Cpu));
            var cells = lists.Select(l => $"{Med(l.Select(x => x.Cpu)):F2} ({l.Min(x => x.Cpu):F2}–{l.Max(x => x.Cpu):F2})")
                .Concat(lists.Skip(1).Select(l => $"{Med(l.Select(x => x.Cpu)) / baseCpu:F3}"))
                .Concat(lists.Select(l => $"{Med(l.Select(x => x.Wall)):F2}"));
            Console.WriteLine($"| {size} | {string.Join(" | ", cells)} |");
        }
        return 0;
    }

    /// <summary>One child: per size, the best round's ns per pair in process CPU time and in wall time.</summary>
    internal static int Child(int[] sizes)
    {
        long sink = 0;
        foreach (int size in sizes)
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

    /// <summary><paramref name="n"/> Heap.Malloc + Heap.Free pairs of <paramref name="size"/> bytes, the block's address read as a program would (also the body of the BenchmarkDotNet versions, FreeChecksCost and ProfilingCost).</summary>
    internal static long Pairs(nuint size, int n)
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

    /// <summary>A BenchmarkDotNet config with one short-run job (2 launches) per value of an environment variable: the in-run form of the same A/B.</summary>
    internal class EnvJobsConfig : ManualConfig
    {
        protected EnvJobsConfig(string variable, params (string Id, string Value)[] sides)
        {
            Job baseJob = Job.ShortRun.WithLaunchCount(2);
            foreach ((string id, string value) in sides)
                AddJob(baseJob.WithEnvironmentVariables(new EnvironmentVariable(variable, value)).WithId(id));
        }
    }
}
