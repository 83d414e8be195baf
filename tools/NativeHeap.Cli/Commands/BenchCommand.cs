using System.CommandLine;
using NativeHeap.Cli.Bench;
using NativeHeap.Workloads.Allocators;
using NativeHeap.Workloads.Workloads;

namespace NativeHeap.Cli.Commands;

/// <summary>
/// <c>nheap bench</c>: the mimalloc-bench workloads on NativeHeap and the peer allocators, interleaved
/// and repeated, one child process per run; prints a table per workload and writes JSON and SVG.
/// </summary>
internal static class BenchCommand
{
    internal static Command Create()
    {
        var quick = new Option<bool>("--quick") { Description = "Cut-down sizes (finishes in about 3 minutes on 2 cores)" };
        var workloads = new Option<string[]>("--workload")
        {
            Description = "Workloads to run (default: all): " + string.Join(", ", WorkloadCatalog.Names),
            AllowMultipleArgumentsPerToken = true,
        };
        var allocators = new Option<string[]>("--allocators")
        {
            Description = "Allocators to measure (default: all available): " + string.Join(", ", AllocatorCatalog.Names),
            AllowMultipleArgumentsPerToken = true,
        };
        var repeats = new Option<int>("--repeats") { Description = "Runs per workload and allocator", DefaultValueFactory = _ => 5 };
        var json = new Option<FileInfo?>("--json") { Description = "Write the results (all runs) as JSON to this file" };
        var svg = new Option<FileInfo?>("--svg") { Description = "Write an SVG chart of the ratios to this file" };
        var isolation = new Option<string?>("--isolation")
        {
            Description = "run: a child process per workload run (default for full runs); allocator: a child per allocator and repeat running all workloads (default for --quick)",
        };
        isolation.AcceptOnlyFromAmong("run", "allocator");
        var size = new Option<BenchSize?>("--size") { Description = "Override the size (Tiny, Quick, Full)", Hidden = true };
        var command = new Command("bench", "Run the mimalloc-bench workloads on NativeHeap, glibc, jemalloc, mimalloc and tcmalloc");
        command.Options.Add(quick);
        command.Options.Add(workloads);
        command.Options.Add(allocators);
        command.Options.Add(repeats);
        command.Options.Add(json);
        command.Options.Add(svg);
        command.Options.Add(isolation);
        command.Options.Add(size);
        command.SetAction(parse =>
        {
            if (!SelfProcess.HasJemallocTunables)
            {
                // jemalloc is probed in this process too: start again with the static TLS reserve.
                return SelfProcess.ReExecWithTunables(Environment.GetCommandLineArgs().Skip(1));
            }
            BenchSize benchSize = parse.GetValue(size) ?? (parse.GetValue(quick) ? BenchSize.Quick : BenchSize.Full);
            var options = new BenchOptions
            {
                Size = benchSize,
                ProcessPerRun = (parse.GetValue(isolation) ?? (benchSize == BenchSize.Full ? "run" : "allocator")) == "run",
                Workloads = parse.GetValue(workloads) is { Length: > 0 } w ? [.. w.SelectMany(SplitList)] : [.. WorkloadCatalog.Names],
                Allocators = parse.GetValue(allocators) is { Length: > 0 } a ? [.. a.SelectMany(SplitList)] : [.. AllocatorCatalog.Names],
                Repeats = Math.Max(1, parse.GetValue(repeats)),
                JsonFile = parse.GetValue(json),
                SvgFile = parse.GetValue(svg),
            };
            return new BenchOrchestrator(options, Console.Out).Run();
        });
        return command;
    }

    private static IEnumerable<string> SplitList(string value) =>
        value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
