// GlibcRandom: glibc's rand()/random() (the TYPE_3 additive feedback generator, 31 words of state,
// x[i] = x[i-3] + x[i-31], output >> 1), so glibc-thread and mleak draw the same numbers as the C
// programs linked against glibc. The seeding (Park–Miller minimal standard, 310 discarded outputs)
// follows glibc's srandom_r.
namespace NativeHeap.Workloads.Random;

/// <summary>glibc's rand(): <c>new GlibcRandom(1)</c> gives the sequence of an unseeded program.</summary>
public unsafe struct GlibcRandom
{
    /// <summary>glibc's RAND_MAX.</summary>
    public const int RandMax = int.MaxValue;

    private const int Degree = 31, Separation = 3;

    private fixed int _state[Degree];
    private int _front, _rear;

    /// <summary>A generator seeded as by <c>srand(<paramref name="seed"/>)</c>.</summary>
    public GlibcRandom(uint seed)
    {
        if (seed == 0)
        {
            seed = 1;
        }
        _state[0] = (int)seed;
        int word = (int)seed;
        for (int i = 1; i < Degree; i++)
        {
            // 16807 * word % (2^31 - 1) without overflow (Schrage's method), as glibc does.
            int hi = word / 127773, lo = word % 127773;
            word = 16807 * lo - 2836 * hi;
            if (word < 0)
            {
                word += int.MaxValue;
            }
            _state[i] = word;
        }
        _front = Separation;
        _rear = 0;
        for (int i = 0; i < 10 * Degree; i++)
        {
            Next();
        }
    }

    /// <summary>The next value of rand(), in [0, RAND_MAX].</summary>
    public int Next()
    {
        uint sum = unchecked((uint)_state[_front] + (uint)_state[_rear]);
        _state[_front] = (int)sum;
        int result = (int)(sum >> 1);
        if (++_front >= Degree)
        {
            _front = 0;
        }
        if (++_rear >= Degree)
        {
            _rear = 0;
        }
        return result;
    }
}
