using System.CommandLine;
using NativeHeap.Cli.Bench;
using NativeHeap.Workloads.Allocators;
using NativeHeap.Workloads.Measurement;
using NativeHeap.Workloads.Workloads;

namespace NativeHeap.Cli.Commands;

/// <summary>
/// <c>nheap bench-run</c> (hidden): the child process of <c>nheap bench</c>. Runs one workload on one
/// allocator in a fresh process and prints one <see cref="RunRecord"/> line.
/// </summary>
internal static class BenchRunCommand
{
    internal static Command Create()
    {
        var workload = new Option<string>("--workload") { Description = "Workload name", Required = true };
        var allocator = new Option<string>("--allocator") { Description = "Allocator name", Required = true };
        var size = new Option<BenchSize>("--size") { Description = "Tiny, Quick or Full", DefaultValueFactory = _ => BenchSize.Quick };
        var command = new Command("bench-run", "Run one workload on one allocator in this process (used by `nheap bench`)") { Hidden = true };
        command.Options.Add(workload);
        command.Options.Add(allocator);
        command.Options.Add(size);
        command.SetAction(parse =>
        {
            string workloadName = parse.GetValue(workload)!;
            string allocatorName = parse.GetValue(allocator)!;
            BenchSize benchSize = parse.GetValue(size);
            if (!SelfProcess.HasJemallocTunables)
            {
                return SelfProcess.ReExecWithTunables(["bench-run", "--workload", workloadName, "--allocator", allocatorName, "--size", benchSize.ToString()]);
            }
            Workload? w = WorkloadCatalog.Find(workloadName, benchSize);
            RunRecord record;
            if (w is null)
            {
                record = new RunRecord { Workload = workloadName, Allocator = allocatorName, Error = "unknown workload" };
            }
            else if (!AllocatorCatalog.TryGet(allocatorName, out AllocatorBinding? binding, out string reason))
            {
                record = new RunRecord { Workload = workloadName, Allocator = allocatorName, Error = reason };
            }
            else
            {
                try
                {
                    record = MeasuredRun.Execute(binding!, w);
                }
                catch (Exception e)
                {
                    record = new RunRecord { Workload = workloadName, Allocator = allocatorName, Error = $"{e.GetType().Name}: {e.Message}" };
                }
            }
            Console.WriteLine(record.ToLine());
            return record.Error is null ? 0 : 1;
        });
        return command;
    }
}
