// BenchmarkDotNet entry point: `dotnet run -c Release --project bench/NativeHeap.Benchmarks -- --filter '*'`.
// Benchmarks are grouped by component in sub-folders; peers are loaded at run time with NativeLibrary.
// `-- --corev2` runs core v2's interleaved comparison with the peers (Sharded/CoreV2Harness.cs).
// `-- --lockfree` runs the timed multi-threaded harness of the lock-free heap instead (LockFree/).
// jemalloc only loads into processes started with GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384:
// without it the host starts itself again with it (BenchmarkDotNet's children inherit it).
using System.Diagnostics;
using BenchmarkDotNet.Running;
using NativeHeap.Workloads.Allocators;

string tunables = Environment.GetEnvironmentVariable("GLIBC_TUNABLES") ?? "";
if (!tunables.Contains("optional_static_tls", StringComparison.Ordinal) && Environment.ProcessPath is string self)
{
    var info = new ProcessStartInfo(self) { UseShellExecute = false };
    if (Path.GetFileNameWithoutExtension(self) == "dotnet")
    {
        info.ArgumentList.Add(typeof(Program).Assembly.Location);
    }
    foreach (string arg in args)
    {
        info.ArgumentList.Add(arg);
    }
    info.Environment["GLIBC_TUNABLES"] = tunables.Length == 0 ? PeerBinding.JemallocTunables : tunables + ":" + PeerBinding.JemallocTunables;
    using Process child = Process.Start(info)!;
    child.WaitForExit();
    return child.ExitCode;
}

if (args.Length > 0 && args[0] == "--corev2")
{
    return NativeHeap.Benchmarks.Sharded.CoreV2Harness.Run(args[1..]);
}
if (args.Length > 0 && args[0] == "--free-checks-ab") return NativeHeap.Benchmarks.General.FreeChecksAb.Run(args[1..]);
if (args.Length > 0 && args[0] == "--free-checks-child") return NativeHeap.Benchmarks.General.FreeChecksAb.Child();
if (args.Length > 0 && args[0] == "--prof-ab") return NativeHeap.Benchmarks.General.ProfilingAb.Run(args[1..]);
if (args.Length > 0 && args[0] == "--prof-child") return NativeHeap.Benchmarks.General.ProfilingAb.Child();

if (args.Length > 0 && args[0] == "--lockfree")
{
    return NativeHeap.Benchmarks.LockFree.LockFreeThroughput.Run(args[1..]);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
