using System.CommandLine;
using NativeHeap.Cli.Bench;
using NativeHeap.Workloads.Allocators;
using NativeHeap.Workloads.Measurement;
using NativeHeap.Workloads.Workloads;

namespace NativeHeap.Cli.Commands;

/// <summary>
/// <c>nheap bench-run</c> (hidden): the child process of <c>nheap bench</c>. Runs one or more workloads,
/// one after the other, on one allocator and prints one <see cref="RunRecord"/> line per workload.
/// </summary>
internal static class BenchRunCommand
{
    internal static Command Create()
    {
        var workload = new Option<string[]>("--workload")
        {
            Description = "Workload names, run one after the other",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var allocator = new Option<string>("--allocator") { Description = "Allocator name", Required = true };
        var size = new Option<BenchSize>("--size") { Description = "Tiny, Quick or Full", DefaultValueFactory = _ => BenchSize.Quick };
        var command = new Command("bench-run", "Run workloads on one allocator in this process (used by `nheap bench`)") { Hidden = true };
        command.Options.Add(workload);
        command.Options.Add(allocator);
        command.Options.Add(size);
        command.SetAction(parse =>
        {
            string[] workloadNames = [.. parse.GetValue(workload)!.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries))];
            string allocatorName = parse.GetValue(allocator)!;
            BenchSize benchSize = parse.GetValue(size);
            if (!SelfProcess.HasJemallocTunables)
            {
                return SelfProcess.ReExecWithTunables(["bench-run", "--workload", string.Join(',', workloadNames), "--allocator", allocatorName, "--size", benchSize.ToString()]);
            }
            bool ok = true;
            foreach (string workloadName in workloadNames)
            {
                RunRecord record = RunOne(workloadName, allocatorName, benchSize);
                Console.WriteLine(record.ToLine());
                ok &= record.Error is null;
            }
            return ok ? 0 : 1;
        });
        return command;
    }

    private static RunRecord RunOne(string workloadName, string allocatorName, BenchSize size)
    {
        Workload? w = WorkloadCatalog.Find(workloadName, size);
        if (w is null)
        {
            return new RunRecord { Workload = workloadName, Allocator = allocatorName, Error = "unknown workload" };
        }
        if (!AllocatorCatalog.TryGet(allocatorName, out AllocatorBinding? binding, out string reason))
        {
            return new RunRecord { Workload = workloadName, Allocator = allocatorName, Error = reason };
        }
        try
        {
            return MeasuredRun.Execute(binding!, w);
        }
        catch (Exception e)
        {
            return new RunRecord { Workload = workloadName, Allocator = allocatorName, Error = $"{e.GetType().Name}: {e.Message}" };
        }
    }
}
