// BenchmarkDotNet entry point: `dotnet run -c Release --project bench/NativeHeap.Benchmarks -- --filter '*'`.
// Benchmarks are grouped by component in sub-folders; peers are loaded at run time with NativeLibrary.
using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
