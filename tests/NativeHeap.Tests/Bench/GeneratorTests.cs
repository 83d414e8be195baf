// GeneratorTests: the ported random generators give the sequences of the C originals.
using NativeHeap.Workloads.Random;

namespace NativeHeap.Tests.Bench;

public sealed class GeneratorTests
{
    [Fact]
    public void GlibcRandomMatchesRandWithDefaultSeed()
    {
        // glibc: rand() without srand() (seed 1) starts 1804289383, 846930886, 1681692777.
        var rand = new GlibcRandom(1);
        Assert.Equal(1804289383, rand.Next());
        Assert.Equal(846930886, rand.Next());
        Assert.Equal(1681692777, rand.Next());
    }

    [Fact]
    public void Lran2StaysInRangeAndIsDeterministic()
    {
        var a = new Lran2(4141);
        var b = new Lran2(4141);
        for (int i = 0; i < 10_000; i++)
        {
            long x = a.Next();
            Assert.Equal(x, b.Next());
            Assert.InRange(x, 0, 714024);
        }
    }

    [Fact]
    public void MixRandomChanceIsRoughlyFair()
    {
        var r = new MixRandom(42);
        int hits = 0;
        for (int i = 0; i < 100_000; i++)
        {
            hits += r.Chance(50) ? 1 : 0;
        }
        Assert.InRange(hits, 48_000, 54_000);
    }
}
