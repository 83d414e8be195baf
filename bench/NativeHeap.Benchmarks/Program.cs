// BenchmarkDotNet entry point: `dotnet run -c Release --project bench/NativeHeap.Benchmarks -- --filter '*'`.
// Benchmarks are grouped by component in sub-folders; peers are loaded at run time with NativeLibrary.
// `-- --lockfree` runs the timed multi-threaded harness of the lock-free heap instead (LockFree/).
using BenchmarkDotNet.Running;

if (args.Length > 0 && args[0] == "--lockfree")
{
    return NativeHeap.Benchmarks.LockFree.LockFreeThroughput.Run(args[1..]);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
