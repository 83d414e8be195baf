// Deterministic ABA tests. (1) On a superblock anchor: an allocation is suspended inside its window
// (after reading the next link of the anchor's avail block, before the anchor CAS) while "another
// thread" allocates the top two blocks and frees the first one back, the classic ABA schedule: the
// anchor shows avail = A again, but A's link now names C instead of B. A CAS that compared only avail
// would install B (allocated) as the next free block and hand it out twice; in this schedule the
// anchor's count changes too, so this test fails only if the CAS stopped comparing the whole word (the
// tag covers longer schedules in which count comes back as well). (2) On a partial list (below), where
// the tag alone stops ABA: that test fails when the head's tag is removed.
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
        using var heap = LockFreeHeap.CreateUncached(LockFreeHeap.MinHeapSize, shards: 1); // the algorithm itself, no thread cache
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

/// <summary>
/// ABA on a partial list (a tagged Treiber stack of superblock descriptors): a pop suspended after reading
/// the top's next link while another thread pops the top two descriptors and pushes the first back. The
/// head shows the same descriptor again, but its link now skips the second one, which that thread holds.
/// Without the head's tag the suspended CAS succeeds and installs the held descriptor as the head: the
/// same superblock would then be on the list and in a thread's hands. (On the anchor, by contrast, the
/// count field changes in the classic schedule too; the tag is what covers the longer schedules there.)
/// </summary>
public sealed unsafe class LockFreeListAbaTests
{
    private struct ListAbaPause(nint header, uint* taken) : IPopPause
    {
        private int _calls;

        public void AfterReadingNext()
        {
            if (_calls++ != 0) return;
            var h = (HeapHeader*)header;
            var none = default(NoPause);
            taken[0] = LockFreeCore.ListPop(h, 0, ref none); // pops X
            taken[1] = LockFreeCore.ListPop(h, 0, ref none); // pops Y (held from now on)
            LockFreeCore.ListPush(h, 0, taken[0]);           // pushes X back: the head shows X again
        }
    }

    [Fact]
    public void SuspendedListPopDoesNotInstallAHeldDescriptor()
    {
        using var heap = LockFreeHeap.CreateUncached(LockFreeHeap.MinHeapSize, shards: 1); // the algorithm itself, no thread cache
        // Fill three superblocks of 16-byte blocks (they become FULL), then free one block of each: each
        // goes FULL -> PARTIAL and onto class 0's partial list (Z, Y, X from the bottom).
        var firsts = new nint[3];
        for (int sb = 0; sb < 3; sb++)
        {
            for (int i = 0; i < 1024; i++)
            {
                nint p = (nint)heap.Allocate(16);
                Assert.True(p != 0);
                if (i == 0) firsts[sb] = p;
            }
        }
        for (int sb = 0; sb < 3; sb++) heap.Free((void*)firsts[sb]);
        HeapHeader* h = heap.Header;
        uint x = LockFreeCore.UnitOf(h, (byte*)firsts[2]), y = LockFreeCore.UnitOf(h, (byte*)firsts[1]), z = LockFreeCore.UnitOf(h, (byte*)firsts[0]);

        uint* taken = stackalloc uint[2];
        var pause = new ListAbaPause((nint)h, taken);
        uint popped = LockFreeCore.ListPop(h, 0, ref pause);
        Assert.Equal(x, taken[0]);
        Assert.Equal(y, taken[1]);
        Assert.Equal(x, popped);             // the retry pops X again, after the interference
        // Y is held by the interfering "thread": the list must now be Z alone.
        var none = default(NoPause);
        Assert.Equal(z, LockFreeCore.ListPop(h, 0, ref none));
        Assert.Equal(uint.MaxValue, LockFreeCore.ListPop(h, 0, ref none));
        // Put X and Y back as the heap had them, so Validate sees a consistent heap.
        LockFreeCore.ListPush(h, 0, z);
        LockFreeCore.ListPush(h, 0, y);
        LockFreeCore.ListPush(h, 0, x);
        heap.Validate();
    }
}
