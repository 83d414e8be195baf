// NativeBuffer<T>: one native block as a MemoryManager<T> / IMemoryOwner<T>, so Span<T>, Memory<T>,
// pipelines and streams use heap memory without `unsafe` in the caller.
//
// Terms: the *block* is the heap allocation (pointer + length in elements, possibly more than
// int.MaxValue); a *window* is a MemoryManager over [start, start + length) of a large block, so a
// Memory<T> can reach past 2^31 elements; *pins* are outstanding MemoryHandles.
// Safety rules (what "never touches freed memory" means here):
//  - Every way to reach the memory (GetSpan, Memory.Span, windows, Pin) checks the disposed bit first
//    and throws ObjectDisposedException after Dispose; a second Dispose throws it too.
//  - The block is freed when the buffer is disposed and no pin is outstanding; Dispose with pins
//    outstanding defers the free to the last Unpin (pinned memory stays valid, as with arrays).
//  - A Span<T> taken before Dispose cannot be revoked: like a span over a returned ArrayPool array,
//    it must not be used after Dispose. That is the only hole, and the compiler keeps spans off the
//    heap and out of async methods, which makes it short-lived.
//  - A heap disposed under the buffer (a detached mapped heap) makes the buffer's accessors throw
//    ObjectDisposedException; its Dispose then frees nothing (the memory went with the heap).
// _state: bit 0 = disposed, bits 1.. = pin count; changed only with Interlocked. _pointer becomes 0
// exactly once (Interlocked.Exchange), by whichever of Dispose / the last Unpin frees the block.
using System.Buffers;
using System.Runtime.CompilerServices;

namespace NativeHeap.Safe;

/// <summary>
/// A block of native memory holding <see cref="LongLength"/> elements of <typeparamref name="T"/>,
/// from any <see cref="INativeHeap"/>, usable as <see cref="Span{T}"/> and <see cref="Memory{T}"/> without
/// <c>unsafe</c> code. Create one with <see cref="NativeBuffer.Allocate{T}(long, INativeHeap?, bool)"/>
/// or rent one from a <see cref="NativeMemoryPool"/>; dispose it to free the block.
/// </summary>
/// <remarks>
/// <para>After <see cref="IDisposable.Dispose"/> every accessor (<see cref="Span"/>,
/// <see cref="GetSpan()"/>, <see cref="Memory{T}.Span"/> of any memory taken from it, <see cref="Pin"/>)
/// throws <see cref="ObjectDisposedException"/>, and so does a second Dispose. Spans obtained
/// before Dispose must not be used after it (as with a returned ArrayPool array). Pinned memory
/// stays allocated until the last pin is released.</para>
/// <para>Blocks of more than <see cref="int.MaxValue"/> elements are reached through
/// <see cref="GetSpan(long, int)"/> and <see cref="Slice(long, int)"/>; <see cref="Span"/> and
/// <see cref="MemoryManager{T}.Memory"/> of such a block throw <see cref="InvalidOperationException"/>.</para>
/// <para>The contents of a new block are undefined unless it was allocated zeroed. Not finalizable: a
/// buffer that is never disposed leaks its block (no finalizer keeps buffers out of gen1/gen2 GCs).
/// Accessors are thread-safe against each other; using a buffer while another thread disposes it is a race
/// the caller must prevent, as for any disposable.</para>
/// </remarks>
/// <typeparam name="T">An unmanaged element type.</typeparam>
public sealed unsafe class NativeBuffer<T> : MemoryManager<T> where T : unmanaged
{
    private const int Disposed = 1;
    private const int OnePin = 2;

    private readonly INativeHeap _heap;
    private readonly bool _general;          // the general heap: never disposed, freed without an interface call
    private readonly NativeMemoryPool? _pool;
    private nint _pointer;
    private long _length;
    private int _state;

    internal NativeBuffer(INativeHeap heap, void* pointer, long length, NativeMemoryPool? pool)
    {
        Debug.Assert(pointer != null && length >= 0);
        _heap = heap;
        _general = heap is GeneralHeap;
        _pointer = (nint)pointer;
        _length = length;
        _pool = pool;
    }

    /// <summary>The heap the block came from.</summary>
    public INativeHeap Heap => _heap;

    /// <summary>The number of elements (may exceed <see cref="int.MaxValue"/>).</summary>
    public long LongLength => _length;

    /// <summary>The number of elements as an <see cref="int"/>.</summary>
    /// <exception cref="InvalidOperationException">The buffer holds more than <see cref="int.MaxValue"/> elements (use <see cref="LongLength"/>).</exception>
    public int Length => _length <= int.MaxValue ? (int)_length : throw TooLarge();

