// NativeBufferWriter: IBufferWriter<byte> over one contiguous native block that grows in place where
// the heap can (xallocx: large blocks of the general heap and kinds, blocks of a mapped heap followed
// by free space) and otherwise moves to a block twice the size.
// Invariants: 0 <= _written <= _buffer.LongLength; a move disposes the old NativeBuffer, so a Memory
// handed out before the move throws ObjectDisposedException instead of reaching freed memory (an
// in-place growth keeps the old Memory valid: its bytes did not move).
using System.Buffers;

namespace NativeHeap.Safe;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> of bytes backed by one contiguous native block, for building a
/// message, a file image or any byte payload off the GC heap. The block grows in place when the heap
/// can extend it (xallocx), else it moves to a block twice as large. Its written data may exceed 2 GiB.
/// </summary>
/// <remarks>
/// As with <see cref="ArrayBufferWriter{T}"/>, memory returned by <see cref="GetMemory"/> and
/// <see cref="GetSpan"/> is valid until the next <see cref="Advance"/>, GetMemory, GetSpan or Dispose;
/// after a move, a <see cref="Memory{T}"/> handed out earlier throws <see cref="ObjectDisposedException"/>.
/// Not thread-safe. Dispose frees the block; every member but <see cref="WrittenCount"/> then throws <see cref="ObjectDisposedException"/>.
/// </remarks>
public sealed class NativeBufferWriter : IBufferWriter<byte>, IDisposable
{
    private readonly INativeHeap _heap;
    private NativeBuffer<byte>? _buffer;
    private long _written;

    /// <summary>A writer over the general heap with an initial capacity of <paramref name="initialCapacity"/> bytes.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="initialCapacity"/> is negative.</exception>
    /// <exception cref="OutOfMemoryException">The heap cannot serve the first block.</exception>
    public NativeBufferWriter(long initialCapacity = 256) : this(GeneralHeap.Instance, initialCapacity)
    {
    }

    /// <summary>A writer over <paramref name="heap"/> with an initial capacity of <paramref name="initialCapacity"/> bytes.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="heap"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="initialCapacity"/> is negative.</exception>
    /// <exception cref="OutOfMemoryException">The heap cannot serve the first block.</exception>
    /// <exception cref="ObjectDisposedException">The heap has been disposed.</exception>
    public NativeBufferWriter(INativeHeap heap, long initialCapacity = 256)
    {
        ArgumentNullException.ThrowIfNull(heap);
        ArgumentOutOfRangeException.ThrowIfNegative(initialCapacity);
        _heap = heap;
        _buffer = NativeBuffer.Allocate<byte>(Math.Max(initialCapacity, 16), heap);
    }

    /// <summary>Bytes written so far.</summary>
    public long WrittenCount => _written;

    /// <summary>Bytes the block holds (written plus free).</summary>
    /// <exception cref="ObjectDisposedException">The writer has been disposed.</exception>
    public long Capacity => Buffer.LongLength;

    /// <summary>Bytes that can be written before the block must grow.</summary>
    /// <exception cref="ObjectDisposedException">The writer has been disposed.</exception>
    public long FreeCapacity => Buffer.LongLength - _written;

    /// <summary>How many times the block grew in place (the heap extended it without moving it).</summary>
    public int GrowthsInPlace { get; private set; }

    /// <summary>How many times the block moved to a larger one (its contents copied).</summary>
    public int Moves { get; private set; }

    /// <summary>The written bytes.</summary>
    /// <exception cref="ObjectDisposedException">The writer has been disposed.</exception>
    /// <exception cref="InvalidOperationException">More than <see cref="int.MaxValue"/> bytes were written (use <see cref="GetWrittenSpan"/>).</exception>
    public ReadOnlySpan<byte> WrittenSpan
        => _written <= int.MaxValue ? GetWrittenSpan(0, (int)_written) : throw new InvalidOperationException("NativeHeap: more than int.MaxValue bytes written");

