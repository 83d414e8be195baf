using System.Buffers;
using System.IO.Pipelines;
using System.Security.Cryptography;
using NativeHeap.Safe;

namespace NativeHeap.Tests.Safe;

/// <summary>System.IO.Pipelines over native memory: PipeOptions(pool: NativeMemoryPool).</summary>
public class PipelineTests
{
    [Theory]
    [MemberData(nameof(SafeTestHeaps.Names), MemberType = typeof(SafeTestHeaps))]
    public async Task APipeMovesDataThroughNativeSegmentsAndReturnsThemAll(string name)
    {
        INativeHeap heap = SafeTestHeaps.Create(name);
        try
        {
            var pool = new NativeMemoryPool(heap);
            var pipe = new Pipe(new PipeOptions(pool: pool, minimumSegmentSize: 4096, useSynchronizationContext: false,
                pauseWriterThreshold: 256 << 10, resumeWriterThreshold: 128 << 10));
            var rng = new Random(5);
            byte[] data = new byte[4 << 20];
            rng.NextBytes(data);

            Task writer = Task.Run(async () =>
            {
                for (int at = 0; at < data.Length;)
                {
                    int n = Math.Min(data.Length - at, 1 + at % 9000);
                    Memory<byte> m = pipe.Writer.GetMemory(n);
                    data.AsMemory(at, n).CopyTo(m);
                    pipe.Writer.Advance(n);
                    at += n;
                    if (at % 3 == 0) await pipe.Writer.FlushAsync();
                }
                await pipe.Writer.FlushAsync();
                await pipe.Writer.CompleteAsync();
            });

            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long total = 0;
            while (true)
            {
                ReadResult r = await pipe.Reader.ReadAsync();
                foreach (ReadOnlyMemory<byte> seg in r.Buffer) hash.AppendData(seg.Span);
                total += r.Buffer.Length;
                pipe.Reader.AdvanceTo(r.Buffer.End);
                if (r.IsCompleted) break;
            }
            await pipe.Reader.CompleteAsync();
            await writer;

            Assert.Equal(data.Length, total);
            Assert.Equal(SHA256.HashData(data), hash.GetHashAndReset());
            Assert.True(pool.RentedCount > 0, "the pipe did not use the pool");
            Assert.Equal(0, pool.OutstandingCount);               // every segment went back to the heap
        }
        finally
        {
            SafeTestHeaps.Dispose(heap);
        }
    }
}
