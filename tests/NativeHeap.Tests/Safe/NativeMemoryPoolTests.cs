using System.Buffers;
using NativeHeap.Safe;

namespace NativeHeap.Tests.Safe;

public unsafe class NativeMemoryPoolTests
{
    [Theory]
    [MemberData(nameof(SafeTestHeaps.Names), MemberType = typeof(SafeTestHeaps))]
    public void RentedBuffersWorkOnEveryHeapAndFreeOnDispose(string name)
    {
        INativeHeap heap = SafeTestHeaps.Create(name);
        try
        {
            using var pool = new NativeMemoryPool(heap);
            IMemoryOwner<byte> a = pool.Rent();
            IMemoryOwner<byte> b = pool.Rent(10_000);
            Assert.Equal(NativeMemoryPool.DefaultBufferSize, a.Memory.Length);
            Assert.Equal(10_000, b.Memory.Length);
            a.Memory.Span.Fill(1);
            b.Memory.Span.Fill(2);
            Assert.True(a.Memory.Span.IndexOfAnyExcept((byte)1) < 0);
            Assert.Equal(2, pool.OutstandingCount);
            a.Dispose();
            b.Dispose();
            Assert.Equal(0, pool.OutstandingCount);
            Assert.Equal(2, pool.RentedCount);
        }
        finally
        {
            SafeTestHeaps.Dispose(heap);
        }
    }

    [Fact]
    public void UseAfterDisposeAndDoubleDisposeThrowObjectDisposed()
    {
        IMemoryOwner<byte> owner = NativeMemoryPool.Shared.Rent(256);
        Memory<byte> memory = owner.Memory;
        Memory<byte> slice = memory[10..20];
        owner.Dispose();
        Assert.Throws<ObjectDisposedException>(() => owner.Memory);
        Assert.Throws<ObjectDisposedException>(() => memory.Span.Length);
        Assert.Throws<ObjectDisposedException>(() => slice.Span.Length);
        Assert.Throws<ObjectDisposedException>(() => memory.Pin());
        Assert.Throws<ObjectDisposedException>(() => owner.Dispose());
        Assert.True(((NativeBuffer<byte>)owner).IsDisposed);
    }

    [Fact]
    public void APinnedBufferStaysAllocatedUntilTheLastUnpin()
    {
        using var pool = new NativeMemoryPool(GeneralHeap.Instance);
        IMemoryOwner<byte> owner = pool.Rent(64);
        owner.Memory.Span.Fill(7);
        MemoryHandle pin = owner.Memory.Pin();
        owner.Dispose();                                         // deferred: still pinned
        Assert.Equal(1, pool.OutstandingCount);
        Assert.Equal(7, *(byte*)pin.Pointer);                    // the pinned memory is still the buffer's
        Assert.True(Heap.UsableSize(pin.Pointer) >= 64);
        Assert.Throws<ObjectDisposedException>(() => owner.Memory.Pin());
        pin.Dispose();                                           // last unpin frees
        Assert.Equal(0, pool.OutstandingCount);
    }

    [Fact]
    public void ADisposedPoolRentsNothingButItsBuffersStayValid()
    {
        var pool = new NativeMemoryPool(GeneralHeap.Instance);
        IMemoryOwner<byte> owner = pool.Rent(100);
        pool.Dispose();
        Assert.Throws<ObjectDisposedException>(() => pool.Rent(100));
        owner.Memory.Span.Fill(3);
        owner.Dispose();
        NativeMemoryPool.Shared.Dispose();                       // the shared pool ignores Dispose
        NativeMemoryPool.Shared.Rent(8).Dispose();
    }

    [Fact]
    public void BadSizesAreRefusedAndOutOfMemoryIsAnException()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => NativeMemoryPool.Shared.Rent(-2));
        Assert.Throws<ArgumentOutOfRangeException>(() => NativeBuffer.Allocate<long>(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => NativeBuffer.Allocate<long>(long.MaxValue / 4));
        using var lf = new NativeHeap.LockFree.LockFreeHeap(64 << 10);       // no mmap: nothing above 64 KiB
        using var pool = new NativeMemoryPool(lf);
        Assert.Throws<OutOfMemoryException>(() => pool.Rent(1 << 20));
        Assert.Equal(0, pool.RentedCount);
    }

    [Fact]
    public void RentingKeepsTheBytesOffTheGcHeap()
    {
        var pool = NativeMemoryPool.Shared;
        pool.Rent(64 << 10).Dispose();                           // warm up (thread cache, JIT)
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            IMemoryOwner<byte> o = pool.Rent(64 << 10);
            o.Memory.Span[0] = 1;
            o.Dispose();
        }
        long managed = GC.GetAllocatedBytesForCurrentThread() - before;
        // 1000 × 64 KiB = 64 MiB of buffers; the GC heap sees only the owner objects.
        Assert.True(managed < 1000 * 128, $"{managed} managed bytes for 1000 rents");
    }

    [Fact]
    public void TypedBuffersGiveSpansOfT()
    {
        using NativeBuffer<long> longs = NativeBuffer.Allocate<long>(1000, zeroed: true);
        Assert.Equal(1000, longs.Span.Length);
        Assert.True(longs.Span.IndexOfAnyExcept(0L) < 0);
        for (int i = 0; i < longs.Length; i++) longs.Span[i] = i * 3L;
        Assert.Equal(999 * 3L, longs.Span[^1]);
        Memory<long> m = longs.Slice(500, 10);
        Assert.Equal(1500L, m.Span[0]);
        using NativeBuffer<Guid> guids = new NativeMemoryPool(GeneralHeap.Instance).Allocate<Guid>(4);
        guids.Span[3] = Guid.Empty;
        Assert.Equal(4, guids.Length);
    }
}
