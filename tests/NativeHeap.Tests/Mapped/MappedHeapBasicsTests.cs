using NativeHeap.Mapped;
using NativeHeap.Os;

namespace NativeHeap.Tests.Mapped;

public unsafe class MappedHeapBasicsTests
{
    private static MappedHeap Open(string path, MappedHeapOptions? options = null)
    {
        Assert.True(MappedHeap.TryAttach(path, options, out MappedHeap? heap, out MappedHeapFailure f), f.ToString());
        return heap!;
    }

    private static void AssertConsistent(MappedHeap heap)
    {
        Assert.True(heap.Check(out string? problem), problem);
    }

    [Fact]
    public void CreatesAllocatesWritesAndReopensWithData()
    {
        using var dir = new TempDir();
        string path = dir.File("a.heap");
        nint recorded;
        using (MappedHeap heap = Open(path))
        {
            Assert.True(heap.WasCleanlyClosed);
            byte* p = (byte*)heap.Allocate(100);
            Assert.True(p != null);
            Assert.Equal(0, (long)p % 16);
            for (int i = 0; i < 100; i++) p[i] = (byte)i;
            Assert.True(heap.TrySetKey(3, p));
            Assert.True(heap.TrySetRoot("numbers", p));
            recorded = heap.RecordedBase;
            Assert.Equal((nint)heap.Base, recorded);
            AssertConsistent(heap);
        }
        using (MappedHeap heap = Open(path))
        {
            Assert.True(heap.WasCleanlyClosed);
            Assert.False(heap.IsRelocated);
            Assert.Equal(recorded, (nint)heap.Base);
            byte* p = (byte*)heap.GetKey(3);
            Assert.True(p == heap.GetRoot("numbers"));
            for (int i = 0; i < 100; i++) Assert.Equal((byte)i, p[i]);
            Assert.True(heap.UsableSize(p) >= 100);
            AssertConsistent(heap);
        }
    }

    [Fact]
    public void FreeCoalescesBackToOneBlock()
    {
        using var dir = new TempDir();
        using MappedHeap heap = Open(dir.File("c.heap"));
        var blocks = new List<nint>();
        for (int i = 0; i < 200; i++) blocks.Add((nint)heap.Allocate((nuint)(16 + i * 13)));
        MappedHeapStats mid = heap.GetStats();
        Assert.Equal(200, mid.AllocatedBlocks);
        foreach (int i in Enumerable.Range(0, 200).Where(i => i % 2 == 0)) Assert.True(heap.TryFree((void*)blocks[i]));
        AssertConsistent(heap);
        foreach (int i in Enumerable.Range(0, 200).Where(i => i % 2 == 1)) Assert.True(heap.TryFree((void*)blocks[i]));
        AssertConsistent(heap);
        MappedHeapStats end = heap.GetStats();
        Assert.Equal(0, end.AllocatedBlocks);
        Assert.Equal(1, end.FreeBlocks);
        Assert.Equal(0.0, end.Fragmentation);
    }

    [Fact]
    public void ReallocateKeepsContentsInPlaceAndWhenMoving()
    {
        using var dir = new TempDir();
        using MappedHeap heap = Open(dir.File("r.heap"));
        byte* p = (byte*)heap.Allocate(40);
        for (int i = 0; i < 40; i++) p[i] = (byte)(i + 1);
        byte* q = (byte*)heap.Reallocate(p, 400); // the next block is free: grows in place
        Assert.True(q == p);
        byte* blocker = (byte*)heap.Allocate(16);  // pins the space after q
        byte* r = (byte*)heap.Reallocate(q, 5000); // must move
        Assert.True(r != q && r != null);
        for (int i = 0; i < 40; i++) Assert.Equal((byte)(i + 1), r[i]);
        byte* s = (byte*)heap.Reallocate(r, 8);    // shrink in place
        Assert.True(s == r);
        Assert.Equal((byte)1, s[0]);
        AssertConsistent(heap);
        Assert.True(heap.Reallocate(s, 0) == null);
        Assert.Equal(MappedHeapError.None, heap.LastError);
        Assert.False(heap.TryFree(s));
        Assert.Equal(MappedHeapError.DoubleFree, heap.LastError);
        Assert.True(heap.TryFree(blocker));
        AssertConsistent(heap);
    }

