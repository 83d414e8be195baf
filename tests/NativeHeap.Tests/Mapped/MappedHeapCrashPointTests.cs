using NativeHeap.Mapped;
using NativeHeap.MappedChild;
using Xunit.Abstractions;

namespace NativeHeap.Tests.Mapped;

/// <summary>
/// Deterministic crash injection: every operation is stopped at an armed crash point between two of
/// its stores (the memory left exactly as a SIGKILL at that instant leaves it), the heap is abandoned
/// without a clean close, and a fresh attach must recover it: consistent, with every published record
/// and every live block intact. Complements the SIGKILL test, whose kills land at random instants and
/// rarely inside the few-nanosecond windows between two stores.
/// </summary>
public unsafe class MappedHeapCrashPointTests(ITestOutputHelper output)
{
    private enum Op { Alloc, AllocAligned, Free, Realloc, Publish, PublishNamed, Trim, Grow }

    [Fact]
    public void EveryOperationRecoversFromACrashBetweenAnyTwoStores()
    {
        using var dir = new TempDir();
        string path = dir.File("points.heap");
        var create = new MappedHeapOptions { MaxSize = 16L << 20, InitialSize = 128 << 10, GrowthStep = 64 << 10 };
        Assert.True(MappedHeap.TryAttach(path, create, out MappedHeap? heap, out MappedHeapFailure f), f.ToString());

        var rng = new Random(42);
        var live = new Dictionary<long, (int Size, byte Fill)>(); // offsets: valid across reopens
        var published = new long[12];                               // seq per slot, -1 = never
        Array.Fill(published, -1L);
        var crashPoints = new Dictionary<Op, HashSet<int>>();
        int crashes = 0;
        long seq = 0;

        for (int iteration = 0; iteration < 6000; iteration++)
        {
            var op = (Op)rng.Next(8);
            int crashAt = rng.Next(1, 30);
            heap!.ArmCrash(crashAt);
            long pending = -1; // the block a free/realloc was working on
            bool crashed = false;
            int slot = rng.Next(12);
            long oldSeq = published[slot], newSeq = seq++;
            try
            {
                switch (op)
                {
                    case Op.Alloc:
                    case Op.AllocAligned:
                    case Op.Grow:
                    {
                        int size = op == Op.Grow ? rng.Next(100_000, 300_000) : rng.Next(1, 3000);
                        byte* p = (byte*)(op == Op.AllocAligned ? heap.AllocatePageAligned((nuint)size) : heap.Allocate((nuint)size));
                        if (p == null) break;
                        byte fill = (byte)rng.Next(256);
                        new Span<byte>(p, size).Fill(fill);
                        live[heap.OffsetOf(p)] = (size, fill);
                        break;
                    }
                    case Op.Free:
                    case Op.Realloc:
                    {
                        if (live.Count == 0) break;
                        pending = live.Keys.ElementAt(rng.Next(live.Count));
                        (int size, byte fill) = live[pending];
                        if (op == Op.Free)
                        {
                            Assert.True(heap.TryFree(heap.PointerAt(pending)));
                            live.Remove(pending);
                        }
                        else
                        {
                            int newSize = rng.Next(1, 6000);
                            byte* q = (byte*)heap.Reallocate(heap.PointerAt(pending), (nuint)newSize);
                            Assert.True(q != null);
                            live.Remove(pending);
                            new Span<byte>(q, newSize).Fill(fill);
                            live[heap.OffsetOf(q)] = (newSize, fill);
                        }
                        break;
                    }
                    case Op.Publish:
                    case Op.PublishNamed:
                    {
                        int len = rng.Next(0, 1500);
                        byte* rec = (byte*)heap.Allocate((nuint)(ChildRecord.HeaderBytes + len));
                        Assert.True(rec != null);
                        ChildRecord.Write(rec, slot, newSeq, len);
                        void* old = SlotValue(heap, slot);
                        Assert.True(slot < 8 ? heap.TrySetKey(slot, rec) : heap.TrySetRoot("n" + slot, rec));
                        published[slot] = newSeq;
                        if (old != null) Assert.True(heap.TryFree(old));
                        break;
                    }
                    case Op.Trim:
                        heap.TryTrim(out _);
                        break;
                }
                heap.ArmCrash(0);
            }
            catch (SimulatedCrashException)
            {
                crashes++;
                crashed = true;
                if (!crashPoints.TryGetValue(op, out HashSet<int>? set)) crashPoints[op] = set = new HashSet<int>();
                set.Add(crashAt);
                heap.SimulateKill();
                if (pending >= 0) live.Remove(pending); // freed or not: unknown, so no longer tracked

                Assert.True(MappedHeap.TryAttach(path, null, out heap, out f), $"iteration {iteration}, {op} crash point {crashAt}: {f}");
                Assert.False(heap!.WasCleanlyClosed);
                Assert.True(heap.Check(out string? problem), $"iteration {iteration}, {op} crash point {crashAt}: {problem}");

                // The interrupted publication left either the old or the new record.
                byte* now = (byte*)SlotValue(heap, slot);
                if (now != null)
                {
                    Assert.Null(ChildRecord.Verify(now, heap.UsableSize(now), slot, out long got));
                    Assert.True(got == oldSeq || got == newSeq, $"slot {slot} holds seq {got}, expected {oldSeq} or {newSeq}");
                    published[slot] = got;
                }
                else
                {
                    Assert.Equal(-1L, oldSeq);
                }
            }

            // Every record and every tracked block is intact, at every step.
            if (crashed || iteration % 5 == 0)
            {
                for (int s = 0; s < published.Length; s++)
                {
                    byte* r = (byte*)SlotValue(heap, s);
                    if (published[s] < 0) { Assert.True(r == null); continue; }
                    Assert.Null(ChildRecord.Verify(r, heap.UsableSize(r), s, out long got));
                    Assert.Equal(published[s], got);
                }
                foreach ((long off, (int size, byte fill)) in live)
                {
                    byte* p = (byte*)heap.PointerAt(off);
                    Assert.True(heap.UsableSize(p) >= (nuint)size, $"block +{off:x} is no longer allocated");
                    Assert.Equal(-1, new Span<byte>(p, size).IndexOfAnyExcept(fill));
                }
            }
        }
        Assert.True(heap!.Check(out string? last), last);
        heap.Dispose();
        output.WriteLine($"{crashes} simulated crashes; distinct crash points per operation: " +
            string.Join(", ", crashPoints.OrderBy(p => p.Key).Select(p => $"{p.Key} {p.Value.Count}")));
        foreach (Op op in Enum.GetValues<Op>())
            Assert.True(crashPoints.TryGetValue(op, out HashSet<int>? points) && points.Count >= 3, $"{op} crashed at too few points");
    }

    private static void* SlotValue(MappedHeap heap, int slot) => slot < 8 ? heap.GetKey(slot) : heap.GetRoot("n" + slot);
}
