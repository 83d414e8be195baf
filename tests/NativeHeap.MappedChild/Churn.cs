// Churn: the workload the crash test kills. Slots 0..15 are numbered keys, 16..23 named roots
// "r0".."r7". A publication allocates a record, fills it, publishes it with one root store, prints
// "P slot seq" (so the parent knows it completed) and frees the record it replaced. Between
// publications it allocates, frees and reallocates scratch blocks (some page aligned, some large
// enough to grow the file) and sometimes trims the tail.
using NativeHeap.Mapped;

namespace NativeHeap.MappedChild;

internal static unsafe class Churn
{
    internal const int Slots = 24;

    internal static string RootName(int slot) => "r" + (slot - 16);

    internal static void* GetSlot(MappedHeap heap, int slot) => slot < 16 ? heap.GetKey(slot) : heap.GetRoot(RootName(slot));

    internal static int Run(string file, long seqBase, int seed)
    {
        var options = new MappedHeapOptions { MaxSize = 64L << 20, InitialSize = 128 << 10, GrowthStep = 64 << 10, CreateIfMissing = false };
        if (!MappedHeap.TryAttach(file, options, out MappedHeap? heap, out MappedHeapFailure f))
        {
            Console.WriteLine("FAIL " + f);
            return 1;
        }
        Console.WriteLine("READY " + (heap!.WasCleanlyClosed ? "clean" : "recovered"));
        var rng = new Random(seed);
        var scratch = new List<nint>();
        long seq = seqBase;
        for (long step = 0; ; step++)
        {
            int op = rng.Next(100);
            if (op < 35)
            {
                int slot = rng.Next(Slots);
                int len = rng.Next(10) == 0 ? rng.Next(4000, 40000) : rng.Next(0, 2000);
                byte* p = (byte*)heap.Allocate((nuint)(ChildRecord.HeaderBytes + len));
                if (p == null) { FreeSome(heap, scratch, rng, 8); continue; }
                ChildRecord.Write(p, slot, seq, len);
                void* old = GetSlot(heap, slot);
                bool ok = slot < 16 ? heap.TrySetKey(slot, p) : heap.TrySetRoot(RootName(slot), p);
                if (!ok) throw new InvalidOperationException("publish failed: " + heap.LastError);
                Console.WriteLine($"P {slot} {seq}");
                seq++;
                if (old != null && !heap.TryFree(old)) throw new InvalidOperationException("free of a replaced record failed: " + heap.LastError);
            }
            else if (op < 65)
            {
                nuint size = (nuint)rng.Next(1, rng.Next(20) == 0 ? 100_000 : 3000);
                byte* p = (byte*)(rng.Next(10) == 0 ? heap.AllocatePageAligned(size) : heap.Allocate(size));
                if (p == null) { FreeSome(heap, scratch, rng, 8); continue; }
                new Span<byte>(p, (int)size).Fill((byte)step);
                scratch.Add((nint)p);
                if (scratch.Count > 40) FreeSome(heap, scratch, rng, 1);
            }
            else if (op < 85)
            {
                FreeSome(heap, scratch, rng, 1);
            }
            else if (op < 98)
            {
                if (scratch.Count == 0) continue;
                int i = rng.Next(scratch.Count);
                void* q = heap.Reallocate((void*)scratch[i], (nuint)rng.Next(1, 6000));
                if (q != null) scratch[i] = (nint)q;
            }
            else
            {
                heap.TryTrim(out _);
            }
        }
    }

    private static void FreeSome(MappedHeap heap, List<nint> scratch, Random rng, int count)
    {
        for (int k = 0; k < count && scratch.Count > 0; k++)
        {
            int i = rng.Next(scratch.Count);
            if (!heap.TryFree((void*)scratch[i])) throw new InvalidOperationException("scratch free failed: " + heap.LastError);
            scratch[i] = scratch[^1];
            scratch.RemoveAt(scratch.Count - 1);
        }
    }
}