    [Fact]
    public void PageAlignedAllocationsArePageAligned()
    {
        using var dir = new TempDir();
        using MappedHeap heap = Open(dir.File("v.heap"));
        var list = new List<nint>();
        for (int i = 0; i < 50; i++)
        {
            heap.Allocate((nuint)(i * 37 + 1)); // disturb the layout
            byte* p = (byte*)heap.AllocatePageAligned((nuint)(1 + i * 300));
            Assert.True(p != null);
            Assert.Equal(0, (long)p % OsMemory.PageSize);
            new Span<byte>(p, 1 + i * 300).Fill(0xAB);
            list.Add((nint)p);
        }
        AssertConsistent(heap);
        foreach (nint p in list) Assert.True(heap.TryFree((void*)p));
        AssertConsistent(heap);
    }

    [Fact]
    public void BadPointersAndSizesAreRejectedWithoutDamage()
    {
        using var dir = new TempDir();
        using MappedHeap heap = Open(dir.File("e.heap"), new MappedHeapOptions { MaxSize = 4 << 20 });
        byte* p = (byte*)heap.Allocate(64);
        Assert.False(heap.TryFree(p + 16));
        Assert.Equal(MappedHeapError.InvalidPointer, heap.LastError);
        int local = 0;
        Assert.False(heap.TryFree(&local));
        Assert.Equal(MappedHeapError.InvalidPointer, heap.LastError);
        Assert.True(heap.TryFree(p));
        Assert.False(heap.TryFree(p));
        Assert.Equal(MappedHeapError.DoubleFree, heap.LastError);
        Assert.True(heap.Allocate(nuint.MaxValue) == null);
        Assert.Equal(MappedHeapError.InvalidSize, heap.LastError);
        Assert.True(heap.Allocate(5 << 20) == null);
        Assert.Equal(MappedHeapError.InvalidSize, heap.LastError);
        Assert.False(heap.TrySetKey(MappedHeap.KeyCount, null));
        Assert.Equal(MappedHeapError.InvalidKey, heap.LastError);
        Assert.False(heap.TrySetKey(0, &local));
        Assert.Equal(MappedHeapError.InvalidPointer, heap.LastError);
        Assert.False(heap.TrySetRoot(new string('x', MappedHeap.MaxRootNameBytes + 1), null));
        Assert.Equal(MappedHeapError.InvalidName, heap.LastError);
        Assert.False(heap.TrySetRoot("", null));
        AssertConsistent(heap);
    }

    [Fact]
    public void PointersAreCheckedEvenWhenTheHeapIsTrimmedToNothing()
    {
        using var dir = new TempDir();
        string path = dir.File("empty.heap");
        using MappedHeap heap = Open(path, new MappedHeapOptions { MaxSize = 4 << 20 });
        byte* p = (byte*)heap.Allocate(100);
        Assert.True(heap.TryFree(p));
        Assert.True(heap.TryTrim(out long released));
        Assert.True(released > 0);
        Assert.Equal(64 * 1024, new FileInfo(path).Length); // only the header is left
        Assert.Equal(0, heap.GetStats().FreeBlocks + heap.GetStats().AllocatedBlocks);
        // These point past the end of the file: they must be rejected without being read.
        Assert.False(heap.TryFree(p));
        Assert.Equal(MappedHeapError.InvalidPointer, heap.LastError);
        Assert.False(heap.TryFree(heap.Base + (1 << 20)));
        Assert.Equal((nuint)0, heap.UsableSize(p));
        AssertConsistent(heap);
        byte* q = (byte*)heap.Allocate(100);
        Assert.True(q != null);
        Assert.True(heap.UsableSize(q) >= 100);
        AssertConsistent(heap);
    }

