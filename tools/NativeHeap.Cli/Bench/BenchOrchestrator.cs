// BenchOrchestrator: the parent side of `nheap bench`. Checks which allocators load, then runs
// every (workload, allocator) pair once per repeat, each in its own child process (`nheap
// bench-run`), interleaving the allocators (A B C D, then B C D A, ...) so that drift in the machine's
// load spreads over all of them. Collects the child records into a report, prints the tables and
// writes the JSON and SVG files.
using System.Diagnostics;
using System.Globalization;
using NativeHeap.Workloads.Allocators;
using NativeHeap.Workloads.Measurement;
using NativeHeap.Workloads.Reporting;
using NativeHeap.Workloads.Workloads;

namespace NativeHeap.Cli.Bench;

/// <summary>Runs the bench and reports.</summary>
internal sealed class BenchOrchestrator(BenchOptions options, TextWriter output)
{
    /// <summary>Runs everything; returns 0 when every run succeeded.</summary>
    public int Run()
    {
        var started = DateTime.UtcNow;
        var skipped = new Dictionary<string, string>();
        var allocators = new List<string>();
        foreach (string name in options.Allocators)
        {
            // Core v2 is chosen per process: only the child started with core:sharded can load it.
            if (string.Equals(name, AllocatorCatalog.NativeHeapV2Name, StringComparison.OrdinalIgnoreCase))
            {
                allocators.Add(AllocatorCatalog.NativeHeapV2Name);
                continue;
            }
            if (AllocatorCatalog.TryGet(name, out AllocatorBinding? binding, out string reason))
            {
                allocators.Add(binding!.Name);
            }
            else
            {
                skipped[name] = reason;
                output.WriteLine($"skipping {name}: {reason}");
            }
        }
        var workloads = new List<Workload>();
        foreach (string name in options.Workloads)
        {
            Workload? w = WorkloadCatalog.Find(name, options.Size);
            if (w is null)
            {
                output.WriteLine($"unknown workload '{name}' (known: {string.Join(", ", WorkloadCatalog.Names)})");
                return 2;
            }
            workloads.Add(w);
        }
        if (allocators.Count == 0)
        {
            output.WriteLine("no allocator could be loaded");
            return 2;
        }
        string reference = allocators.Contains(AllocatorCatalog.NativeHeapName) ? AllocatorCatalog.NativeHeapName : allocators[0];
        var report = new BenchReport
        {
            Started = started.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            Machine = BenchReport.DescribeMachine(),
            Size = options.Size.ToString().ToLowerInvariant(),
            Repeats = options.Repeats,
            Isolation = options.ProcessPerRun ? "one child process per run" : "one child process per allocator and repeat (runs all workloads in turn)",
            Reference = reference,
            Allocators = allocators,
            Skipped = skipped,
        };
        foreach (Workload w in workloads)
        {
            var summary = new WorkloadSummary { Workload = w.Name, Parameters = w.Parameters, Unit = w.Unit, Kind = w.Kind };
            foreach (string a in allocators)
            {
                summary.Allocators.Add(new AllocatorSummary { Allocator = a });
            }
            report.Workloads.Add(summary);
        }
        output.WriteLine($"nheap bench: {workloads.Count} workloads × {allocators.Count} allocators ({string.Join(", ", allocators)}) × {options.Repeats} repeats, size {report.Size}; {report.Machine}");
        bool allOk = true;
        TimeSpan timeout = options.Size == BenchSize.Full ? TimeSpan.FromMinutes(20) : TimeSpan.FromMinutes(3);
        output.WriteLine($"allocators interleaved, {report.Isolation}");
        var clock = Stopwatch.StartNew();
        for (int repeat = 0; repeat < options.Repeats; repeat++)
        {
            if (options.ProcessPerRun)
            {
                foreach (Workload w in workloads)
                {
                    var line = new List<string>();
                    for (int k = 0; k < allocators.Count; k++)
                    {
                        string a = allocators[(k + repeat) % allocators.Count];
                        RunRecord record = RunChild([w.Name], a, timeout)[0];
                        allOk &= Add(report, w, record);
                        line.Add(Describe(w, record));
                    }
                    output.WriteLine($"[{clock.Elapsed:mm\\:ss}] repeat {repeat + 1}/{options.Repeats} {w.Name}: {string.Join(", ", line)}");
                }
            }
            else
            {
                for (int k = 0; k < allocators.Count; k++)
                {
                    string a = allocators[(k + repeat) % allocators.Count];
                    List<RunRecord> records = RunChild([.. workloads.Select(w => w.Name)], a, timeout * workloads.Count);
                    var failures = new List<string>();
                    for (int i = 0; i < workloads.Count; i++)
                    {
                        if (!Add(report, workloads[i], records[i]))
                        {
                            allOk = false;
                            failures.Add($"{workloads[i].Name}: {records[i].Error}");
                        }
                    }
                    string status = failures.Count == 0 ? "all ran" : "FAILED " + string.Join("; ", failures);
                    double seconds = records.Where(r => r.Error is null).Sum(r => r.Seconds);
                    output.WriteLine($"[{clock.Elapsed:mm\\:ss}] repeat {repeat + 1}/{options.Repeats} {a,-10} {workloads.Count - failures.Count}/{workloads.Count} workloads ({seconds:0.0} s measured), {status}");
                }
            }
        }
        output.WriteLine();
        TableWriter.Write(report, output);
        if (options.JsonFile is not null)
        {
            File.WriteAllText(options.JsonFile.FullName, report.ToJson());
            output.WriteLine($"wrote {options.JsonFile.FullName}");
        }
        if (options.SvgFile is not null)
        {
            File.WriteAllText(options.SvgFile.FullName, SvgChart.Render(report));
            output.WriteLine($"wrote {options.SvgFile.FullName}");
        }
        output.WriteLine($"bench finished in {clock.Elapsed.TotalSeconds:0} s{(allOk ? "" : " (some runs failed, see above)")}");
        return allOk ? 0 : 1;
    }

