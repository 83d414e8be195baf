using System.Runtime.InteropServices;
using NativeHeap.Core;
using NativeHeap.Sharded;

namespace NativeHeap.Tests.Sharded;

/// <summary>Core v2 single-thread behaviour: every class, usable sizes, contents, huge blocks, bad pointers.</summary>
[Collection("Sharded")]
public unsafe class ShardedBasicTests
{
    [Fact]
    public void EveryPagedClassGivesItsJemallocClassSizeAndKeepsContents()
    {
        TestThreads.Run(() =>
        {
            for (int cls = 0; cls < ThreadHeap.NClasses; cls++)
            {
                nuint size = SizeClasses.s_sizes[cls];
                var blocks = new nint[20];
                for (int i = 0; i < blocks.Length; i++)
                {
                    nuint request = size - (nuint)(i % 3);
                    byte* p = (byte*)ShardedHeap.Malloc(request);
                    Assert.True(p != null);
                    Assert.Equal(SizeClasses.RoundUp(request), ShardedHeap.UsableSize(p));
                    if (size >= 16) Assert.Equal(0, (int)((nuint)p & 15));
                    p[0] = (byte)i;
                    p[request - 1] = (byte)(i + 1);
                    blocks[i] = (nint)p;
                }
                Assert.Equal(blocks.Length, blocks.Distinct().Count());
                for (int i = 0; i < blocks.Length; i++)
                {
                    byte* p = (byte*)blocks[i];
                    nuint request = size - (nuint)(i % 3);
                    Assert.Equal((byte)i, p[0]);
                    Assert.Equal((byte)(i + 1), p[request - 1]);
                    ShardedHeap.Free(p);
                }
            }
            ShardedHeap.Validate();
        });
    }

    [Fact]
    public void SizeZeroGetsTheSmallestClass()
    {
        TestThreads.Run(() =>
        {
            void* p = ShardedHeap.Malloc(0);
            Assert.Equal((nuint)8, ShardedHeap.UsableSize(p));
            ShardedHeap.Free(p);
        });
    }

    [Fact]
    public void HugeBlocksHaveTheirOwnMappingAndGoBackAtOnce()
    {
        TestThreads.Run(() =>
        {
            long before = SegmentPool.HugeCount;
            nuint[] sizes = [512 * 1024 + 1, 3 << 20, 9 << 20];
            foreach (nuint n in sizes)
            {
                byte* p = (byte*)ShardedHeap.Malloc(n);
                Assert.True(p != null);
                Assert.Equal(SizeClasses.RoundUp(n), ShardedHeap.UsableSize(p));
                p[0] = 1;
                p[n - 1] = 2;
                Assert.Equal(before + 1, SegmentPool.HugeCount);
                Assert.Throws<HeapMisuseException>(() => ShardedHeap.Free(p + 4096));
                ShardedHeap.Free(p);
                Assert.Equal(before, SegmentPool.HugeCount);
                Assert.Equal((nuint)0, ShardedHeap.UsableSize(p));
            }
            Assert.True(ShardedHeap.Malloc(unchecked((nuint)(-4096L))) == null);
        });
    }

    [Fact]
    public void ForeignPointersAreRejectedAndChangeNothing()
    {
        TestThreads.Run(() =>
        {
            void* keep = ShardedHeap.Malloc(64);
            void* glibc = NativeMemory.Alloc(64);
            void* stack = stackalloc byte[16];
            Assert.Throws<HeapMisuseException>(() => ShardedHeap.Free(glibc));
            nint s = (nint)stack;
            Assert.Throws<HeapMisuseException>(() => ShardedHeap.Free((void*)s));
            Assert.Equal((nuint)0, ShardedHeap.UsableSize(glibc));
            ShardedHeap.Free(null);
            NativeMemory.Free(glibc);
            ShardedHeap.Free(keep);
            ShardedHeap.Validate();
        });
    }

    [Fact]
    public void TheCurrentCoreRejectsCoreV2PointersAndTheOtherWayRound()
    {
        TestThreads.Run(() =>
        {
            void* v2 = ShardedHeap.Malloc(100);
            void* v1 = Heap.Malloc(100);
            Assert.Throws<HeapMisuseException>(() => Heap.Free(v2));
            Assert.Throws<HeapMisuseException>(() => ShardedHeap.Free(v1));
            Heap.Free(v1);
            ShardedHeap.Free(v2);
            ShardedHeap.Validate();
        });
    }

    [Fact]
    public void AFreeOfABlockWhosePageWentBackToThePoolIsRejected()
    {
        TestThreads.Run(() =>
        {
            // 20 blocks of 8 KiB span at least three pages; once all are freed and collected, the pages
            // went back to the pool (a page still holding someone else's block stays: skip those).
            var p = new nint[20];
            for (int i = 0; i < p.Length; i++) p[i] = (nint)ShardedHeap.Malloc(8192);
            for (int i = p.Length - 1; i >= 0; i--) ShardedHeap.Free((void*)p[i]);
            ShardedHeap.Collect();
            nint victim = p.FirstOrDefault(x => ShardedHeap.UsableSize((void*)x) == 0);
            Assert.True(victim != 0, "no page of the freed blocks went back to the pool");
            Assert.Throws<HeapMisuseException>(() => ShardedHeap.Free((void*)victim));
            ShardedHeap.Validate();
        });
    }

    [Fact]
    public void EmptyPagesLeaveTheHeapAtOnceAndCollectReturnsTheLastOne()
    {
        TestThreads.Run(() =>
        {
            // 64 KiB blocks: 7 on a segment's page 0, 8 on the others; 40 of them span at least 5 pages.
            int cls = SizeClasses.SizeToIndex(65536);
            var p = new nint[40];
            for (int i = 0; i < p.Length; i++) p[i] = (nint)ShardedHeap.Malloc(65536);
            Assert.True(ShardedHeap.CurrentHeapPages(cls) >= 5);
            for (int i = 0; i < p.Length; i++) ShardedHeap.Free((void*)p[i]);
            // Every emptied page went back to the pool as it emptied, except the class's last one.
            Assert.Equal(1, ShardedHeap.CurrentHeapPages(cls));
            ShardedHeap.Validate();
            ShardedHeap.Collect();
            Assert.Equal(0, ShardedHeap.CurrentHeapPages(cls));
            ShardedHeap.Validate();
        });
    }

    [Fact]
    public void TheThreadHandleAllocatesFromTheThreadsHeap()
    {
        TestThreads.Run(() =>
        {
            ShardedThreadHandle h = ShardedHeap.ForThisThread();
            var p = new nint[1000];
            for (int i = 0; i < p.Length; i++) p[i] = (nint)h.Malloc((nuint)(i % 700 + 1));
            for (int i = 0; i < p.Length; i += 2) ShardedHeap.Free((void*)p[i]);
            for (int i = 1; i < p.Length; i += 2) h.Free((void*)p[i]);
            ShardedHeap.Validate();
        });
    }
}
