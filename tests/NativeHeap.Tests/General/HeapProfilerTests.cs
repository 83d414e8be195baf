using System.Diagnostics;
using System.Text.RegularExpressions;
using NativeHeap.Control;
using NativeHeap.General;
using NativeHeap.Profiling;

namespace NativeHeap.Tests.General;

/// <summary>A fact skipped, with the apt-get line, when Go's toolchain (go tool pprof) is not installed.</summary>
public sealed class GoFactAttribute : FactAttribute
{
    /// <summary>Skips unless <c>go</c> is on PATH.</summary>
    public GoFactAttribute()
    {
        if (HeapProfilerTests.Go() == null) Skip = "go tool pprof is needed: apt-get install golang-go";
    }
}

/// <summary>
/// The heap profiler: sampling arithmetic, the pprof encoding, the flame graph, and — in child
/// processes started with NATIVEHEAP_CONF=prof:true (profiling is process-wide) — a program with
/// known leaking sites whose profile must name them with the right amounts.
/// </summary>
public unsafe class HeapProfilerTests
{
    internal static string? Go()
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Append("/usr/lib/go/bin"))
        {
            string p = Path.Combine(dir, "go");
            if (File.Exists(p)) return p;
        }
        return null;
    }

    private static string NewDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), "nheap-prof-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    [Fact]
    public void WeightIsTheInverseOfTheSampleProbability()
    {
        const double r = 1 << 19;
        Assert.Equal(1.0, Sampler.Weight((nuint)1 << 40, r), 6);                       // huge blocks: always sampled, weight 1
        Assert.Equal(r / 64, Sampler.Weight(64, r), r / 64 * 1e-3);              // small blocks: about R/size
        Assert.Equal(1 / (1 - Math.Exp(-1.0)), Sampler.Weight(1 << 19, r), 9);   // size = R
    }

    [Fact]
    public void IntervalsAreExponentialWithTheConfiguredMean()
    {
        ulong state = 0x1234_5678_9abc_def1;
        const int n = 200_000;
        double sum = 0, sumSq = 0;
        for (int i = 0; i < n; i++)
        {
            double v = Sampler.NextInterval(&state);
            Assert.True(v >= 1);
            sum += v;
            sumSq += v * v;
        }
        double mean = sum / n, sd = Math.Sqrt(sumSq / n - mean * mean);
        double want = Math.ScaleB(1.0, Sampler.s_lgSample);
        // An exponential distribution: the mean and the standard deviation are both R (fixed seed: deterministic).
        Assert.InRange(mean, want * 0.99, want * 1.01);
        Assert.InRange(sd, want * 0.98, want * 1.02);
    }

    [Fact]
    public void InactiveProfilingLeavesTheFastPathAloneAndAllocatesNothingManaged()
    {
        Assert.False(HeapProfiler.IsActive);   // in-process tests never start it (the child processes do)
        TestThreads.Run(() =>
        {
            var ptrs = stackalloc nint[128];
            for (int i = 0; i < 128; i++) ptrs[i] = (nint)Heap.Malloc((nuint)(16 + i * 40));
            for (int i = 0; i < 128; i++) Heap.Free((void*)ptrs[i]);
            ThreadCache* tc = (ThreadCache*)Heap.CurrentThreadCacheForTests;
            Assert.Equal(ulong.MaxValue, tc->ProfNext);   // no threshold can be reached: TryPop's test never fails
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int round = 0; round < 2000; round++)
            {
                for (int i = 0; i < 128; i++) ptrs[i] = (nint)Heap.Malloc((nuint)(16 + i * 40));
                for (int i = 0; i < 128; i++) Heap.Free((void*)ptrs[i]);
            }
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
            Assert.Equal(0, Volatile.Read(ref SamplerGate.LiveSamples));
        });
    }

    [Fact]
    public void PprofEncodingRoundTrips()
    {
        var frames = new[] { new HeapProfileFrame("App.Cache.Add", "/src/Cache.cs", 42, 0, "App"), new HeapProfileFrame("App.Program.Main", null, 0, 0, "App") };
        var snap = new HeapProfileSnapshot(
            [new HeapProfileSite(frames, "worker", 1_000_000, 100, 3_000_000, 300, 7), new HeapProfileSite([frames[1]], null, 0, 0, 5_000, 2, 0)],
            1 << 19, 12, 7, DateTime.UtcNow);
        PprofProfile p = PprofProfile.Decode(PprofWriter.Encode(snap));
        Assert.Equal(["alloc_objects", "alloc_space", "inuse_objects", "inuse_space"], p.SampleTypes);
        Assert.Equal("inuse_space", p.DefaultSampleType);
        Assert.Equal(1 << 19, p.Period);
        Assert.Equal(2, p.Samples.Count);
        Assert.Equal(["App.Cache.Add (Cache.cs:42)", "App.Program.Main"], p.Samples[0].Stack);
        Assert.Equal([300L, 3_000_000, 100, 1_000_000], p.Samples[0].Values);
        Assert.Equal("worker", p.Samples[0].Thread);
        Assert.Equal([2L, 5_000, 0, 0], p.Samples[1].Values);
        string svg = FlameGraph.Svg(p, "inuse_space", "test");
        Assert.Contains("App.Cache.Add (Cache.cs:42)", svg);
        Assert.Contains("<svg", svg);
        Assert.Contains("976.6 KiB", svg);   // the root's total
    }

    [Fact]
    public void ProfNamesHaveJemallocsTypesAndWorkWithoutStartingProfiling()
    {
        Assert.Equal(CtlStatus.Ok, HeapControl.Read("opt.prof", out bool prof));
        Assert.False(prof);
        Assert.Equal(CtlStatus.Ok, HeapControl.Read("opt.lg_prof_sample", out nuint lg));
        Assert.Equal((nuint)19, lg);
        Assert.Equal(CtlStatus.Ok, HeapControl.Read("prof.lg_sample", out nuint lgNow));
        Assert.Equal((nuint)19, lgNow);
        Assert.Equal(CtlStatus.Ok, HeapControl.Read("prof.interval", out ulong interval));
        Assert.Equal(0UL, interval);
        Assert.Equal(CtlStatus.Ok, HeapControl.Read("opt.lg_prof_interval", out nint lgi));
        Assert.Equal(-1, lgi);
        Assert.Equal(CtlStatus.Ok, HeapControl.Read("prof.active", out bool active));
        Assert.False(active);
        Assert.Equal(CtlStatus.Ok, HeapControl.Read("opt.prof_prefix", out string? prefix));
        Assert.Equal("nheap", prefix);
        Assert.Equal(CtlStatus.ReadOnly, HeapControl.Write("prof.lg_sample", (nuint)3));
        // Without opt.prof, as in jemalloc, the profiler's writes answer ENOENT and the API says why.
        Assert.False(ThreadCache.ProfFastPath);
        Assert.False(HeapProfiler.IsEnabled);
        Assert.Equal(CtlStatus.NotFound, HeapControl.Write("prof.active", true));
        Assert.Equal(CtlStatus.NotFound, HeapControl.Ctl("prof.dump", null, null, null, 0));
        Assert.Equal(CtlStatus.NotFound, HeapControl.Write("prof.reset", (nuint)19));
        Assert.Contains("prof:true", Assert.Throws<InvalidOperationException>(() => HeapProfiler.Start()).Message);
        TestThreads.Run(() =>
        {
            nint name = System.Runtime.InteropServices.Marshal.StringToCoTaskMemUTF8("worker-7");
            try
            {
                Assert.Equal(CtlStatus.Ok, HeapControl.Write("thread.prof.name", name));
                Assert.Equal(CtlStatus.Ok, HeapControl.Read("thread.prof.name", out string? n));
                Assert.Equal("worker-7", n);
                nint old = 0;
                nuint len = (nuint)sizeof(nint);
                Assert.Equal(CtlStatus.ReadOnly, HeapControl.Ctl("thread.prof.name", &old, &len, &name, (nuint)sizeof(nint)));   // read or write, not both
            }
            finally
            {
                System.Runtime.InteropServices.Marshal.FreeCoTaskMem(name);
            }
            Assert.Equal(CtlStatus.Ok, HeapControl.Read("thread.prof.active", out bool ta));
            Assert.True(ta);
        });
    }

    private sealed record Truth(string Method, long Bytes, long Objects);

    private static List<Truth> Truths(string stdout)
        => stdout.Split('\n').Where(l => l.StartsWith("TRUE ", StringComparison.Ordinal))
            .Select(l => l.Split(' ')).Select(f => new Truth(f[1], long.Parse(f[2]), long.Parse(f[3]))).ToList();

    private static (long Bytes, long Objects, long AllocBytes) Attributed(PprofProfile p, string method)
    {
        int space = p.TypeIndex("inuse_space"), objects = p.TypeIndex("inuse_objects"), alloc = p.TypeIndex("alloc_space");
        long b = 0, o = 0, a = 0;
        foreach (PprofProfile.Sample s in p.Samples)
        {
            if (s.Stack.Length == 0 || !s.Stack[0].StartsWith("NativeHeap.TestChild.ProfScenarios." + method + " ", StringComparison.Ordinal)) continue;
            b += s.Values[space];
            o += s.Values[objects];
            a += s.Values[alloc];
        }
        return (b, o, a);
    }

    [Fact]
    public void LeakingSitesAreNamedWithTheirAmountsAtTheDefaultRate()
    {
        string dir = NewDir();
        try
        {
            // prof:true at start, as MALLOC_CONF=prof:true; a fixed seed makes the samples (and so this test)
            // deterministic. Each site has ~500 samples (relative s.d. ~4.5 %): over seeds 1-4 and 20261208
            // the sites' errors ranged from -9.5 % to +7 % (the mean within 2 %), so ±10 % holds for most
            // seeds but not with a wide margin for all; seed 1 is used (errors -2.4 % to +6.6 %).
            // prof_accum keeps the churning site (all its blocks freed) in the dumps, for its alloc_space.
            ChildProcess.Result r = ChildProcess.AssertOk("prof-leak", $"prof:true,prof_accum:true,prof_seed:1,prof_prefix:{dir}/auto", dir);
            List<Truth> truths = Truths(r.Stdout);
            Assert.Equal(5, truths.Count);
            PprofProfile p = PprofProfile.Read(Path.Combine(dir, "api.heap"));
            PprofProfile ctl = PprofProfile.Read(Path.Combine(dir, "ctl.heap"));
            Assert.Equal(p.Samples.Count, ctl.Samples.Count);
            Assert.Equal(1 << 19, p.Period);
            string[] auto = Directory.GetFiles(dir, "auto.*.heap");
            Assert.Single(auto);
            Assert.Matches(@"auto\.\d+\.0\.m0\.heap$", auto[0]);   // <prefix>.<pid>.<seq>.m<mseq>.heap; named dumps take no number, as in jemalloc
            long leaked = truths.Sum(t => t.Bytes), right = 0;
            var report = new List<string>();
            foreach (Truth t in truths)
            {
                (long bytes, long objects, long alloc) = Attributed(p, t.Method);
                report.Add($"{t.Method}: estimated {bytes} B / {objects} objects, true {t.Bytes} B / {t.Objects}; alloc_space {alloc}");
                if (t.Bytes == 0)
                {
                    Assert.Equal(0, bytes);                      // every sampled block of the site was freed, and seen
                    continue;
                }
                right += Math.Min(bytes, t.Bytes);
                Assert.True(Math.Abs(bytes - t.Bytes) <= t.Bytes / 10, string.Join("\n", report));
                Assert.True(Math.Abs(objects - t.Objects) <= t.Objects / 10, string.Join("\n", report));
            }
            (_, _, long churnAlloc) = Attributed(p, "ChurnAndFree");
            Assert.InRange(churnAlloc, 2_000_000L * 256 * 9 / 10, 2_000_000L * 256 * 11 / 10);   // alloc_space counts freed blocks too
            Assert.True(right >= leaked * 95 / 100, $"attributed {right} of {leaked}\n" + string.Join("\n", report));
            // A site's stack goes on to its callers, with files and lines from the PDB.
            PprofProfile.Sample one = p.Samples.First(s => s.Stack[0].Contains("LeakPages", StringComparison.Ordinal));
            Assert.Matches(@"ProfScenarios\.cs:\d+\)$", one.Stack[0]);
            Assert.Contains(one.Stack, f => f.StartsWith("NativeHeap.TestChild.ProfScenarios.Leak ", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void CompiledInButInactiveAllocatesNothingManagedUntilStarted()
        => ChildProcess.AssertOk("prof-inactive", "prof:true,prof_active:false,prof_seed:3");

    [Fact]
    public void IntervalAndGrowthDumpsAndThreadActive()
    {
        string dir = NewDir();
        try
        {
            ChildProcess.AssertOk("prof-auto-dumps", $"prof:true,prof_gdump:true,lg_prof_interval:24,prof_seed:5,prof_prefix:{dir}/auto", dir);
            foreach (string f in Directory.GetFiles(dir, "auto.*.heap")) Assert.NotEmpty(PprofProfile.Read(f).SampleTypes);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void LeakReportAndFinalDumpAtExit()
    {
        string dir = NewDir();
        try
        {
            ChildProcess.Result r = ChildProcess.AssertOk("prof-exit", $"prof:true,prof_leak:true,prof_final:true,prof_seed:7,prof_prefix:{dir}/exit");
            Assert.Contains("<nativeheap>: Leak approximation summary: ~", r.Stderr);
            Match m = Regex.Match(r.Stderr, @"~(\d+) bytes \((\d+\.\d) %\) in ~(\d+) objects");
            Assert.True(m.Success, r.Stderr);
            long bytes = long.Parse(m.Groups[1].Value);
            Assert.InRange(bytes, 20_000L * 2048 * 8 / 10, 20_000L * 2048 * 12 / 10);   // 20,000 × 2 KiB ≈ 78 samples at 512 KiB: ±20 %
            Assert.Contains("at NativeHeap.TestChild.ProfScenarios.LeakAtExit (ProfScenarios.cs:", r.Stderr);
            string[] final = Directory.GetFiles(dir, "exit.*.f.heap");
            Assert.Single(final);
            PprofProfile p = PprofProfile.Read(final[0]);
            Assert.Contains(p.Samples, s => s.Stack[0].StartsWith("NativeHeap.TestChild.ProfScenarios.LeakAtExit", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static (int Exit, string Output) Nheap(params string[] args)
    {
        string config = AppContext.BaseDirectory.Contains("/Debug/") ? "Debug" : "Release";
        string? dll = null;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null && dll == null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "tools", "NativeHeap.Cli", "bin", config, "net10.0", "nheap.dll");
            if (File.Exists(candidate)) dll = candidate;
        }
        Assert.True(dll != null, "nheap.dll not found: build NativeHeap.slnx first");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll!);
        foreach (string a in args) psi.ArgumentList.Add(a);
        psi.Environment.Remove("NATIVEHEAP_CONF");
        using Process p = Process.Start(psi)!;
        Task<string> err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(120_000));
        return (p.ExitCode, output + err.Result);
    }

    [Fact]
    public void NheapProfListsTopSitesAndWritesAFlameGraph()
    {
        string dir = NewDir();
        try
        {
            string heap = Path.Combine(dir, "demo.heap"), svg = Path.Combine(dir, "flame.svg");
            (int exit, string output) = Nheap("prof", "--demo", heap);
            Assert.True(exit == 0, output);
            (exit, output) = Nheap("prof", heap, "--svg", svg, "--top", "3");
            Assert.True(exit == 0, output);
            // The demo caches every fourth response forever (50,000 blocks of 2-6 KiB): the leak's site leads.
            string first = output.Split('\n').First(l => l.Contains(" % ", StringComparison.Ordinal));
            Assert.Contains("ProfCommand.RenderResponse", first);
            Assert.Contains("ProfCommand.CacheResponse", first);
            string text = File.ReadAllText(svg);
            Assert.StartsWith("<?xml", text);
            Assert.Contains("ProfCommand.RenderResponse (ProfCommand.cs:", text);
            (exit, output) = Nheap("prof", heap, "--sample", "bogus");
            Assert.Equal(2, exit);
            Assert.Contains("no sample type bogus", output);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [GoFact]
    public void GoToolPprofOpensTheProfile()
    {
        string dir = NewDir();
        try
        {
            ChildProcess.AssertOk("prof-leak", $"prof:true,prof_seed:99,prof_prefix:{dir}/auto", dir);
            var psi = new ProcessStartInfo(Go()!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string a in new[] { "tool", "pprof", "-top", "-sample_index=inuse_space", Path.Combine(dir, "api.heap") }) psi.ArgumentList.Add(a);
            psi.Environment["HOME"] = dir;                     // pprof writes nothing else, but go wants a home
            psi.Environment["GOCACHE"] = Path.Combine(dir, "gocache");
            using Process go = Process.Start(psi)!;
            Task<string> err = go.StandardError.ReadToEndAsync();
            string output = go.StandardOutput.ReadToEnd();
            Assert.True(go.WaitForExit(TimeSpan.FromMinutes(3)), "go tool pprof did not finish");
            Assert.True(go.ExitCode == 0, output + err.Result);
            Assert.Contains("LeakLargeBuffers", output);
            Assert.Contains("LeakSmallNodes", output);
            Assert.Matches(@"Type: inuse_space", output + err.Result);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
