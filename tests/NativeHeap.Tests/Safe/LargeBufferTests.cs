using NativeHeap.Safe;

namespace NativeHeap.Tests.Safe;

/// <summary>Blocks above 2 GiB: reached through long offsets and windows, never through an int-length span.</summary>
[Collection("Serial")]
public class LargeBufferTests
{
    private const long ThreeGiB = 3L << 30;

    [Fact]
    public void ABlockAbove2GiBIsReachableThroughLongOffsets()
    {
        // Zeroed huge blocks come straight from mmap: only the pages written below become resident.
        NativeBuffer<byte> big = NativeBuffer.Allocate<byte>(ThreeGiB, zeroed: true);
        Assert.Equal(ThreeGiB, big.LongLength);
        Assert.Throws<InvalidOperationException>(() => big.Span.Length);
        Assert.Throws<InvalidOperationException>(() => big.Length);
        Assert.Throws<InvalidOperationException>(() => big.Memory.Length);

        long far = (5L << 29) + 12345;                     // 2.5 GiB + a bit
        big.GetSpan(far, 4).Fill(0xAB);
        big.GetSpan(ThreeGiB - 1, 1)[0] = 0xCD;
        Memory<byte> window = big.Slice(far - 2, 8);           // a Memory<byte> past 2^31
        Assert.Equal(new byte[] { 0, 0, 0xAB, 0xAB, 0xAB, 0xAB, 0, 0 }, window.ToArray());
        using (System.Buffers.MemoryHandle pin = window.Pin())
        {
            unsafe { Assert.Equal(0xAB, ((byte*)pin.Pointer)[2]); }
        }
        Assert.Equal(0xCD, big.GetSpan(ThreeGiB - 1, 1)[0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => big.GetSpan(ThreeGiB - 1, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => big.Slice(-1, 2));

        // A stream over the block seeks and reads past 2 GiB.
        using (var stream = new NativeBufferStream(big, big.LongLength, writable: true))
        {
            stream.Position = far;
            var four = new byte[4];
            Assert.Equal(4, stream.Read(four));
            Assert.Equal(new byte[] { 0xAB, 0xAB, 0xAB, 0xAB }, four);
            stream.Seek(-1, SeekOrigin.End);
            Assert.Equal(0xCD, stream.ReadByte());
            Assert.Equal(-1, stream.ReadByte());
            Assert.Throws<NotSupportedException>(() => stream.Write(new byte[1]));   // a caller's buffer does not grow
        }

        ((IDisposable)big).Dispose();
        Assert.Throws<ObjectDisposedException>(() => window.Span.Length);
        Assert.Throws<ObjectDisposedException>(() => big.GetSpan(far, 4).Length);
    }

    [Fact]
    public void TypedBlockWithMoreThanIntMaxElements()
    {
        long count = (long)int.MaxValue + 1000;                     // 2^31 + 999 shorts (4 GiB)
        using NativeBuffer<short> shorts = NativeBuffer.Allocate<short>(count, zeroed: true);
        shorts.GetSpan(count - 1, 1)[0] = -7;
        Assert.Equal(-7, shorts.Slice(count - 10, 10).Span[9]);
        Assert.Equal(0, shorts.GetSpan(0, 1)[0]);
    }
}
