using System.Runtime.InteropServices;
using NativeHeap.Core;
using NativeHeap.General;
using NativeHeap.Os;
using NativeHeap.Sharded;

namespace NativeHeap.Tests.Sharded;

/// <summary>
/// Core v2's free pages go back to the OS: by decay once they have waited the decay time (driven with an
/// explicit "now", not by sleeping), and by Purge at once. Residency is read with mincore on the
/// pages' own ranges, so other processes' load cannot change the result.
/// </summary>
[Collection("Sharded")]
public unsafe class ShardedPurgeTests
{
    private static nuint Resident(Page* page)
    {
        Page.Bounds(page, out byte* start, out byte* end);
        byte* from = (byte*)(((nuint)start + OsMemory.PageSize - 1) & ~(nuint)(OsMemory.PageSize - 1));
        Assert.True(OsMemory.TryCountResident(from, (nuint)(end - from), out nuint n, out OsError e), e.ToString());
        return n;
    }

    /// <summary>The pages still in the pool (their segment still mapped), from a set of pages once used.</summary>
    private static List<nint> PooledPages(HashSet<nint> pages)
    {
        var pooled = new List<nint>();
        foreach (nint p in pages)
        {
            Segment* seg = Segment.Of((Page*)p);
            if (PageMap.Lookup(seg) == seg && Page.ReadHeap((Page*)p) == ShardedHeap.s_poolHeap) pooled.Add(p);
        }
        return pooled;
    }

    [Fact]
    public void DecayPurgesPagesThatWaitedAndPurgeTakesTheRest()
    {
        long savedDecay = SegmentPool.DecayMs;
        SegmentPool.DecayMs = 10_000;
        try
        {
            TestThreads.Run(() =>
            {
                var blocks = new nint[600];
                var pages = new HashSet<nint>();
                for (int i = 0; i < blocks.Length; i++)
                {
                    byte* p = (byte*)ShardedHeap.Malloc(1024);
                    NativeMemory.Fill(p, 1024, 0xab);
                    blocks[i] = (nint)p;
                    Segment* seg = Segment.Of((Page*)p);
                    pages.Add((nint)Segment.PageOf(seg, p));
                }
                // One block per segment stays live so the segments stay mapped; every other emptied page goes to the pool.
                var keepers = new Dictionary<nint, nint>();
                foreach (nint b in blocks) keepers.TryAdd((nint)Segment.Of((Page*)b), b);
                var kept = new HashSet<nint>(keepers.Values);
                foreach (nint b in blocks) if (!kept.Contains(b)) ShardedHeap.Free((void*)b);
                ShardedHeap.Collect();
                long now = HeapClock.Now();
                List<nint> pooled = PooledPages(pages);
                Assert.True(pooled.Count >= pages.Count - kept.Count, $"only {pooled.Count} of the {pages.Count} pages the blocks used are in the pool ({kept.Count} kept)");
                foreach (nint p in pooled) Assert.True(Resident((Page*)p) > 0, "a page just freed is not resident");

                SegmentPool.Decay(now - 1);                     // they waited less than the decay time
                foreach (nint p in PooledPages(pages))
                {
                    Assert.Equal(0, ((Page*)p)->Purged);
                    Assert.True(Resident((Page*)p) > 0, "decay purged a page before its time");
                }

                long purgedBefore = SegmentPool.PurgedPages;
                SegmentPool.Decay(now + 10_001);                // now they have
                pooled = PooledPages(pages);
                foreach (nint p in pooled)
                {
                    Assert.Equal(1, ((Page*)p)->Purged);
                    Assert.Equal((nuint)0, Resident((Page*)p));
                }
                Assert.True(SegmentPool.PurgedPages - purgedBefore >= pooled.Count);

                // Reused pages work (zeroes from the OS), and Purge returns them again at once.
                var again = new nint[600];
                for (int i = 0; i < again.Length; i++)
                {
                    byte* p = (byte*)ShardedHeap.Malloc(1024);
                    NativeMemory.Fill(p, 1024, 0xcd);
                    again[i] = (nint)p;
                }
                foreach (nint b in again) ShardedHeap.Free((void*)b);
                ShardedHeap.Collect();
                SegmentPool.Purge();
                foreach (nint p in PooledPages(pages)) Assert.Equal((nuint)0, Resident((Page*)p));
                foreach (nint b in kept) ShardedHeap.Free((void*)b);
            });
            ShardedHeap.Validate();
        }
        finally
        {
            SegmentPool.DecayMs = savedDecay;
        }
    }
}