    /// <summary>The written bytes as memory (valid until the next write or Dispose).</summary>
    /// <exception cref="ObjectDisposedException">The writer has been disposed.</exception>
    /// <exception cref="InvalidOperationException">More than <see cref="int.MaxValue"/> bytes were written.</exception>
    public ReadOnlyMemory<byte> WrittenMemory
        => _written <= int.MaxValue ? Buffer.Slice(0, (int)_written) : throw new InvalidOperationException("NativeHeap: more than int.MaxValue bytes written");

    /// <summary>The written bytes [<paramref name="start"/>, <paramref name="start"/> + <paramref name="length"/>), anywhere in the data.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is not inside the written data.</exception>
    /// <exception cref="ObjectDisposedException">The writer has been disposed.</exception>
    public ReadOnlySpan<byte> GetWrittenSpan(long start, int length)
    {
        if ((ulong)start > (ulong)_written || (ulong)length > (ulong)(_written - start))
            throw new ArgumentOutOfRangeException(nameof(start), $"[{start}, {start}+{length}) is not inside {_written} written bytes");
        return Buffer.GetSpan(start, length);
    }

    /// <summary>Records that <paramref name="count"/> more bytes were written into the memory last returned.</summary>
    /// <exception cref="ArgumentException"><paramref name="count"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">The writer would advance past the end of the block.</exception>
    /// <exception cref="ObjectDisposedException">The writer has been disposed.</exception>
    public void Advance(int count)
    {
        if (count < 0) throw new ArgumentException("NativeHeap: Advance with a negative count", nameof(count));
        if (_written + count > Buffer.LongLength) throw new InvalidOperationException("NativeHeap: Advance past the end of the buffer");
        _written += count;
    }

    /// <summary>Memory of at least <paramref name="sizeHint"/> bytes (at least 1 for 0) at the end of the written data.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sizeHint"/> is negative.</exception>
    /// <exception cref="OutOfMemoryException">The block cannot grow.</exception>
    /// <exception cref="ObjectDisposedException">The writer has been disposed.</exception>
    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        NativeBuffer<byte> b = Ensure(sizeHint);
        return b.Slice(_written, (int)Math.Min(b.LongLength - _written, int.MaxValue));
    }

    /// <summary>A span of at least <paramref name="sizeHint"/> bytes (at least 1 for 0) at the end of the written data.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sizeHint"/> is negative.</exception>
    /// <exception cref="OutOfMemoryException">The block cannot grow.</exception>
    /// <exception cref="ObjectDisposedException">The writer has been disposed.</exception>
    public Span<byte> GetSpan(int sizeHint = 0)
    {
        NativeBuffer<byte> b = Ensure(sizeHint);
        return b.GetSpan(_written, (int)Math.Min(b.LongLength - _written, int.MaxValue));
    }

    /// <summary>Forgets the written data (the block is kept for reuse).</summary>
    /// <exception cref="ObjectDisposedException">The writer has been disposed.</exception>
    public void Clear()
    {
        _ = Buffer;
        _written = 0;
    }

    /// <summary>Frees the block; a second Dispose does nothing (as for BCL writers and streams).</summary>
    public void Dispose()
    {
        NativeBuffer<byte>? b = _buffer;
        _buffer = null;
        if (b != null) ((IDisposable)b).Dispose();
    }

    private NativeBuffer<byte> Buffer => _buffer ?? throw new ObjectDisposedException(nameof(NativeBufferWriter));

    private NativeBuffer<byte> Ensure(int sizeHint)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sizeHint);
        NativeBuffer<byte> b = Buffer;
        long need = _written + Math.Max(sizeHint, 1);
        if (need <= b.LongLength) return b;
        long target = Math.Max(need, b.LongLength * 2);
        if (b.TryGrowInPlace(need, target))
        {
            GrowthsInPlace++;
            return b;
        }
        NativeBuffer<byte> moved = NativeBuffer.Allocate<byte>(target, _heap);
        for (long done = 0; done < _written;)
        {
            int n = (int)Math.Min(_written - done, 1 << 30);
            b.GetSpan(done, n).CopyTo(moved.GetSpan(done, n));
            done += n;
        }
        _buffer = moved;
        ((IDisposable)b).Dispose();        // memory handed out before the move now throws ObjectDisposedException
        Moves++;
        return moved;
    }
}
