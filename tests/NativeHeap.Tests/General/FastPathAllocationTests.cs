namespace NativeHeap.Tests.General;

/// <summary>The allocation and free fast paths allocate no managed memory (and so take no managed lock).</summary>
public unsafe class FastPathAllocationTests
{
    [Fact]
    public void MallocAndFreeAllocateNoManagedMemory()
    {
        TestThreads.Run(() =>
        {
            // Warm up: create the thread's cache and fill every bin we use.
            var ptrs = stackalloc nint[256];
            for (int round = 0; round < 3; round++)
            {
                for (int i = 0; i < 256; i++) ptrs[i] = (nint)Heap.Malloc((nuint)(16 + (i * 61) % 30000));
                for (int i = 0; i < 256; i++) Heap.Free((void*)ptrs[i]);
            }
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int round = 0; round < 1000; round++)
            {
                for (int i = 0; i < 256; i++) ptrs[i] = (nint)Heap.Malloc((nuint)(16 + (i * 61) % 30000));
                for (int i = 0; i < 256; i++) Heap.Free((void*)ptrs[i]);
                void* s = Heap.Malloc(200);
                Heap.SizedFree(s, 200);
                void* z = Heap.Calloc(10, 10);
                Heap.Free(z);
            }
            long after = GC.GetAllocatedBytesForCurrentThread();
            Assert.Equal(0, after - before);
        });
    }

    [Fact]
    public void SlowPathsAllocateNoManagedMemoryEither()
    {
        // Refills, flushes, large and huge blocks, realloc and aligned allocation: still no managed allocation.
        TestThreads.Run(() =>
        {
            Heap.Free(Heap.Malloc(8));
            var p = stackalloc nint[600];
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int round = 0; round < 20; round++)
            {
                for (int i = 0; i < 600; i++) p[i] = (nint)Heap.Malloc((nuint)(i * 997 % 3_000_000 + 1));
                for (int i = 0; i < 600; i++) p[i] = (nint)Heap.Realloc((void*)p[i], (nuint)(i * 331 % 100_000 + 1));
                for (int i = 0; i < 600; i++) Heap.Free((void*)p[i]);
                void* a = Heap.AlignedAlloc(1 << 16, 5000);
                Heap.Free(a);
            }
            long after = GC.GetAllocatedBytesForCurrentThread();
            Assert.Equal(0, after - before);
        }, 4 << 20);
    }
}