    private static bool Add(BenchReport report, Workload w, RunRecord record)
    {
        AllocatorSummary target = report.Workloads.First(s => s.Workload == w.Name).Allocators.First(s => s.Allocator == record.Allocator);
        if (record.Error is null)
        {
            target.Runs.Add(record);
            return true;
        }
        target.Errors.Add(record.Error);
        return false;
    }

    private static string Describe(Workload w, RunRecord record)
    {
        if (record.Error is not null)
        {
            return $"{record.Allocator} FAILED ({record.Error})";
        }
        string figure = w.Kind == MetricKind.Time ? Format.Seconds(record.Metric) : Format.Rate(record.Metric);
        return $"{record.Allocator} {figure} {Format.MiB(record.PeakRss)}";
    }

    // One child process: `nheap bench-run --workload W1,W2,... --allocator A --size S`; one record
    // per workload, in order. If the child dies part-way, the workload it was running is recorded as
    // failed and the remaining ones run in a fresh child.
    private List<RunRecord> RunChild(IReadOnlyList<string> workloads, string allocator, TimeSpan timeout)
    {
        var byWorkload = new Dictionary<string, RunRecord>();
        int next = 0;
        while (next < workloads.Count)
        {
            List<string> batch = [.. workloads.Skip(next)];
            List<RunRecord> results = [];
            RunRecord? failure = RunChildRaw(batch, allocator, timeout, results);
            foreach (RunRecord r in results)
            {
                byWorkload[r.Workload] = r;
            }
            while (next < workloads.Count && byWorkload.ContainsKey(workloads[next]))
            {
                next++;
            }
            if (next < workloads.Count)
            {
                byWorkload[workloads[next]] = new RunRecord
                {
                    Workload = workloads[next],
                    Allocator = allocator,
                    Error = failure?.Error ?? "the child process did not report this workload",
                };
                next++;
            }
        }
        return [.. workloads.Select(w => byWorkload[w])];
    }

    // Runs the child, collecting its records into results; returns an error record if it failed.
    private RunRecord? RunChildRaw(IReadOnlyList<string> workloads, string allocator, TimeSpan timeout, List<RunRecord> results)
    {
        string workload = string.Join(',', workloads);
        ProcessStartInfo info = SelfProcess.StartInfo(["bench-run", "--workload", workload, "--allocator", allocator, "--size", options.Size.ToString()]);
        // Hot methods that are not inlined (the allocator's own) reach tier 1 after 30 calls at once,
        // instead of after the default 100 ms start-up delay that would eat a quick run.
        info.Environment["DOTNET_TC_CallCountingDelayMs"] = "0";
        if (string.Equals(allocator, AllocatorCatalog.NativeHeapV2Name, StringComparison.OrdinalIgnoreCase))
        {
            string conf = Environment.GetEnvironmentVariable("NATIVEHEAP_CONF") ?? "";
            info.Environment["NATIVEHEAP_CONF"] = conf.Length == 0 ? AllocatorCatalog.NativeHeapV2Conf : conf + "," + AllocatorCatalog.NativeHeapV2Conf;
        }
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        using var process = new Process { StartInfo = info };
        var stdout = new List<string>();
        var stderr = new List<string>();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (stdout) { stdout.Add(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (stderr) { stderr.Add(e.Data); } } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            lock (stdout)
            {
                results.AddRange(stdout.Select(RunRecord.TryParse).OfType<RunRecord>());
            }
            return new RunRecord { Workload = workload, Allocator = allocator, Error = $"timed out after {timeout.TotalSeconds:0} s" };
        }
        process.WaitForExit();
        lock (stdout)
        {
            results.AddRange(stdout.Select(RunRecord.TryParse).OfType<RunRecord>());
        }
        if (process.ExitCode == 0 || results.Count == workloads.Count)
        {
            return null;
        }
        string detail;
        lock (stderr)
        {
            detail = string.Join(" / ", stderr.Where(l => l.Length > 0).Take(3));
        }
        return new RunRecord { Workload = workload, Allocator = allocator, Error = $"exit code {process.ExitCode}: {detail}" };
    }
}
