// ChildRecord: the self-checking record the crash workload publishes under a root, and its checker.
// Layout: u32 magic, u32 slot, u64 sequence, u32 length, u32 zero, u64 checksum, then `length`
// data bytes that are a function of (sequence, index). The parent test links this file too.
namespace NativeHeap.MappedChild;

internal static unsafe class ChildRecord
{
    internal const uint Magic = 0xC0FFEE01;
    internal const int HeaderBytes = 32;

    internal static byte DataByte(long seq, int i) => (byte)(seq * 31 + i * 7 + (i >> 8));

    internal static ulong Sum(int slot, long seq, int length, byte* data)
    {
        ulong h = 0xCBF29CE484222325UL ^ (ulong)slot ^ ((ulong)seq << 8) ^ ((ulong)length << 40);
        for (int i = 0; i < length; i++) h = (h ^ data[i]) * 0x100000001B3UL;
        return h;
    }

    internal static void Write(byte* p, int slot, long seq, int length)
    {
        byte* data = p + HeaderBytes;
        for (int i = 0; i < length; i++) data[i] = DataByte(seq, i);
        *(uint*)p = Magic;
        *(uint*)(p + 4) = (uint)slot;
        *(long*)(p + 8) = seq;
        *(uint*)(p + 16) = (uint)length;
        *(uint*)(p + 20) = 0;
        *(ulong*)(p + 24) = Sum(slot, seq, length, data);
    }

    /// <summary>Null when the record at <paramref name="p"/> is intact, else what is wrong.</summary>
    internal static string? Verify(byte* p, nuint usable, int slot, out long seq)
    {
        seq = -1;
        if (usable < HeaderBytes) return $"block too small ({usable})";
        if (*(uint*)p != Magic) return $"bad magic {*(uint*)p:x}";
        if (*(uint*)(p + 4) != (uint)slot) return $"slot {*(uint*)(p + 4)} != {slot}";
        seq = *(long*)(p + 8);
        int length = (int)*(uint*)(p + 16);
        if ((nuint)(HeaderBytes + length) > usable) return $"length {length} beyond block ({usable})";
        byte* data = p + HeaderBytes;
        for (int i = 0; i < length; i++)
            if (data[i] != DataByte(seq, i)) return $"data byte {i} of seq {seq} is {data[i]}, expected {DataByte(seq, i)}";
        if (*(ulong*)(p + 24) != Sum(slot, seq, length, data)) return "checksum mismatch";
        return null;
    }
}