    /// <summary>True once the buffer has been disposed.</summary>
    public bool IsDisposed => (Volatile.Read(ref _state) & Disposed) != 0;

    /// <summary>The whole buffer as a span (the same as <see cref="GetSpan()"/>).</summary>
    /// <exception cref="ObjectDisposedException">The buffer (or its heap) has been disposed.</exception>
    /// <exception cref="InvalidOperationException">The buffer holds more than <see cref="int.MaxValue"/> elements.</exception>
    public Span<T> Span => GetSpan();

    /// <summary>The whole buffer as a span.</summary>
    /// <exception cref="ObjectDisposedException">The buffer (or its heap) has been disposed.</exception>
    /// <exception cref="InvalidOperationException">The buffer holds more than <see cref="int.MaxValue"/> elements (use <see cref="GetSpan(long, int)"/>).</exception>
    public override Span<T> GetSpan()
    {
        T* p = CheckedPointer();
        long n = _length;
        if (n > int.MaxValue) throw TooLarge();
        return new Span<T>(p, (int)n);
    }

    /// <summary>The <paramref name="length"/> elements from <paramref name="start"/>, which may lie beyond 2^31.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is not inside the buffer.</exception>
    /// <exception cref="ObjectDisposedException">The buffer (or its heap) has been disposed.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<T> GetSpan(long start, int length)
    {
        T* p = CheckedPointer();
        CheckRange(start, length);
        return new Span<T>(p + start, length);
    }

    /// <summary>
    /// The <paramref name="length"/> elements from <paramref name="start"/> as <see cref="Memory{T}"/>
    /// (for async code, pipelines and streams). In a buffer of up to 2^31 elements the memory refers to
    /// this buffer directly (no allocation); in a larger one, to a small window object. Either way it
    /// throws <see cref="ObjectDisposedException"/> once this buffer is disposed.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is not inside the buffer.</exception>
    /// <exception cref="ObjectDisposedException">The buffer has been disposed.</exception>
    public Memory<T> Slice(long start, int length)
    {
        ThrowIfDisposed();
        CheckRange(start, length);
        if (_length <= int.MaxValue) return CreateMemory((int)start, length);
        return new Window(this, start, length).Memory;
    }

    /// <summary>Copies the elements from <paramref name="start"/> into <paramref name="destination"/> (any length).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is not inside the buffer.</exception>
    /// <exception cref="ObjectDisposedException">The buffer has been disposed.</exception>
    public void CopyTo(long start, Span<T> destination) => GetSpan(start, destination.Length).CopyTo(destination);

    /// <summary>Pins the buffer (its memory never moves; this keeps it allocated until the handle is disposed).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="elementIndex"/> is outside the buffer.</exception>
    /// <exception cref="ObjectDisposedException">The buffer has been disposed.</exception>
    public override MemoryHandle Pin(int elementIndex = 0) => PinAt(elementIndex, this);

    /// <summary>Releases one pin taken with <see cref="Pin"/> (called by <see cref="MemoryHandle.Dispose"/>).</summary>
    public override void Unpin()
    {
        int s = Interlocked.Add(ref _state, -OnePin);
        Debug.Assert(s >= 0, "Unpin without Pin");
        if (s == Disposed) FreeBlock();
    }

    internal MemoryHandle PinAt(long elementIndex, IPinnable owner)
    {
        if ((ulong)elementIndex > (ulong)_length) throw new ArgumentOutOfRangeException(nameof(elementIndex));
        int s = Interlocked.Add(ref _state, OnePin);
        if ((s & Disposed) != 0)
        {
            Unpin();
            throw DisposedException();
        }
        if (_heap.IsDisposed)
        {
            Unpin();
            throw HeapDisposedException();
        }
        return new MemoryHandle((T*)_pointer + elementIndex, default, owner);
    }

    /// <summary>Frees the block (now, or at the last Unpin when pinned).</summary>
    /// <exception cref="ObjectDisposedException">The buffer was already disposed.</exception>
    protected override void Dispose(bool disposing)
    {
        int s = Volatile.Read(ref _state);
        while (true)
        {
            if ((s & Disposed) != 0) throw DisposedException();
            int seen = Interlocked.CompareExchange(ref _state, s | Disposed, s);
            if (seen == s) break;
            s = seen;
        }
        if (s == 0) FreeBlock();          // no pins: free now; otherwise the last Unpin frees
    }

    /// <summary>Grows the block in place (xallocx) to at least <paramref name="minLength"/> elements and up to <paramref name="maxLength"/>; false when the heap cannot.</summary>
    internal bool TryGrowInPlace(long minLength, long maxLength)
    {
        T* p = CheckedPointer();
        nuint min = (nuint)minLength * (nuint)sizeof(T);
        nuint max = (nuint)Math.Max(minLength, maxLength) * (nuint)sizeof(T);
        if (!_heap.TryResizeInPlace(p, min, max - min, out nuint usable)) return false;
        _length = (long)(usable / (nuint)sizeof(T));
        return true;
    }

