using NativeHeap.Sharded;

namespace NativeHeap.Tests.Sharded;

/// <summary>
/// Core v2's fast paths take no lock and allocate nothing managed; a thread's heap is native memory
/// only. Locks are counted by the engine itself (every pool and registry lock acquisition).
/// </summary>
[Collection("Sharded")]
public unsafe class ShardedFastPathTests
{
    [Fact]
    public void MallocAndLocalFreeTakeNoLockAndAllocateNothingManaged()
    {
        TestThreads.Run(() =>
        {
            var p = stackalloc nint[256];
            void Round()
            {
                // Pairs of every paged size class region, and a batch of mixed sizes (each class within one page).
                for (nuint size = 16; size <= 32768; size += 496) ShardedHeap.Free(ShardedHeap.Malloc(size));
                for (nuint size = 65536; size <= 512 * 1024; size += 65536) ShardedHeap.Free(ShardedHeap.Malloc(size));
                for (int i = 0; i < 256; i++) p[i] = (nint)ShardedHeap.Malloc((nuint)(16 + (i * 61) % 1009));
                for (int i = 0; i < 256; i++) ShardedHeap.Free((void*)p[i]);
            }
            for (int warm = 0; warm < 3; warm++) Round();
            long bytes = GC.GetAllocatedBytesForCurrentThread();
            long locks = ShardedHeap.LockEntries;
            for (int r = 0; r < 1000; r++) Round();
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - bytes);
            Assert.Equal(0, ShardedHeap.LockEntries - locks);
        });
    }

    [Fact]
    public void RemoteFreeTakesNoLockAndAllocatesNothingManaged()
    {
        const int N = 20_000;
        var blocks = new nint[N];
        long bytes = -1, locks = -1;
        using var allocated = new ManualResetEventSlim();
        using var freed = new ManualResetEventSlim();
        // The owner stays alive while the other thread frees, so every free is a remote one (an exited
        // owner's heap could be taken over by the freeing thread, making its frees local).
        TestThreads.Run(2, t =>
        {
            if (t == 0)
            {
                for (int i = 0; i < N; i++) blocks[i] = (nint)ShardedHeap.Malloc((nuint)(8 + i % 200));
                allocated.Set();
                freed.Wait();
            }
            else
            {
                ShardedHeap.Free(ShardedHeap.Malloc(8));   // this thread's heap exists before we measure
                allocated.Wait();
                long b0 = GC.GetAllocatedBytesForCurrentThread();
                long l0 = ShardedHeap.LockEntries;
                for (int i = 0; i < N; i++) ShardedHeap.Free((void*)blocks[i]);
                bytes = GC.GetAllocatedBytesForCurrentThread() - b0;
                locks = ShardedHeap.LockEntries - l0;
                freed.Set();
            }
        });
        Assert.Equal(0, bytes);
        Assert.Equal(0, locks);
        ShardedHeap.Validate();
    }

    [Fact]
    public void AThreadsHeapIsNativeMemoryOnly()
    {
        TestThreads.Run(() => ShardedHeap.Free(ShardedHeap.Malloc(8)));   // the exit key exists from here on
        long bytes = -1;
        TestThreads.Run(() =>
        {
            // The runtime makes the class's thread-static block on a thread's first access to t_heap
            // (a few hundred bytes, the runtime's, gone with the thread); touch it before measuring.
            Assert.False(ShardedHeap.CurrentThreadHasHeap);
            long b0 = GC.GetAllocatedBytesForCurrentThread();
            void* p = ShardedHeap.Malloc(100);                             // creates (or takes over) this thread's heap
            ShardedHeap.Free(p);
            bytes = GC.GetAllocatedBytesForCurrentThread() - b0;
        });
        // Nothing managed was made for the thread, so its exit leaves no managed object behind.
        Assert.Equal(0, bytes);
    }
}
