// Deterministic ABA test: an allocation is suspended inside its ABA window (after reading the next
// link of the anchor's avail block, before the anchor CAS) while "another thread" allocates the top two
// blocks and frees the first one back, the classic ABA schedule: the anchor shows avail = A again, but
// A's link now names C instead of B. Stress runs hit this window too rarely to prove anything; this
// test forces it. Without the anchor tag, the suspended CAS would succeed and install B (allocated) as
// the next free block, so the heap would hand B out twice.
using NativeHeap.LockFree;

namespace NativeHeap.Tests.LockFree;

public sealed unsafe class LockFreeAbaTests
{
    private struct AbaPause(LockFreeHeap heap, nint* slots) : IPopPause
    {
        private int _calls;

        public void AfterReadingNext()
        {
            if (_calls++ != 0) return;          // interfere with the first attempt only
            slots[0] = (nint)heap.Allocate(16); // pops A
            slots[1] = (nint)heap.Allocate(16); // pops B
            heap.Free((void*)slots[0]);         // pushes A back: the anchor shows A again
        }
    }

    [Fact]
    public void SuspendedPopDoesNotInstallAnAllocatedBlock()
    {
        using var heap = new LockFreeHeap(LockFreeHeap.MinHeapSize, shards: 1);
        byte* a = (byte*)heap.Allocate(16);
        byte* b = (byte*)heap.Allocate(16);
        heap.Free(b);
        heap.Free(a); // superblock chain: A -> B -> ...

        nint* slots = stackalloc nint[2];
        var pause = new AbaPause(heap, slots);
        byte* popped = (byte*)heap.AllocateForTest(16, ref pause);
        Assert.Equal((nint)a, (nint)popped);
        Assert.Equal((nint)a, slots[0]);
        Assert.Equal((nint)b, slots[1]); // B is allocated by the interfering "thread"

        // B must not be free: the next allocations must never return it (nor A).
        for (int i = 0; i < 16; i++)
        {
            nint p = (nint)heap.Allocate(16);
            Assert.NotEqual((nint)b, p);
            Assert.NotEqual((nint)a, p);
        }
        LockFreeHeapStats stats = heap.Validate();
        Assert.Equal(2 + 16, stats.LiveBlocks(0)); // A (popped by the test), B, and the 16 above
    }
}