    [Fact]
    public void GrowsTheFileUpToTheMaximumThenReportsFullAndTrimShrinksIt()
    {
        using var dir = new TempDir();
        string path = dir.File("g.heap");
        using MappedHeap heap = Open(path, new MappedHeapOptions { MaxSize = 2 << 20, InitialSize = 128 << 10, GrowthStep = 64 << 10 });
        long initial = new FileInfo(path).Length;
        Assert.Equal(128 << 10, initial);
        var blocks = new List<nint>();
        while (true)
        {
            void* p = heap.Allocate(10_000);
            if (p == null) break;
            blocks.Add((nint)p);
        }
        Assert.Equal(MappedHeapError.HeapFull, heap.LastError);
        Assert.True(blocks.Count > 150, $"only {blocks.Count} blocks");
        Assert.True(new FileInfo(path).Length <= 2 << 20);
        Assert.True(new FileInfo(path).Length > (2 << 20) - 64 * 1024);
        AssertConsistent(heap);
        foreach (nint p in blocks) heap.TryFree((void*)p);
        Assert.True(heap.TryTrim(out long released));
        Assert.True(released > 1 << 20);
        Assert.True(new FileInfo(path).Length < 128 << 10);
        AssertConsistent(heap);
        Assert.True(heap.Allocate(100_000) != null); // grows again
        AssertConsistent(heap);
    }

    [Fact]
    public void NamedRootsSetReplaceRemoveAndList()
    {
        using var dir = new TempDir();
        using MappedHeap heap = Open(dir.File("n.heap"));
        void* a = heap.Allocate(8), b = heap.Allocate(8);
        Assert.True(heap.TrySetRoot("alpha", a));
        Assert.True(heap.TrySetRoot("βeta", b));
        Assert.True(heap.GetRoot("alpha") == a);
        Assert.True(heap.TrySetRoot("alpha", b));
        Assert.True(heap.GetRoot("alpha") == b);
        Assert.Equal(2, heap.GetRoots().Count);
        Assert.True(heap.TryRemoveRoot("alpha"));
        Assert.True(heap.GetRoot("alpha") == null);
        Assert.Single(heap.GetRoots());
        Assert.Equal("βeta", heap.GetRoots()[0].Key);
        for (int i = 0; i < MappedHeap.NamedRootCapacity - 1; i++) Assert.True(heap.TrySetRoot("k" + i, a));
        Assert.False(heap.TrySetRoot("one-too-many", a));
        Assert.Equal(MappedHeapError.RootTableFull, heap.LastError);
        AssertConsistent(heap);
    }

    [Fact]
    public void AnonymousHeapsAndManyHeapsAtOnceAreIndependent()
    {
        using var dir = new TempDir();
        var heaps = new List<MappedHeap>();
        for (int i = 0; i < 4; i++) heaps.Add(Open(dir.File($"m{i}.heap")));
        Assert.True(MappedHeap.TryAttachAnonymous(null, out MappedHeap? anon, out MappedHeapFailure f), f.ToString());
        heaps.Add(anon!);
        var ptrs = heaps.Select(h => (nint)h.Allocate(32)).ToList();
        for (int i = 0; i < heaps.Count; i++)
        {
            *(int*)ptrs[i] = i;
            Assert.True(heaps[i].TrySetKey(0, (void*)ptrs[i]));
            // A pointer of another heap is foreign here.
            Assert.False(heaps[i].TryFree((void*)ptrs[(i + 1) % heaps.Count]));
        }
        for (int i = 0; i < heaps.Count; i++) Assert.Equal(i, *(int*)heaps[i].GetKey(0));
        nint at = (nint)(0x5C00_0000_0000L + Random.Shared.Next(1, 1000) * (1L << 30));
        Assert.True(MappedHeap.TryAttachAnonymous(new MappedHeapOptions { BaseAddress = at, MaxSize = 4 << 20 }, out MappedHeap? placed, out f), f.ToString());
        Assert.Equal(at, (nint)placed!.Base);
        Assert.True(placed.Allocate(100) != null);
        Assert.False(MappedHeap.TryAttachAnonymous(new MappedHeapOptions { BaseAddress = at, MaxSize = 4 << 20 }, out _, out f));
        Assert.Equal(MappedHeapError.AddressInUse, f.Code);
        heaps.Add(placed);
        foreach (MappedHeap h in heaps) { AssertConsistent(h); Assert.True(h.TryDetach()); }
        Assert.False(heaps[0].TryDetach());
        Assert.Equal(MappedHeapError.Detached, heaps[0].LastError);
        Assert.Throws<ObjectDisposedException>(() => heaps[0].Allocate(8));   // use after detach (Dispose)
    }

