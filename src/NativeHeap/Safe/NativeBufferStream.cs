// NativeBufferStream: a seekable Stream over a NativeBuffer<byte>, with 64-bit positions (a stream
// may be larger than 2 GiB). A stream that owns its buffer grows it (in place when the heap can,
// else by moving); one over a caller's buffer is fixed-size, as UnmanagedMemoryStream.
// Invariants: 0 <= _length <= _buffer.LongLength; 0 <= _position (may pass _length, as MemoryStream).
namespace NativeHeap.Safe;

/// <summary>
/// A <see cref="Stream"/> over native memory: read, write and seek in a <see cref="NativeBuffer{T}"/>
/// of bytes, with positions beyond 2 GiB. A stream created with a capacity owns its buffer and grows
/// it as needed; a stream over a caller's buffer cannot write past the buffer's end
/// (<see cref="NotSupportedException"/>, as <see cref="UnmanagedMemoryStream"/>).
/// </summary>
/// <remarks>Not thread-safe. After Dispose every member but <c>CanX</c> throws <see cref="ObjectDisposedException"/>; Dispose frees an owned buffer.</remarks>
public sealed class NativeBufferStream : Stream
{
    private readonly INativeHeap _heap;
    private readonly bool _ownsBuffer;
    private readonly bool _writable;
    private NativeBuffer<byte>? _buffer;
    private long _length;
    private long _position;

    /// <summary>An empty, growable stream over a block of <paramref name="capacity"/> bytes from <paramref name="heap"/> (the general heap when null).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is negative.</exception>
    /// <exception cref="OutOfMemoryException">The heap cannot serve the block.</exception>
    public NativeBufferStream(long capacity = 4096, INativeHeap? heap = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        _heap = heap ?? GeneralHeap.Instance;
        _buffer = NativeBuffer.Allocate<byte>(Math.Max(capacity, 16), _heap);
        _ownsBuffer = true;
        _writable = true;
    }

    /// <summary>A fixed-size stream over <paramref name="buffer"/>, whose first <paramref name="length"/> bytes are its contents.</summary>
    /// <param name="buffer">The memory; it stays the caller's (disposing the stream does not free it).</param>
    /// <param name="length">The initial length of the stream (0 to write from scratch; the buffer's length to read it all).</param>
    /// <param name="writable">False for a read-only stream.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is negative or beyond the buffer.</exception>
    public NativeBufferStream(NativeBuffer<byte> buffer, long length, bool writable = true)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        if ((ulong)length > (ulong)buffer.LongLength) throw new ArgumentOutOfRangeException(nameof(length));
        _heap = buffer.Heap;
        _buffer = buffer;
        _length = length;
        _writable = writable;
    }

    /// <summary>The buffer behind the stream (replaced when an owned buffer moves to grow).</summary>
    /// <exception cref="ObjectDisposedException">The stream has been disposed.</exception>
    public NativeBuffer<byte> Buffer => _buffer ?? throw new ObjectDisposedException(nameof(NativeBufferStream));

    /// <summary>Bytes the buffer holds.</summary>
    /// <exception cref="ObjectDisposedException">The stream has been disposed.</exception>
    public long Capacity => Buffer.LongLength;

    /// <inheritdoc />
    public override bool CanRead => _buffer != null;

    /// <inheritdoc />
    public override bool CanSeek => _buffer != null;

    /// <inheritdoc />
    public override bool CanWrite => _buffer != null && _writable;

    /// <inheritdoc />
    public override long Length
    {
        get
        {
            _ = Buffer;
            return _length;
        }
    }

    /// <inheritdoc />
    public override long Position
    {
        get
        {
            _ = Buffer;
            return _position;
        }
        set
        {
            _ = Buffer;
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _position = value;
        }
    }

    /// <inheritdoc />
    public override void Flush() => _ = Buffer;

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return Read(buffer.AsSpan(offset, count));
    }

    /// <inheritdoc />
    public override int Read(Span<byte> destination)
    {
        NativeBuffer<byte> b = Buffer;
        long available = _length - _position;
        if (available <= 0) return 0;
        int n = (int)Math.Min(available, destination.Length);
        b.GetSpan(_position, n).CopyTo(destination);
        _position += n;
        return n;
    }

    /// <inheritdoc />
    public override int ReadByte()
    {
        NativeBuffer<byte> b = Buffer;
        if (_position >= _length) return -1;
        return b.GetSpan(_position++, 1)[0];
    }

    /// <inheritdoc />
    public override ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled<int>(cancellationToken);
        return new ValueTask<int>(Read(destination.Span));
    }

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        Write(buffer.AsSpan(offset, count));
    }

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> source)
    {
        NativeBuffer<byte> b = WritableBuffer();
        long end = _position + source.Length;
        if (end > b.LongLength) b = Grow(end);
        if (_position > _length) Clear(b, _length, _position);    // the gap after a seek past the end reads as zeros
        source.CopyTo(b.GetSpan(_position, source.Length));
        _position = end;
        if (end > _length) _length = end;
    }

    /// <inheritdoc />
    public override void WriteByte(byte value) => Write([value]);

    /// <inheritdoc />
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled(cancellationToken);
        Write(source.Span);
        return default;
    }

    /// <inheritdoc />
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin)
    {
        _ = Buffer;
        long start = origin switch
        {
            SeekOrigin.Begin => 0,
            SeekOrigin.Current => _position,
            SeekOrigin.End => _length,
            _ => throw new ArgumentException("NativeHeap: invalid SeekOrigin", nameof(origin)),
        };
        long p = start + offset;
        if (p < 0) throw new IOException("NativeHeap: seek before the beginning of the stream");
        _position = p;
        return p;
    }

    /// <inheritdoc />
    public override void SetLength(long value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        NativeBuffer<byte> b = WritableBuffer();
        if (value > b.LongLength) b = Grow(value);
        if (value > _length) Clear(b, _length, value);          // bytes added by a longer length read as zeros
        _length = value;
        if (_position > value) _position = value;
    }

    /// <summary>Frees an owned buffer; a second Dispose does nothing (as for every stream).</summary>
    protected override void Dispose(bool disposing)
    {
        NativeBuffer<byte>? b = _buffer;
        _buffer = null;
        if (b != null && _ownsBuffer) ((IDisposable)b).Dispose();
        base.Dispose(disposing);
    }

    private static void Clear(NativeBuffer<byte> b, long from, long to)
    {
        for (long at = from; at < to;)
        {
            int n = (int)Math.Min(to - at, 1 << 30);
            b.GetSpan(at, n).Clear();
            at += n;
        }
    }

    private NativeBuffer<byte> WritableBuffer()
    {
        NativeBuffer<byte> b = Buffer;
        if (!_writable) throw new NotSupportedException("NativeHeap: the stream is read-only");
        return b;
    }

    private NativeBuffer<byte> Grow(long need)
    {
        NativeBuffer<byte> b = Buffer;
        if (!_ownsBuffer) throw new NotSupportedException("NativeHeap: cannot expand a stream over a caller's buffer beyond its capacity");
        long target = Math.Max(need, b.LongLength * 2);
        if (b.TryGrowInPlace(need, target)) return b;
        NativeBuffer<byte> moved = NativeBuffer.Allocate<byte>(target, _heap);
        for (long done = 0; done < _length;)
        {
            int n = (int)Math.Min(_length - done, 1 << 30);
            b.GetSpan(done, n).CopyTo(moved.GetSpan(done, n));
            done += n;
        }
        _buffer = moved;
        ((IDisposable)b).Dispose();
        return moved;
    }
}
