// PoolBenchmarks: the safe layer against the BCL's pools, same process, same job.
//  - Rent: rent a 4 KiB buffer, touch it, dispose it (one op). The pool's own cost.
//  - PipeRoundTrip: 1 MiB through a System.IO.Pipelines Pipe in 4 KiB writes, read back and
//    consumed (one op = 1 MiB), with PipeOptions(pool: ...). What a pipeline pays per MiB.
// [MemoryDiagnoser] reports managed bytes allocated and GCs per op: buffers from NativeMemoryPool
// are native, so only the owner objects (and the pipe's own bookkeeping) are managed.
//   dotnet run -c Release --project bench/NativeHeap.Benchmarks -- --filter '*PoolBenchmarks*'
using System.Buffers;
using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using NativeHeap.Safe;

namespace NativeHeap.Benchmarks.Safe;

/// <summary>NativeMemoryPool vs MemoryPool&lt;byte&gt;.Shared vs ArrayPool&lt;byte&gt;.Shared.</summary>
[MemoryDiagnoser]
[BenchmarkCategory("Safe", "Pool")]
public class PoolBenchmarks
{
    private const int Chunk = 4096;
    private const int PipeBytes = 1 << 20;
    private MemoryPool<byte> _pool = null!;
    private Pipe _pipe = null!;

    /// <summary>native = NativeMemoryPool.Shared; memorypool = MemoryPool&lt;byte&gt;.Shared; arraypool = ArrayPool&lt;byte&gt;.Shared behind a MemoryPool.</summary>
    [Params("native", "memorypool", "arraypool")]
    public string Pool { get; set; } = "";

    /// <summary>Picks the pool and builds the pipe.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _pool = Pool switch
        {
            "native" => NativeMemoryPool.Shared,
            "memorypool" => MemoryPool<byte>.Shared,
            "arraypool" => ArrayPoolMemoryPool.Instance,
            _ => throw new ArgumentException(Pool),
        };
        _pipe = new Pipe(new PipeOptions(pool: _pool, minimumSegmentSize: Chunk, pauseWriterThreshold: 0, useSynchronizationContext: false));
    }

    /// <summary>Rent 4 KiB, write one byte, dispose.</summary>
    [Benchmark]
    public byte Rent()
    {
        using IMemoryOwner<byte> owner = _pool.Rent(Chunk);
        Span<byte> s = owner.Memory.Span;
        s[0] = 1;
        return s[0];
    }

    /// <summary>1 MiB through the pipe in 4 KiB writes, then read and consumed.</summary>
    [Benchmark(OperationsPerInvoke = 1)]
    public long PipeRoundTrip()
    {
        PipeWriter w = _pipe.Writer;
        for (int i = 0; i < PipeBytes / Chunk; i++)
        {
            Span<byte> s = w.GetSpan(Chunk);
            s[..Chunk].Fill((byte)i);
            w.Advance(Chunk);
        }
        ValueTask<FlushResult> flush = w.FlushAsync();
        if (!flush.IsCompleted) flush.AsTask().GetAwaiter().GetResult();
        long total = 0, check = 0;
        PipeReader r = _pipe.Reader;
        while (total < PipeBytes)
        {
            if (!r.TryRead(out ReadResult result)) throw new InvalidOperationException("pipe empty");
            foreach (ReadOnlyMemory<byte> m in result.Buffer)
            {
                total += m.Length;
                check += m.Span[^1];
            }
            r.AdvanceTo(result.Buffer.End);
        }
        return total + check;
    }

    /// <summary>ArrayPool&lt;byte&gt;.Shared as a MemoryPool (what a pipeline gets with pooled arrays and an owner per rent).</summary>
    private sealed class ArrayPoolMemoryPool : MemoryPool<byte>
    {
        public static readonly ArrayPoolMemoryPool Instance = new();

        public override int MaxBufferSize => Array.MaxLength;

        public override IMemoryOwner<byte> Rent(int minBufferSize = -1) => new Owner(ArrayPool<byte>.Shared.Rent(minBufferSize < 0 ? 4096 : minBufferSize));

        protected override void Dispose(bool disposing) { }

        private sealed class Owner(byte[] array) : IMemoryOwner<byte>
        {
            private byte[]? _array = array;

            public Memory<byte> Memory => _array ?? throw new ObjectDisposedException(nameof(Owner));

            public void Dispose()
            {
                byte[]? a = Interlocked.Exchange(ref _array, null);
                if (a != null) ArrayPool<byte>.Shared.Return(a);
            }
        }
    }
}
