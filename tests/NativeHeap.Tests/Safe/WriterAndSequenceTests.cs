using System.Buffers;
using NativeHeap.Mapped;
using NativeHeap.Safe;

namespace NativeHeap.Tests.Safe;

public class WriterAndSequenceTests
{
    private static byte[] Data(int n, int seed)
    {
        var b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }

    [Theory]
    [MemberData(nameof(SafeTestHeaps.Names), MemberType = typeof(SafeTestHeaps))]
    public void WriterKeepsEverythingWrittenWhileGrowing(string name)
    {
        INativeHeap heap = SafeTestHeaps.Create(name);
        try
        {
            byte[] data = Data(3 << 20, 1);
            using var w = new NativeBufferWriter(heap, 100);
            for (int at = 0; at < data.Length;)
            {
                int n = Math.Min(data.Length - at, 1000 + at % 7000);
                Span<byte> s = w.GetSpan(n);
                data.AsSpan(at, n).CopyTo(s);
                w.Advance(n);
                at += n;
            }
            Assert.Equal(data.Length, w.WrittenCount);
            Assert.True(w.WrittenSpan.SequenceEqual(data));
            Assert.True(w.GrowthsInPlace + w.Moves > 0);
            Assert.Throws<InvalidOperationException>(() => w.Advance((int)w.FreeCapacity + 1));
            Assert.Throws<ArgumentException>(() => w.Advance(-1));
        }
        finally
        {
            SafeTestHeaps.Dispose(heap);
        }
    }

    [Fact]
    public void WriterGrowsInPlaceWhereTheHeapCan()
    {
        // A fresh mapped heap: the writer's block is followed by free space, so growth is in place.
        Assert.True(MappedHeap.TryAttachAnonymous(new MappedHeapOptions { MaxSize = 64 << 20 }, out MappedHeap? heap, out MappedHeapFailure f), f.ToString());
        using (heap)
        {
            using var w = new NativeBufferWriter(heap!, 4096);
            Memory<byte> first = w.GetMemory(100);
            first.Span[0] = 42;
            w.Advance(100);
            w.GetSpan(256 << 10);                                // needs a larger block (the initial 1 MiB region has room after it)
            Assert.Equal(1, w.GrowthsInPlace);
            Assert.Equal(0, w.Moves);
            Assert.Equal(42, first.Span[0]);                     // grown in place: earlier memory is still the block
        }
    }

    [Fact]
    public void AMoveRevokesMemoryHandedOutBefore()
    {
        using var lf = new NativeHeap.LockFree.LockFreeHeap(4 << 20);          // cannot resize in place: every growth moves
        using var w = new NativeBufferWriter(lf, 64);
        Memory<byte> before = w.GetMemory(10);
        w.Advance(10);
        w.GetMemory(10_000);
        Assert.Equal(1, w.Moves);
        Assert.Throws<ObjectDisposedException>(() => before.Span.Length);
        w.Dispose();
        w.Dispose();                                                // as for streams: the second Dispose does nothing
        Assert.Throws<ObjectDisposedException>(() => w.GetSpan());
    }

    [Fact]
    public void SequenceBuilderHandsOutTheSegmentsWithoutCopying()
    {
        byte[] data = Data(100_000, 2);
        using var pool = new NativeMemoryPool(GeneralHeap.Instance);
        var builder = new NativeSequenceBuilder(pool, segmentSize: 8192);
        builder.Write(data.AsSpan(0, 50_000));
        Memory<byte> m = builder.GetMemory(20_000);                 // a hint larger than a segment
        data.AsSpan(50_000, 20_000).CopyTo(m.Span);
        builder.Advance(20_000);
        builder.Write(data.AsSpan(70_000));
        ReadOnlySequence<byte> seq = builder.Build();
        Assert.Equal(data.Length, seq.Length);
        Assert.False(seq.IsSingleSegment);
        Assert.Equal(data, seq.ToArray());
        Assert.Equal(builder.SegmentCount, pool.OutstandingCount);
        SequencePosition at = seq.GetPosition(60_000);
        Assert.Equal(data[60_000], seq.Slice(at, 1).FirstSpan[0]);
        builder.Dispose();
        Assert.Equal(0, pool.OutstandingCount);
        Assert.Throws<ObjectDisposedException>(() => seq.FirstSpan.Length);
        Assert.Throws<ObjectDisposedException>(() => builder.GetSpan());
        Assert.True(new NativeSequenceBuilder().Build().IsEmpty);
    }

    [Fact]
    public void StreamGrowsAndRoundTripsThroughCopyTo()
    {
        byte[] data = Data(1 << 20, 3);
        using var s = new NativeBufferStream(capacity: 1000);
        s.Write(data, 0, 300_000);
        s.Write(data.AsSpan(300_000));
        Assert.Equal(data.Length, s.Length);
        Assert.True(s.Capacity >= data.Length);
        s.Position = 0;
        var copy = new MemoryStream();
        s.CopyTo(copy);
        Assert.Equal(data, copy.ToArray());
        s.Position = s.Length + 10;                                 // a gap reads as zeros
        s.WriteByte(9);
        s.Position = data.Length;
        var tail = new byte[11];
        Assert.Equal(11, s.Read(tail));
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9 }, tail);
        s.SetLength(10);
        Assert.Equal(10, s.Position);
        s.Dispose();
        s.Dispose();
        Assert.Throws<ObjectDisposedException>(() => s.Length);
        Assert.False(s.CanRead);
    }

    [Fact]
    public async Task StreamWorksWithAsyncCopies()
    {
        byte[] data = Data(200_000, 4);
        using var source = new NativeBufferStream();
        await source.WriteAsync(data);
        source.Position = 0;
        using var target = new NativeBufferStream(16);
        await source.CopyToAsync(target);
        Assert.True(target.Buffer.GetSpan(0, data.Length).SequenceEqual(data));
    }
}