    [Fact]
    public void SecondAttachInTheSameProcessIsLocked()
    {
        using var dir = new TempDir();
        string path = dir.File("l.heap");
        using MappedHeap heap = Open(path);
        Assert.False(MappedHeap.TryAttach(path, null, out _, out MappedHeapFailure f));
        Assert.Equal(MappedHeapError.Locked, f.Code);
        Assert.False(MappedHeap.TryAttach(path, new MappedHeapOptions { ReadOnly = true }, out _, out f));
        Assert.Equal(MappedHeapError.Locked, f.Code);
    }

    [Fact]
    public void ReadOnlyAttachReadsButDoesNotWrite()
    {
        using var dir = new TempDir();
        string path = dir.File("ro.heap");
        using (MappedHeap heap = Open(path)) { heap.TrySetRoot("x", heap.Allocate(10)); }
        string before = MappedTestFiles.Hash(path);
        using (MappedHeap heap = Open(path, new MappedHeapOptions { ReadOnly = true }))
        {
            Assert.True(heap.GetRoot("x") != null);
            Assert.True(heap.UsableSize(heap.GetRoot("x")) >= 10);
            Assert.False(heap.TryFree(heap.GetRoot("x")));
            Assert.Equal(MappedHeapError.ReadOnly, heap.LastError);
            Assert.True(heap.Allocate(10) == null);
            Assert.Equal(MappedHeapError.ReadOnly, heap.LastError);
            Assert.False(heap.TrySetKey(1, null));
            AssertConsistent(heap);
        }
        Assert.Equal(before, MappedTestFiles.Hash(path));
    }

    private struct Node
    {
        public Offset<Node> Next;
        public long Value;
    }

    [Fact]
    public void RelocatesWhenAllowedAndOffsetsKeepWorking()
    {
        using var dir = new TempDir();
        string path = dir.File("o.heap");
        nint recorded;
        using (MappedHeap heap = Open(path, new MappedHeapOptions { MaxSize = 8 << 20 }))
        {
            recorded = heap.RecordedBase;
            Offset<Node> head = default;
            for (int i = 0; i < 10; i++)
            {
                Node* n = (Node*)heap.Allocate((nuint)sizeof(Node));
                n->Value = i;
                n->Next = head;
                head = Offset<Node>.Of(heap, n);
            }
            Assert.True(heap.TrySetKey(0, head.In(heap)));
        }
        // Take the recorded base so the heap cannot go back there.
        Assert.True(OsMemory.TryMapAt((void*)recorded, OsMemory.PageSize, out OsError err), err.ToString());
        try
        {
            Assert.False(MappedHeap.TryAttach(path, null, out _, out MappedHeapFailure f));
            Assert.Equal(MappedHeapError.AddressInUse, f.Code);
            Assert.Contains("AllowRelocation", f.Message);
            using MappedHeap moved = Open(path, new MappedHeapOptions { AllowRelocation = true });
            Assert.True(moved.IsRelocated);
            Assert.NotEqual(recorded, (nint)moved.Base);
            Assert.Equal(recorded, moved.RecordedBase);
            long sum = 0, count = 0;
            for (Node* n = (Node*)moved.GetKey(0); n != null; n = n->Next.In(moved)) { sum += n->Value; count++; }
            Assert.Equal(10, count);
            Assert.Equal(45, sum);
            AssertConsistent(moved);
            Assert.True(moved.TryFree(moved.Allocate(100))); // the allocator works at the new address
        }
        finally
        {
            OsMemory.TryUnmap((void*)recorded, OsMemory.PageSize, out _);
        }
    }

