namespace NativeHeap.Tests.General;

/// <summary>
/// Heap.TryMallocCached / TryFreeCached (used by the C ABI to skip errno handling on cache hits) do
/// exactly the work of Malloc's and Free's thread-cache hits, and miss (changing nothing) otherwise.
/// </summary>
public unsafe class CachedPathTests
{
    [Fact]
    public void CachedHitsBehaveAsTheFastPaths()
    {
        TestThreads.Run(() =>
        {
            Assert.True(Heap.TryMallocCached(64) == null); // a new thread has no cache yet

            void* p = Heap.Malloc(64); // creates the cache and fills the bin
            Heap.Free(p);               // a cache hit: p is on top of the bin
            ulong allocated = Heap.ThreadAllocatedBytes;
            void* q = Heap.TryMallocCached(50); // same class (64 B): the block Malloc would return
            Assert.True(q == p);
            Assert.Equal(allocated + 64, Heap.ThreadAllocatedBytes);

            ulong freed = Heap.ThreadDeallocatedBytes;
            Assert.True(Heap.TryFreeCached(q));
            Assert.Equal(freed + 64, Heap.ThreadDeallocatedBytes);
            Assert.True(Heap.Malloc(64) == p); // Malloc finds the block TryFreeCached pushed

            int local;
            Assert.False(Heap.TryFreeCached(null));
            Assert.False(Heap.TryFreeCached(&local)); // not NativeHeap's: left for Free to report

            void* huge = Heap.Malloc(8 << 20); // huge blocks never go through the cache
            Assert.False(Heap.TryFreeCached(huge));
            Assert.True(Heap.TryMallocCached(8 << 20) == null);
            Heap.Free(huge);
            Heap.Free(p);
        });
    }
}