    /// <summary>The block's address; for code in this assembly that has checked the range itself.</summary>
    internal T* CheckedPointer()
    {
        if ((Volatile.Read(ref _state) & Disposed) != 0) throw DisposedException();
        if (!_general && _heap.IsDisposed) throw HeapDisposedException();
        return (T*)_pointer;
    }

    private void FreeBlock()
    {
        nint p = Interlocked.Exchange(ref _pointer, 0);
        if (p == 0) return;
        _pool?.OnReturned();
        if (_general)
        {
            NativeHeap.Heap.Free((void*)p);
            return;
        }
        if (_heap.IsDisposed) return;        // the block went with its heap
        try
        {
            _heap.Free((void*)p);
        }
        catch (ObjectDisposedException)
        {
            // the heap was disposed between the check and the free: nothing left to free
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CheckRange(long start, int length)
    {
        if ((ulong)start > (ulong)_length || (ulong)length > (ulong)(_length - start))
            throw new ArgumentOutOfRangeException(nameof(start), $"[{start}, {start}+{length}) is not inside a buffer of {_length} elements");
    }

    private void ThrowIfDisposed()
    {
        if ((Volatile.Read(ref _state) & Disposed) != 0) throw DisposedException();
    }

    private static ObjectDisposedException DisposedException() => new(nameof(NativeBuffer<T>), "NativeHeap: the native buffer was disposed (its block is freed)");

    private ObjectDisposedException HeapDisposedException() => new(_heap.Name, $"NativeHeap: the heap '{_heap.Name}' of this native buffer was disposed");

    private static InvalidOperationException TooLarge()
        => new("NativeHeap: the native buffer holds more than int.MaxValue elements: use LongLength, GetSpan(long, int) or Slice(long, int)");

    /// <summary>A view of [start, start + length) of a large buffer as a MemoryManager (so Memory&lt;T&gt; can reach past 2^31).</summary>
    private sealed class Window(NativeBuffer<T> owner, long start, int length) : MemoryManager<T>
    {
        public override Span<T> GetSpan() => owner.GetSpan(start, length);

        public override MemoryHandle Pin(int elementIndex = 0)
        {
            if ((uint)elementIndex > (uint)length) throw new ArgumentOutOfRangeException(nameof(elementIndex));
            return owner.PinAt(start + elementIndex, owner);
        }

        public override void Unpin() => owner.Unpin();

        protected override void Dispose(bool disposing) { }     // the window owns nothing
    }
}

/// <summary>Allocation helpers for <see cref="NativeBuffer{T}"/>.</summary>
public static unsafe class NativeBuffer
{
    /// <summary>
    /// Allocates <paramref name="count"/> elements of <typeparamref name="T"/> from
    /// <paramref name="heap"/> (the general heap when null); dispose the result to free them.
    /// </summary>
    /// <param name="count">The number of elements; may exceed <see cref="int.MaxValue"/>.</param>
    /// <param name="heap">The heap to allocate from; <see cref="GeneralHeap.Instance"/> when null.</param>
    /// <param name="zeroed">True for zero-filled memory (large blocks come zeroed from the OS without being touched).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative or its byte size overflows.</exception>
    /// <exception cref="OutOfMemoryException">The heap cannot serve the request.</exception>
    /// <exception cref="ObjectDisposedException">The heap has been disposed.</exception>
    public static NativeBuffer<T> Allocate<T>(long count, INativeHeap? heap = null, bool zeroed = false) where T : unmanaged
        => AllocateCore<T>(count, heap ?? GeneralHeap.Instance, zeroed, null);

    internal static NativeBuffer<T> AllocateCore<T>(long count, INativeHeap heap, bool zeroed, NativeMemoryPool? pool) where T : unmanaged
    {
        if (count < 0 || (ulong)count > (ulong)long.MaxValue / (ulong)sizeof(T))
            throw new ArgumentOutOfRangeException(nameof(count), count, "a non-negative element count whose byte size fits in 63 bits");
        nuint bytes = (nuint)count * (nuint)sizeof(T);
        void* p = heap is GeneralHeap ? (zeroed ? Heap.Calloc(1, bytes) : Heap.Malloc(bytes))
            : zeroed ? heap.AllocateZeroed(bytes) : heap.Allocate(bytes);
        if (p == null) throw new OutOfMemoryException($"NativeHeap: heap '{heap.Name}' cannot allocate {bytes} bytes");
        return new NativeBuffer<T>(heap, p, count, pool);
    }
}
