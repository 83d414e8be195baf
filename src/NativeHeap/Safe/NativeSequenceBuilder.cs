// NativeSequenceBuilder: an IBufferWriter<byte> that writes into a chain of native segments rented
// from a NativeMemoryPool and hands the data out as a ReadOnlySequence<byte> without copying it.
// Invariants: the segments form a list in write order; each Segment.Written <= its buffer's length;
// RunningIndex of a segment = sum of Written of the segments before it (set by Build).
using System.Buffers;

namespace NativeHeap.Safe;

/// <summary>
/// Builds a <see cref="ReadOnlySequence{T}"/> of bytes over native segments: write through the
/// <see cref="IBufferWriter{T}"/> members, then call <see cref="Build"/>. The sequence refers to the
/// builder's segments (nothing is copied) and stays valid until <see cref="Dispose"/> or
/// <see cref="Reset"/>; after that, reading it throws <see cref="ObjectDisposedException"/>.
/// </summary>
/// <remarks>Not thread-safe. Segments are <see cref="SegmentSize"/> bytes, or larger when a size hint asks for more.</remarks>
public sealed class NativeSequenceBuilder : IBufferWriter<byte>, IDisposable
{
    private readonly NativeMemoryPool _pool;
    private readonly int _segmentSize;
    private Segment? _first;
    private Segment? _last;
    private long _length;
    private bool _disposed;

    /// <summary>A builder whose segments come from <paramref name="pool"/> (<see cref="NativeMemoryPool.Shared"/> when null).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="segmentSize"/> is less than 1.</exception>
    public NativeSequenceBuilder(NativeMemoryPool? pool = null, int segmentSize = 16 * 1024)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(segmentSize, 1);
        _pool = pool ?? NativeMemoryPool.Shared;
        _segmentSize = segmentSize;
    }

    /// <summary>The size of a new segment.</summary>
    public int SegmentSize => _segmentSize;

    /// <summary>Bytes written so far.</summary>
    public long Length => _length;

    /// <summary>Number of segments in use.</summary>
    public int SegmentCount { get; private set; }

    /// <summary>Memory of at least <paramref name="sizeHint"/> bytes (at least 1 for 0) after the written data.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sizeHint"/> is negative.</exception>
    /// <exception cref="ObjectDisposedException">The builder has been disposed.</exception>
    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Segment s = Ensure(sizeHint);
        return s.Buffer.Memory[s.Written..];
    }

    /// <summary>A span of at least <paramref name="sizeHint"/> bytes (at least 1 for 0) after the written data.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sizeHint"/> is negative.</exception>
    /// <exception cref="ObjectDisposedException">The builder has been disposed.</exception>
    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Segment s = Ensure(sizeHint);
        return s.Buffer.Span[s.Written..];
    }

    /// <summary>Records that <paramref name="count"/> bytes were written into the memory last returned.</summary>
    /// <exception cref="ArgumentException"><paramref name="count"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">Past the end of the current segment (or nothing was requested).</exception>
    /// <exception cref="ObjectDisposedException">The builder has been disposed.</exception>
    public void Advance(int count)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (count < 0) throw new ArgumentException("NativeHeap: Advance with a negative count", nameof(count));
        if (count == 0) return;
        Segment s = _last ?? throw new InvalidOperationException("NativeHeap: Advance before GetMemory/GetSpan");
        if (count > s.Buffer.Length - s.Written) throw new InvalidOperationException("NativeHeap: Advance past the end of the segment");
        s.Written += count;
        _length += count;
    }

    /// <summary>Appends <paramref name="data"/>.</summary>
    /// <exception cref="ObjectDisposedException">The builder has been disposed.</exception>
    public void Write(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            Span<byte> span = GetSpan();
            int n = Math.Min(span.Length, data.Length);
            data[..n].CopyTo(span);
            Advance(n);
            data = data[n..];
        }
    }

    /// <summary>The data written so far as a sequence over the native segments (no copy).</summary>
    /// <exception cref="ObjectDisposedException">The builder has been disposed.</exception>
    public ReadOnlySequence<byte> Build()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_first == null || _length == 0) return ReadOnlySequence<byte>.Empty;
        long index = 0;
        for (Segment? s = _first; s != null; s = (Segment?)s.Next)
        {
            s.Publish(index);
            index += s.Written;
        }
        return new ReadOnlySequence<byte>(_first, 0, _last!, _last!.Written);
    }

    /// <summary>Frees every segment and starts empty; sequences built before then throw <see cref="ObjectDisposedException"/> when read.</summary>
    /// <exception cref="ObjectDisposedException">The builder has been disposed.</exception>
    public void Reset()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        FreeSegments();
    }

    /// <summary>Frees every segment. Further calls (except a second Dispose, which does nothing) throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        FreeSegments();
    }

    private void FreeSegments()
    {
        for (Segment? s = _first; s != null; s = (Segment?)s.Next) ((IDisposable)s.Buffer).Dispose();
        _first = _last = null;
        _length = 0;
        SegmentCount = 0;
    }

    private Segment Ensure(int sizeHint)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(sizeHint);
        int need = Math.Max(sizeHint, 1);
        Segment? last = _last;
        if (last != null && last.Buffer.Length - last.Written >= need) return last;
        var s = new Segment(_pool.RentBuffer(Math.Max(need, _segmentSize)));
        if (last == null) _first = s;
        else last.SetNext(s);
        _last = s;
        SegmentCount++;
        return s;
    }

    private sealed class Segment(NativeBuffer<byte> buffer) : ReadOnlySequenceSegment<byte>
    {
        public readonly NativeBuffer<byte> Buffer = buffer;
        public int Written;

        public void SetNext(Segment next) => Next = next;

        public void Publish(long runningIndex)
        {
            Memory = Buffer.Memory[..Written];
            RunningIndex = runningIndex;
        }
    }
}