    [Fact]
    public void RandomOperationsAgainstAModelStayConsistent()
    {
        using var dir = new TempDir();
        using MappedHeap heap = Open(dir.File("s.heap"), new MappedHeapOptions { MaxSize = 32 << 20, InitialSize = 64 << 10, GrowthStep = 64 << 10 });
        var rng = new Random(1234);
        var live = new Dictionary<nint, (int Size, byte Fill)>();
        for (int step = 0; step < 20_000; step++)
        {
            int op = rng.Next(10);
            if (op < 4 || live.Count == 0)
            {
                int size = rng.Next(8) == 0 ? rng.Next(2000, 70_000) : rng.Next(0, 600);
                byte* p = (byte*)(rng.Next(15) == 0 ? heap.AllocatePageAligned((nuint)size) : heap.Allocate((nuint)size));
                Assert.True(p != null, heap.LastError.ToString());
                byte fill = (byte)rng.Next(256);
                new Span<byte>(p, size).Fill(fill);
                live.Add((nint)p, (size, fill));
            }
            else if (op < 8)
            {
                nint p = live.Keys.ElementAt(rng.Next(live.Count));
                (int size, byte fill) = live[p];
                Assert.Equal(-1, new Span<byte>((void*)p, size).IndexOfAnyExcept(fill));
                Assert.True(heap.TryFree((void*)p));
                live.Remove(p);
            }
            else
            {
                nint p = live.Keys.ElementAt(rng.Next(live.Count));
                (int size, byte fill) = live[p];
                int newSize = rng.Next(1, 3000);
                byte* q = (byte*)heap.Reallocate((void*)p, (nuint)newSize);
                Assert.True(q != null);
                Assert.Equal(-1, new Span<byte>(q, Math.Min(size, newSize)).IndexOfAnyExcept(fill));
                new Span<byte>(q, newSize).Fill(fill);
                live.Remove(p);
                live.Add((nint)q, (newSize, fill));
            }
            if (step % 997 == 0)
            {
                AssertConsistent(heap);
                if (rng.Next(3) == 0) heap.TryTrim(out _);
            }
        }
        AssertConsistent(heap);
        Assert.Equal(live.Count, heap.GetStats().AllocatedBlocks);
    }

    [Fact]
    public void ThreadsAllocatingAndFreeingConcurrentlyLeaveItConsistent()
    {
        using var dir = new TempDir();
        using MappedHeap heap = Open(dir.File("t.heap"), new MappedHeapOptions { MaxSize = 64 << 20 });
        var threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
        {
            var rng = new Random(t);
            var mine = new List<nint>();
            for (int i = 0; i < 50_000; i++)
            {
                if (mine.Count < 100 && rng.Next(2) == 0)
                {
                    byte* p = (byte*)heap.Allocate((nuint)rng.Next(1, 500));
                    *p = (byte)t;
                    mine.Add((nint)p);
                }
                else if (mine.Count > 0)
                {
                    int k = rng.Next(mine.Count);
                    if (*(byte*)mine[k] != (byte)t) throw new InvalidOperationException("block shared between threads");
                    if (!heap.TryFree((void*)mine[k])) throw new InvalidOperationException(heap.LastError.ToString());
                    mine.RemoveAt(k);
                }
            }
            foreach (nint p in mine) heap.TryFree((void*)p);
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        AssertConsistent(heap);
        Assert.Equal(0, heap.GetStats().AllocatedBlocks);
    }
}
