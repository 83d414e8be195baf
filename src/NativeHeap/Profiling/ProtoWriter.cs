// ProtoWriter and ProtoReader: the few protocol-buffer encodings pprof's profile.proto needs —
// varints (wire type 0), length-delimited fields (wire type 2: strings, sub-messages, packed repeated
// integers). Hand-written rather than Google.Protobuf: profile.proto uses nothing else, the writer is
// ~60 lines, and the NativeAOT C library (which dumps profiles through mallctl) stays free of a
// reflection-heavy dependency.
namespace NativeHeap.Profiling;

internal sealed class ProtoWriter
{
    private byte[] _buf = new byte[256];
    private int _len;

    public int Length => _len;

    public ReadOnlySpan<byte> Span => _buf.AsSpan(0, _len);

    private void Byte(byte b)
    {
        if (_len == _buf.Length) Array.Resize(ref _buf, _buf.Length * 2);
        _buf[_len++] = b;
    }

    public void Varint(ulong v)
    {
        while (v >= 0x80)
        {
            Byte((byte)(v | 0x80));
            v >>= 7;
        }
        Byte((byte)v);
    }

    private void Tag(int field, int wire) => Varint((ulong)(field << 3 | wire));

    /// <summary>An integer field (int64/uint64/bool as varint); 0 is omitted, as proto3 does.</summary>
    public void Int(int field, long v)
    {
        if (v == 0) return;
        Tag(field, 0);
        Varint((ulong)v);
    }

    public void Bytes(int field, ReadOnlySpan<byte> data)
    {
        Tag(field, 2);
        Varint((ulong)data.Length);
        foreach (byte b in data) Byte(b);
    }

    public void String(int field, string s) => Bytes(field, System.Text.Encoding.UTF8.GetBytes(s));

    public void Message(int field, ProtoWriter m) => Bytes(field, m.Span);

    public void Packed(int field, ReadOnlySpan<long> values)
    {
        if (values.Length == 0) return;
        var inner = new ProtoWriter();
        foreach (long v in values) inner.Varint((ulong)v);
        Message(field, inner);
    }
}

/// <summary>Reads the fields of one message: (field, wire type, varint value or length-delimited bytes).</summary>
internal ref struct ProtoReader(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> _data = data;
    private int _pos;

    public int Field { get; private set; }
    public int Wire { get; private set; }
    public ulong Value { get; private set; }
    public ReadOnlySpan<byte> Payload { get; private set; }

    public bool Next()
    {
        if (_pos >= _data.Length) return false;
        ulong tag = ReadVarint();
        Field = (int)(tag >> 3);
        Wire = (int)(tag & 7);
        switch (Wire)
        {
            case 0:
                Value = ReadVarint();
                break;
            case 1:
                Value = BitConverter.ToUInt64(_data.Slice(_pos, 8));
                _pos += 8;
                break;
            case 2:
                int n = checked((int)ReadVarint());
                Payload = _data.Slice(_pos, n);
                _pos += n;
                break;
            case 5:
                Value = BitConverter.ToUInt32(_data.Slice(_pos, 4));
                _pos += 4;
                break;
            default:
                throw new InvalidDataException($"protobuf wire type {Wire} is not supported");
        }
        return true;
    }

    private ulong ReadVarint()
    {
        ulong v = 0;
        for (int shift = 0; ; shift += 7)
        {
            if (_pos >= _data.Length || shift > 63) throw new InvalidDataException("truncated protobuf varint");
            byte b = _data[_pos++];
            v |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80) return v;
        }
    }

    /// <summary>The values of a repeated integer field, packed (wire 2) or not (wire 0).</summary>
    public readonly void AddIntegers(List<long> into)
    {
        if (Wire == 0)
        {
            into.Add((long)Value);
            return;
        }
        var r = new ProtoReader(Payload);
        while (r._pos < r._data.Length) into.Add((long)r.ReadVarint());
    }
}
