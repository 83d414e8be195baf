// NativeMemoryPool: MemoryPool<byte> over a native heap. Each Rent is one heap allocation (served from
// the heap's thread cache on the general heap and on kinds), wrapped in a NativeBuffer<byte> that
// frees it on Dispose. Nothing is kept in the pool itself: the heap is the pool. The only managed
// allocation per Rent is the small owner object (there is no safe way to recycle owners: a stale
// Memory<byte> would then reach a live block of someone else instead of throwing).
using System.Buffers;

namespace NativeHeap.Safe;

/// <summary>
/// A <see cref="MemoryPool{T}"/> of native memory: rented buffers live outside the GC heap, in the
/// general heap (<see cref="Shared"/>), a memory kind, a mapped heap or a lock-free heap. Use it
/// wherever a <see cref="MemoryPool{T}"/> is accepted, e.g. <c>new PipeOptions(pool: NativeMemoryPool.Shared)</c>.
/// </summary>
/// <remarks>
/// <para>Each rented <see cref="IMemoryOwner{T}"/> is a <see cref="NativeBuffer{T}"/>: dispose it to
/// free the block. Using its memory after Dispose, or disposing it twice, throws
/// <see cref="ObjectDisposedException"/> and never touches freed memory.</para>
/// <para>A rented buffer's <see cref="Memory{T}.Length"/> is exactly the size asked for
/// (<see cref="DefaultBufferSize"/> for -1). <see cref="Rent"/> throws <see cref="OutOfMemoryException"/>
/// when the heap cannot serve the request (as <see cref="System.Buffers.ArrayPool{T}"/> does).
/// Disposing the pool stops further rents (<see cref="ObjectDisposedException"/>); buffers already
/// rented stay valid until disposed. <see cref="Shared"/> ignores Dispose.</para>
/// </remarks>
public sealed class NativeMemoryPool : MemoryPool<byte>
{
    /// <summary>The size of a buffer rented with the default argument (-1): 4 KiB, as MemoryPool&lt;byte&gt;.Shared.</summary>
    public const int DefaultBufferSize = 4096;

    private readonly INativeHeap _heap;
    private readonly int _defaultBufferSize;
    private readonly bool _shared;
    private long _rented;
    private long _returned;
    private volatile bool _disposed;

    /// <summary>A pool over <paramref name="heap"/>.</summary>
    /// <param name="heap">The heap rented buffers come from (e.g. <see cref="GeneralHeap.Instance"/>, a <see cref="Kinds.MemoryKind"/>, a <see cref="Mapped.MappedHeap"/>, a <see cref="LockFree.LockFreeHeap"/>).</param>
    /// <param name="defaultBufferSize">The size of a buffer rented with -1 (at least 1).</param>
    /// <exception cref="ArgumentNullException"><paramref name="heap"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="defaultBufferSize"/> is less than 1.</exception>
    public NativeMemoryPool(INativeHeap heap, int defaultBufferSize = DefaultBufferSize)
        : this(heap, defaultBufferSize, shared: false)
    {
    }

    private NativeMemoryPool(INativeHeap heap, int defaultBufferSize, bool shared)
    {
        ArgumentNullException.ThrowIfNull(heap);
        ArgumentOutOfRangeException.ThrowIfLessThan(defaultBufferSize, 1);
        _heap = heap;
        _defaultBufferSize = defaultBufferSize;
        _shared = shared;
        HeapMetrics.Observe(this);      // nativeheap.pool.rented / .outstanding (weakly referenced)
    }

    /// <summary>The process-wide pool over the general heap (<see cref="GeneralHeap.Instance"/>); its Dispose does nothing.</summary>
    public static new NativeMemoryPool Shared { get; } = new(GeneralHeap.Instance, DefaultBufferSize, shared: true);

    /// <summary>The heap rented buffers come from.</summary>
    public INativeHeap Heap => _heap;

    /// <summary>The largest buffer <see cref="Rent"/> hands out: <see cref="int.MaxValue"/> bytes (use <see cref="Allocate{T}"/> for more).</summary>
    public override int MaxBufferSize => int.MaxValue;

    /// <summary>Buffers rented (or allocated) from this pool so far.</summary>
    public long RentedCount => Volatile.Read(ref _rented);

    /// <summary>Buffers rented from this pool that are not yet freed (disposed and unpinned).</summary>
    public long OutstandingCount => Volatile.Read(ref _rented) - Volatile.Read(ref _returned);

    /// <summary>Rents a native buffer of exactly <paramref name="minBufferSize"/> bytes (<see cref="DefaultBufferSize"/> for -1).</summary>
    /// <returns>A <see cref="NativeBuffer{T}"/> of bytes; dispose it to free the block.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="minBufferSize"/> is less than -1.</exception>
    /// <exception cref="OutOfMemoryException">The heap cannot serve the request.</exception>
    /// <exception cref="ObjectDisposedException">The pool or its heap has been disposed.</exception>
    public override IMemoryOwner<byte> Rent(int minBufferSize = -1) => RentBuffer(minBufferSize);

    /// <summary>As <see cref="Rent"/>, typed as the <see cref="NativeBuffer{T}"/> it returns.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="minBufferSize"/> is less than -1.</exception>
    /// <exception cref="OutOfMemoryException">The heap cannot serve the request.</exception>
    /// <exception cref="ObjectDisposedException">The pool or its heap has been disposed.</exception>
    public NativeBuffer<byte> RentBuffer(int minBufferSize = -1)
    {
        if (minBufferSize == -1) minBufferSize = _defaultBufferSize;
        ArgumentOutOfRangeException.ThrowIfNegative(minBufferSize);
        return Allocate<byte>(minBufferSize);
    }

    /// <summary>
    /// Allocates <paramref name="count"/> elements of <typeparamref name="T"/> from the pool's heap,
    /// counted like a rent; the count may exceed <see cref="int.MaxValue"/> (see <see cref="NativeBuffer{T}"/>).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative or too large.</exception>
    /// <exception cref="OutOfMemoryException">The heap cannot serve the request.</exception>
    /// <exception cref="ObjectDisposedException">The pool or its heap has been disposed.</exception>
    public NativeBuffer<T> Allocate<T>(long count, bool zeroed = false) where T : unmanaged
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        NativeBuffer<T> b = NativeBuffer.AllocateCore<T>(count, _heap, zeroed, this);
        Interlocked.Increment(ref _rented);
        return b;
    }

    internal void OnReturned() => Interlocked.Increment(ref _returned);

    /// <summary>Stops further rents (buffers already rented stay valid); does nothing for <see cref="Shared"/>.</summary>
    protected override void Dispose(bool disposing)
    {
        if (!_shared) _disposed = true;
    }
}
