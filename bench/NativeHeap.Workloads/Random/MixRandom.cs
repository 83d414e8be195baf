// MixRandom: mstress's generator: the state is replaced by a splitmix64-style finalizer of itself
// (xor-shift 30/27/31 with the two odd multipliers) on every draw.
namespace NativeHeap.Workloads.Random;

/// <summary>The 64-bit hash-chain generator of mstress (mimalloc's stress test).</summary>
public struct MixRandom
{
    private ulong _state;

    /// <summary>A generator starting at <paramref name="state"/>.</summary>
    public MixRandom(ulong state) => _state = state;

    /// <summary>The next value.</summary>
    public ulong Next()
    {
        ulong x = _state;
        x ^= x >> 30;
        x *= 0xbf58476d1ce4e5b9UL;
        x ^= x >> 27;
        x *= 0x94d049bb133111ebUL;
        x ^= x >> 31;
        _state = x;
        return x;
    }

    /// <summary>True with probability about (<paramref name="percent"/> + 1) %, as mstress's <c>chance</c>.</summary>
    public bool Chance(int percent) => Next() % 100 <= (ulong)percent;
}
