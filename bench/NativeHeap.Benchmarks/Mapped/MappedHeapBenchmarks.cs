// MappedHeapBenchmarks: allocation + free throughput on a file-backed MappedHeap, against libpmemobj
// on a pool file in the same directory and against plain in-process malloc (NativeMemory), in one run.
// Each invocation allocates a batch of 1,000 blocks of Size bytes, then frees them; the figure is per
// alloc+free pair. Run: dotnet run -c Release --project bench/NativeHeap.Benchmarks -- --filter '*MappedHeapBenchmarks*' --job short
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using NativeHeap.Benchmarks.Peers;
using NativeHeap.Mapped;

namespace NativeHeap.Benchmarks.Mapped;

[MemoryDiagnoser(false)]
public unsafe class MappedHeapBenchmarks
{
    private const int Batch = 1000;

    [Params(64, 256, 4096)]
    public int Size { get; set; }

    private string _dir = "";
    private MappedHeap? _heap;
    private PmemobjPeer? _pmem;
    private nint* _ptrs;
    private PmemOid* _oids;

    [GlobalSetup]
    public void Setup()
    {
        _dir = Directory.CreateTempSubdirectory("nheap-bench-mapped-").FullName;
        if (!MappedHeap.TryAttach(Path.Combine(_dir, "bench.heap"), new MappedHeapOptions { MaxSize = 256L << 20, InitialSize = 16L << 20 }, out _heap, out MappedHeapFailure f))
            throw new InvalidOperationException(f.ToString());
        if (!PmemobjPeer.TryCreate(Path.Combine(_dir, "bench.pool"), 256L << 20, out _pmem, out string reason))
            Console.WriteLine("libpmemobj benchmark skipped: " + reason);
        _ptrs = (nint*)NativeMemory.Alloc(Batch, (nuint)sizeof(nint));
        _oids = (PmemOid*)NativeMemory.AllocZeroed(Batch, (nuint)sizeof(PmemOid));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _heap?.Dispose();
        _pmem?.Dispose();
        NativeMemory.Free(_ptrs);
        NativeMemory.Free(_oids);
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>MappedHeap on a heap file (MAP_SHARED, crash-ordered stores, no msync per operation).</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public void MappedHeapFile()
    {
        MappedHeap heap = _heap!;
        nuint size = (nuint)Size;
        for (int i = 0; i < Batch; i++) _ptrs[i] = (nint)heap.Allocate(size);
        for (int i = 0; i < Batch; i++) heap.TryFree((void*)_ptrs[i]);
    }

    /// <summary>libpmemobj on a pool file: pmemobj_alloc / pmemobj_free (each one a failure-atomic action).</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public void Pmemobj()
    {
        PmemobjPeer? pmem = _pmem;
        if (pmem == null) return;
        nuint size = (nuint)Size;
        for (int i = 0; i < Batch; i++) pmem.TryAlloc(size, &_oids[i]);
        for (int i = 0; i < Batch; i++) pmem.Free(&_oids[i]);
    }

    /// <summary>The in-process baseline: glibc malloc/free through NativeMemory (not persistent).</summary>
    [Benchmark(OperationsPerInvoke = Batch, Baseline = true)]
    public void InProcessMalloc()
    {
        nuint size = (nuint)Size;
        for (int i = 0; i < Batch; i++) _ptrs[i] = (nint)NativeMemory.Alloc(size);
        for (int i = 0; i < Batch; i++) NativeMemory.Free((void*)_ptrs[i]);
    }
}
