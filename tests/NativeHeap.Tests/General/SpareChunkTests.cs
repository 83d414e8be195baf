using NativeHeap.General;

namespace NativeHeap.Tests.General;

/// <summary>
/// Spare-chunk migration between automatic arenas. Measured on the two arenas involved and the spare
/// pool only (other arenas may map or unmap meanwhile), and run serially.
/// </summary>
[Collection("Serial")]
public unsafe class SpareChunkTests
{
    private static (long Arena5, long Arena6, long Spare) Mapped()
    {
        HeapStats s = Heap.GetStats();
        long Of(int i) => s.Arenas.FirstOrDefault(a => a.Index == i)?.Mapped ?? 0;
        return (Of(5), Of(6), (long)s.SpareChunks * (4L << 20));
    }

    [Fact]
    public void EmptyChunksMoveToTheArenaThatNeedsThem()
    {
        // Decay releases pooled chunks once they are older than dirty_decay_ms: on a loaded machine
        // the steps below can take that long, so the heap's clock is frozen for the test (the pool's
        // behaviour, not the machine's speed, is what is measured).
        long frozen = Environment.TickCount64;
        HeapClock.Set(() => frozen);
        try
        {
            MoveBetweenArenas();
        }
        finally
        {
            HeapClock.Set(null);
        }
    }

    private static void MoveBetweenArenas()
    {
        const int Blocks = 256;      // 64 MiB: far more than the free pages arenas 5 and 6 may already own
        const nuint Size = 256 * 1024;   // large, above the thread-cache limit
        Heap.Purge();
        var m0 = Mapped();
        long heldByFirst = 0;
        TestThreads.Run(() =>
        {
            Heap.CurrentThreadArena = 5;
            var p = new nint[Blocks];
            for (int i = 0; i < Blocks; i++) p[i] = (nint)Heap.Malloc(Size);
            heldByFirst = Mapped().Arena5 - m0.Arena5;
            for (int i = 0; i < Blocks; i++) Heap.Free((void*)p[i]);
        });
        // Arena 5 may already own partly used chunks whose free pages serve some of the blocks.
        Assert.True(heldByFirst >= 32L << 20, $"arena 5 grew by only {heldByFirst >> 20} MiB for 64 MiB of blocks");
        var m1 = Mapped();
        Assert.True(m1.Spare - m0.Spare >= heldByFirst - (8L << 20), $"only {(m1.Spare - m0.Spare) >> 20} of the {heldByFirst >> 20} MiB arena 5 mapped reached the spare pool");
        TestThreads.Run(() =>
        {
            Heap.CurrentThreadArena = 6;
            var p = new nint[Blocks];
            for (int i = 0; i < Blocks; i++) p[i] = (nint)Heap.Malloc(Size);
            var m2 = Mapped();
            long grown = (m2.Arena5 + m2.Arena6 + m2.Spare) - (m1.Arena5 + m1.Arena6 + m1.Spare);
            // Arena 6 grew from the chunks arena 5 gave up: it maps new chunks only once the pool is empty
            // (arena 5 may have donated fewer chunks than arena 6 needs when it already owned free pages).
            Assert.True(grown <= 8L << 20 || m2.Spare <= 4L << 20,
                $"arenas 5, 6 and the pool mapped {grown >> 20} MiB more while {m2.Spare >> 20} MiB of spare chunks stayed unused");
            Assert.True(m1.Spare - m2.Spare >= 16L << 20, $"arena 6 took only {(m1.Spare - m2.Spare) >> 20} MiB from the pool");
            for (int i = 0; i < Blocks; i++) Heap.Free((void*)p[i]);
        });
        Heap.Validate();
        Heap.Purge();
        Assert.Equal(0, Heap.GetStats().SpareChunks);
    }
}
