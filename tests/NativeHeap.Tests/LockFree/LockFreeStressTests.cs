// Multi-threaded stress of the lock-free heap with content checks and fixed seeds: at least 10^7
// operations in CI, more in the long mode (NATIVEHEAP_LONG=1). After the run the test counts the
// blocks the workers still hold per size class and checks them against the heap's own accounting
// (Validate), then frees everything and checks that nothing is left live.
using System.Runtime.InteropServices;
using NativeHeap.LockFree;

namespace NativeHeap.Tests.LockFree;

public sealed unsafe class LockFreeStressTests
{
    [Fact]
    public void TwoThreadsTenMillionOperations() => Stress(threads: 2, totalOps: 10_000_000, heapSize: LockFreeHeap.DefaultHeapSize, mmap: false, seed: 0x5EED_0001);

    [Fact]
    public void FourThreadsOnTwoCoresWithMmapAndASmallHeap() =>
        Stress(threads: 4, totalOps: 2_000_000, heapSize: 512 << 10, mmap: true, seed: 0x5EED_0002);

    [Fact]
    public void EightThreadsOneShardMaximumContention() =>
        Stress(threads: 8, totalOps: 2_000_000, heapSize: LockFreeHeap.DefaultHeapSize, mmap: false, seed: 0x5EED_0003, shards: 1);

    [LongFact]
    public void LongModeFourThreadsOneBillionOperations() =>
        Stress(threads: 4, totalOps: 1_000_000_000, heapSize: LockFreeHeap.DefaultHeapSize, mmap: true, seed: 0x5EED_0004);

    [LongFact]
    public void LongModeSixteenThreadsSmallHeap() =>
        Stress(threads: 16, totalOps: 200_000_000, heapSize: LockFreeHeap.MinHeapSize * 4, mmap: false, seed: 0x5EED_0005, shards: 2);

    private static void Stress(int threads, long totalOps, nuint heapSize, bool mmap, ulong seed, int shards = 0)
    {
        using var heap = new LockFreeHeap(heapSize, shards);
        if (mmap) heap.EnableMmap();
        var stress = new LockFreeStress(heap, largeObjects: mmap);
        var workers = new LockFreeStress.Worker*[threads];
        try
        {
            for (int t = 0; t < threads; t++)
            {
                workers[t] = (LockFreeStress.Worker*)NativeMemory.AllocZeroed((nuint)sizeof(LockFreeStress.Worker));
                workers[t]->Id = t + 1;
                workers[t]->Seed = seed * (ulong)(2 * t + 1) | 1;
            }
            // Two phases with a quiescent accounting check between them.
            for (int phase = 0; phase < 2; phase++)
            {
                var list = new Thread[threads];
                for (int t = 0; t < threads; t++)
                {
                    LockFreeStress.Worker* w = workers[t];
                    list[t] = new Thread(() => stress.Run(w, totalOps / threads / 2));
                    list[t].Start();
                }
                foreach (Thread th in list) th.Join();
                Assert.True(stress.Failures == 0, stress.FirstFailure);

                LockFreeHeapStats stats = heap.Validate();
                (long[] live, long large) = stress.CountLive(workers);
                for (int c = 0; c < LockFreeHeap.SizeClassCount; c++)
                {
                    Assert.True(live[c] == stats.LiveBlocks(c), $"class {c}: workers hold {live[c]} blocks, the heap counts {stats.LiveBlocks(c)} live");
                }
                Assert.Equal(large, stats.LargeObjects);
                Assert.Equal(0, stats.RejectedFrees);
            }

            long ops = 0, nulls = 0;
            foreach (LockFreeStress.Worker* w in workers)
            {
                ops += w->Ops;
                nulls += w->Nulls;
            }
            Assert.True(ops >= totalOps - threads * 2, $"{ops} operations");
            if (mmap) Assert.Equal(0, nulls);
            Assert.True(nulls < ops / 10, $"{nulls} of {ops} allocations failed");

            stress.FreeAll(workers);
            Assert.True(stress.Failures == 0, stress.FirstFailure);
            LockFreeHeapStats end = heap.Validate();
            for (int c = 0; c < LockFreeHeap.SizeClassCount; c++) Assert.Equal(0, end.LiveBlocks(c));
            Assert.Equal(0, end.LargeObjects);
            Assert.Equal(0, end.RejectedFrees);
        }
        finally
        {
            foreach (LockFreeStress.Worker* w in workers) NativeMemory.Free(w);
        }
    }
}
