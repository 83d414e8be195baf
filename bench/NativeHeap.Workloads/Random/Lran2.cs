// Lran2: Wolfram Gloger's small portable generator (a linear congruential sequence shuffled through a
// 97-entry table, constants from Numerical Recipes), as used by larson and xmalloc-test. Same
// seeds give the same sequences as the C programs (C `long` is 64-bit on Linux x64).
namespace NativeHeap.Workloads.Random;

/// <summary>The lran2 generator of larson and xmalloc-test; a mutable value type, pass by ref.</summary>
public unsafe struct Lran2
{
    private const long Modulus = 714025, Multiplier = 1366, Increment = 150889;

    private long _x, _y;
    private fixed long _table[97];

    /// <summary>A generator seeded with <paramref name="seed"/>.</summary>
    public Lran2(long seed)
    {
        long x = (Increment - seed) % Modulus;
        if (x < 0)
        {
            x = -x;
        }
        for (int j = 0; j < 97; j++)
        {
            x = (Multiplier * x + Increment) % Modulus;
            _table[j] = x;
        }
        _x = (Multiplier * x + Increment) % Modulus;
        _y = _x;
    }

    /// <summary>The next value, in [0, 714025).</summary>
    public long Next()
    {
        int j = (int)(_y % 97);
        _y = _table[j];
        _x = (Multiplier * _x + Increment) % Modulus;
        _table[j] = _x;
        return _y;
    }
}
