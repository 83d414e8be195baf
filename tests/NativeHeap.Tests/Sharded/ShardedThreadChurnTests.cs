using System.Diagnostics;
using NativeHeap.Sharded;

namespace NativeHeap.Tests.Sharded;

/// <summary>
/// Exited threads' heaps are taken over by new threads and their pages absorbed by live ones, so
/// thread churn does not grow the heap: measured with the engine's own counters (heaps made, segments).
/// </summary>
[Collection("Sharded")]
public unsafe class ShardedThreadChurnTests
{
    /// <summary>Waits (bounded) until the exit destructors of joined threads have run and been seen.</summary>
    private static void WaitForExitsSeen(int maxLive)
    {
        var sw = Stopwatch.StartNew();
        while (ShardedHeap.CountHeaps().Live > maxLive && sw.Elapsed < TimeSpan.FromSeconds(20))
        {
            ShardedHeap.ScanExitedThreads();
            Thread.Sleep(1);
        }
        ShardedHeap.ScanExitedThreads();
        Assert.True(ShardedHeap.CountHeaps().Live <= maxLive, "the exit of a joined thread was never seen");
    }

    [Fact]
    public void ExitedThreadsHeapsAreReusedAndTheirPagesAbsorbed()
    {
        int rounds = Environment.GetEnvironmentVariable("NATIVEHEAP_LONG") == "1" ? 400 : 80;
        var leftovers = new List<nint>();
        TestThreads.Run(() => ShardedHeap.Free(ShardedHeap.Malloc(8)));
        ShardedHeap.ScanExitedThreads();
        int baseLive = ShardedHeap.CountHeaps().Live;
        WaitForExitsSeen(baseLive);
        long heapsBefore = ShardedHeap.HeapsMade;
        long segmentsWarm = -1, segmentsMid = -1;
        var trace = new System.Text.StringBuilder();
        try
        {
            for (int round = 0; round < rounds; round++)
            {
                var mine = new nint[600];
                TestThreads.Run(() =>
                {
                    var r = new Random(round);
                    for (int i = 0; i < mine.Length; i++)
                    {
                        nint p = (nint)ShardedHeap.Malloc((nuint)r.Next(1, 20_000));
                        *(long*)p = round;
                        mine[i] = p;
                    }
                    for (int i = 0; i < mine.Length; i += 2) ShardedHeap.Free((void*)mine[i]);
                });
                // Half the blocks outlive their thread; they are freed (remotely) after the next thread ran.
                foreach (nint p in leftovers) ShardedHeap.Free((void*)p);
                leftovers.Clear();
                for (int i = 1; i < mine.Length; i += 2)
                {
                    Assert.Equal(round, *(long*)mine[i]);
                    leftovers.Add(mine[i]);
                }
                WaitForExitsSeen(baseLive);
                if (round == 9) segmentsWarm = SegmentPool.SegmentCount;
                if (round == rounds / 2 - 1) segmentsMid = SegmentPool.SegmentCount;
                trace.Append(SegmentPool.SegmentCount).Append(' ');
            }
            // One heap structure serves every round (a new one only if a round raced its predecessor's exit),
            // and the segments in use do not grow with the number of threads that came and went.
            Assert.True(ShardedHeap.HeapsMade - heapsBefore <= 2, $"{ShardedHeap.HeapsMade - heapsBefore} heaps made for {rounds} sequential threads");
            // Which pages a new thread takes over and which a live one absorbs depends on when each exit is
            // seen, so the plateau is not always reached by round 10 (a CI run saw 4 segments there and 7 at
            // round 80, and a run beside the whole suite 7 at round 40 and 10 at round 80, flat from round 74).
            // The claim tested is that growth stops: the second half of the rounds adds at most four
            // segments to what the first half reached — a leak of one segment every eight rounds fails
            // here, and any steady leak fails with NATIVEHEAP_LONG=1's 400 rounds.
            long plateau = Math.Max(segmentsWarm, segmentsMid);
            Assert.True(SegmentPool.SegmentCount <= plateau + 4, $"segments grew from {segmentsWarm} after 10 rounds and {segmentsMid} after {rounds / 2} to {SegmentPool.SegmentCount} after {rounds} (per round: {trace})");
        }
        finally
        {
            TestThreads.Run(() =>
            {
                foreach (nint p in leftovers) ShardedHeap.Free((void*)p);
                ShardedHeap.Collect();       // absorbs the last abandoned heap
            });
        }
        ShardedHeap.Validate();
    }

    [Fact]
    public void ALiveThreadAbsorbsThePagesOfAnExitedOne()
    {
        const int N = 5000;
        var blocks = new nint[N];
        using var ready = new ManualResetEventSlim();
        using var go = new ManualResetEventSlim();
        nint producerHeap = 0;
        HeapState producerStateAfter = HeapState.Live;
        Exception? failure = null;
        // The consumer has its heap before the producer exits, so it cannot take the producer's heap over:
        // its frees are remote frees into an abandoned heap's full pages, and Collect must absorb them.
        var consumer = new Thread(() =>
        {
            try
            {
                ShardedHeap.Free(ShardedHeap.Malloc(48));
                ready.Set();
                go.Wait();
                for (int i = 0; i < N; i++)
                {
                    if (*(int*)blocks[i] != i) throw new InvalidOperationException($"block {i} corrupted");
                    ShardedHeap.Free((void*)blocks[i]);
                }
                ShardedHeap.Collect();
                producerStateAfter = ((ThreadHeap*)producerHeap)->State;
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        consumer.Start();
        ready.Wait();
        TestThreads.Run(() =>
        {
            for (int i = 0; i < N; i++)
            {
                blocks[i] = (nint)ShardedHeap.Malloc(48);
                *(int*)blocks[i] = i;
            }
            producerHeap = (nint)ShardedHeap.ForThisThread().Heap;
        });
        // Wait (bounded) until the producer's exit has been seen: its heap is Abandoned.
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(20))
        {
            ShardedHeap.ScanExitedThreads();
            if (((ThreadHeap*)producerHeap)->State != HeapState.Live) break;
            Thread.Sleep(1);
        }
        Assert.Equal(HeapState.Abandoned, ((ThreadHeap*)producerHeap)->State);
        go.Set();
        consumer.Join();
        Assert.Null(failure);
        // Collect absorbed every page of the producer's heap (its full pages came back through the
        // consumer's remote frees and the news), leaving the heap structure spare for reuse.
        Assert.Equal(HeapState.Spare, producerStateAfter);
        ShardedHeap.Validate();
    }
}
