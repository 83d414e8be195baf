// ShiftRandom: alloc-test's generator: an xorshift state (11/31/18) whose output is the previous state
// times an odd 64-bit constant, high half.
namespace NativeHeap.Workloads.Random;

/// <summary>The PRNG of alloc-test (OLogN's allocator tester).</summary>
public struct ShiftRandom
{
    private ulong _state;

    /// <summary>A generator starting at <paramref name="seed"/>.</summary>
    public ShiftRandom(ulong seed) => _state = seed;

    /// <summary>The next 32-bit value.</summary>
    public uint Next32()
    {
        ulong result = _state * 0xd989bcacc137dcd5UL;
        _state ^= _state >> 11;
        _state ^= _state << 31;
        _state ^= _state >> 18;
        return (uint)(result >> 32);
    }

    /// <summary>Two 32-bit values joined, the first in the high half.</summary>
    public ulong Next64()
    {
        ulong high = Next32();
        return (high << 32) + Next32();
    }
}
