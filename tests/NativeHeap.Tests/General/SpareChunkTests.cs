namespace NativeHeap.Tests.General;

/// <summary>Spare-chunk migration, measured on the heap's global mapped bytes: runs alone (Serial).</summary>
[Collection("Serial")]
public unsafe class SpareChunkTests
{
    [Fact]
    public void EmptyChunksMoveToTheArenaThatNeedsThem()
    {
        Heap.Purge();
        long mapped0 = Heap.GetStats().Mapped;
        const int Blocks = 128;
        const nuint Size = 256 * 1024;   // large, above the thread-cache limit
        TestThreads.Run(() =>
        {
            Heap.CurrentThreadArena = 5;
            var p = new nint[Blocks];
            for (int i = 0; i < Blocks; i++) p[i] = (nint)Heap.Malloc(Size);
            for (int i = 0; i < Blocks; i++) Heap.Free((void*)p[i]);
        });
        long mapped1 = Heap.GetStats().Mapped;
        // Arena 5 may already own partly used chunks whose free pages serve a few blocks (< 2 chunks).
        Assert.True(mapped1 - mapped0 >= Blocks * (long)Size - (8L << 20), $"the first thread's blocks mapped only {(mapped1 - mapped0) >> 20} MiB");
        TestThreads.Run(() =>
        {
            Heap.CurrentThreadArena = 6;
            var p = new nint[Blocks];
            for (int i = 0; i < Blocks; i++) p[i] = (nint)Heap.Malloc(Size);
            long mapped2 = Heap.GetStats().Mapped;
            // Arena 6 grew from the chunks arena 5 gave up, not from new mappings.
            Assert.True(mapped2 - mapped1 <= 8L << 20, $"arena 6 mapped {(mapped2 - mapped1) >> 20} MiB more instead of reusing arena 5's empty chunks");
            for (int i = 0; i < Blocks; i++) Heap.Free((void*)p[i]);
        });
        Heap.Validate();
        Heap.Purge();
        Assert.True(Heap.GetStats().Mapped <= mapped0 + (8L << 20), "purge did not unmap the spare chunks");
    }
}
