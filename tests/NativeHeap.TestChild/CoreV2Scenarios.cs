// Scenarios for Heap routed through core v2 (NATIVEHEAP_CONF=core:sharded; docs/core-v2.md): every
// plain call on v2 blocks, the calls that stay on the jemalloc core, frees across cores and threads,
// misuse, no managed allocation, and a multi-threaded stress with content checks.
using System.Runtime.InteropServices;
using NativeHeap.General;
using NativeHeap.Sharded;

namespace NativeHeap.TestChild;

internal static unsafe class CoreV2Scenarios
{
    internal static bool TryRun(string name, string[] args, out string? result)
    {
        result = name switch
        {
            "corev2-api" => Api(),
            "corev2-stress" => Stress(int.Parse(args[0])),
            "corev2-default" => Default(),
            "corev2-contradiction" => Contradiction(),
            _ => "?",
        };
        return result != "?";
    }

    /// <summary>Without core:sharded the jemalloc core serves everything (and the options, warnings included, apply at the first call).</summary>
    private static string? Default()
    {
        if (Heap.ActiveCore != HeapCore.Jemalloc) return $"ActiveCore is {Heap.ActiveCore} without core:sharded";
        void* p = Heap.Malloc(100);
        bool v2 = IsV2(p);
        Heap.Free(p);
        return v2 ? "a core v2 block without core:sharded" : null;
    }

    private static bool IsV2(void* p) => ShardedHeap.UsableSize(p) != 0;

    private static void Fill(byte* p, nuint n, byte seed)
    {
        for (nuint i = 0; i < n; i++) p[i] = (byte)(seed + i * 7);
    }

    private static bool Holds(byte* p, nuint n, byte seed)
    {
        for (nuint i = 0; i < n; i++) if (p[i] != (byte)(seed + i * 7)) return false;
        return true;
    }

    private static string? Api()
    {
        if (Heap.ActiveCore != HeapCore.Sharded) return $"ActiveCore is {Heap.ActiveCore} with core:sharded";
        // Every class up to 512 KiB is a v2 block with jemalloc's usable size; above it the jemalloc core serves.
        for (nuint size = 1; size <= 2 * 1024 * 1024; size = size < 64 ? size + 1 : size + size / 5 + 1)
        {
            byte* p = (byte*)Heap.Malloc(size);
            if (p == null) return $"Malloc({size}) returned null";
            bool v2 = IsV2(p);
            if (v2 != (size <= ShardedHeap.MaxPaged)) return $"Malloc({size}) made a {(v2 ? "core v2" : "jemalloc-core")} block";
            nuint u = Heap.UsableSize(p);
            if (u != Heap.NallocX(size, default)) return $"UsableSize of Malloc({size}) is {u}, nallocx says {Heap.NallocX(size, default)}";
            Fill(p, u, (byte)size);
            if (!Holds(p, u, (byte)size)) return $"block of {size} bytes does not keep its contents";
            Heap.Free(p);
        }
        // Calloc zeroes reused memory; realloc keeps contents across classes and across cores.
        byte* dirty = (byte*)Heap.Malloc(4000);
        NativeMemory.Fill(dirty, 4000, 0xee);
        Heap.Free(dirty);
        byte* z = (byte*)Heap.Calloc(1000, 4);
        if (!IsV2(z)) return "Calloc(1000, 4) is not a core v2 block";
        for (int i = 0; i < 4000; i++) if (z[i] != 0) return $"Calloc left byte {i} = {z[i]}";
        Fill(z, 4000, 3);
        byte* r = (byte*)Heap.Realloc(z, 4001);
        if (r != z) return "Realloc within the class moved the block";
        r = (byte*)Heap.Realloc(r, 100_000);
        if (!IsV2(r) || !Holds(r, 4000, 3)) return "Realloc to 100 KB lost the contents or left core v2";
        r = (byte*)Heap.Realloc(r, 3 * 1024 * 1024);
        if (IsV2(r) || !Holds(r, 4000, 3)) return "Realloc to 3 MiB did not move the contents to a jemalloc-core block";
        r = (byte*)Heap.Realloc(r, 100);
        if (!Holds(r, 100, 3)) return "Realloc down to 100 lost the contents";
        if (Heap.Realloc(r, 0) != null) return "Realloc(p, 0) did not return null";
        // Aligned requests up to 4 KiB are v2 blocks; larger alignments go to the jemalloc core.
        for (nuint a = 16; a <= 65536; a *= 2)
        {
            foreach (nuint size in new nuint[] { 1, 33, a, 3 * a + 5 })
            {
                void* p = Heap.AlignedAlloc(a, size);
                if (p == null || ((nuint)p & (a - 1)) != 0) return $"AlignedAlloc({a}, {size}) = 0x{(nuint)p:x}";
                bool expectV2 = a <= 4096 && Heap.NallocX(size, MallocFlags.Align(a)) <= ShardedHeap.MaxPaged;
                if (IsV2(p) != expectV2) return $"AlignedAlloc({a}, {size}) made a {(IsV2(p) ? "core v2" : "jemalloc-core")} block";
                if (Heap.UsableSize(p) < size) return $"AlignedAlloc({a}, {size}) usable {Heap.UsableSize(p)}";
                Heap.SizedFree(p, size);
            }
        }
        // The extended calls: flags with an arena or cache stay on the jemalloc core; frees find the core.
        int arena = Heap.CreateArena();
        void* inArena = Heap.MallocX(200, MallocFlags.Arena(arena));
        if (inArena == null || IsV2(inArena)) return "MallocX with an arena flag made a core v2 block";
        void* plain = Heap.MallocX(200, default);
        if (!IsV2(plain)) return "MallocX without flags is not a core v2 block";
        if (Heap.XallocX(plain, 10_000, 0, default) != Heap.UsableSize(plain)) return "XallocX changed a core v2 block";
        void* moved = Heap.RallocX(plain, 300, MallocFlags.Align(256));
        if (moved == null || ((nuint)moved & 255) != 0) return "RallocX to 256-byte alignment failed";
        void* toArena = Heap.RallocX(moved, 300, MallocFlags.Arena(arena));
        if (toArena == null || IsV2(toArena)) return "RallocX into an explicit arena did not move the block there";
        Heap.Free(toArena);
        Heap.DallocX(inArena, MallocFlags.Arena(arena));
        void* sized = Heap.Malloc(700);
        Heap.SdallocX(sized, 700, MallocFlags.Align(64));
        void* viaDalloc = Heap.Malloc(64);
        Heap.DallocX(viaDalloc, MallocFlags.NoThreadCache);
        Heap.DestroyArena(arena);
        // Misuse: a foreign pointer, an immediate double free and a pool page are reported, nothing changed.
        nint foreign = (nint)NativeMemory.Alloc(64);           // glibc's block
        string? e = Expect(() => Heap.Free((void*)foreign), "a foreign pointer");
        NativeMemory.Free((void*)foreign);
        if (e != null) return e;
        void* twice = Heap.Malloc(48);
        Heap.Free(twice);
        e = Expect(() => Heap.Free(twice), "an immediate double free");
        if (e != null) return e;
        // Blocks freed by another thread (remote frees, one CAS each) come back to their owner.
        var blocks = new nint[20_000];
        for (int i = 0; i < blocks.Length; i++)
        {
            blocks[i] = (nint)Heap.Malloc((nuint)(16 + i % 700));
            Fill((byte*)blocks[i], 16, (byte)i);
        }
        string? remote = null;
        var t = new Thread(() =>
        {
            for (int i = 0; i < blocks.Length; i++)
            {
                if (!Holds((byte*)blocks[i], 16, (byte)i)) { remote = $"block {i} corrupted before its remote free"; return; }
                Heap.Free((void*)blocks[i]);
            }
        });
        t.Start();
        t.Join();
        if (remote != null) return remote;
        // No managed allocation on malloc, free and realloc in place.
        for (int i = 0; i < 1000; i++) Heap.Free(Heap.Malloc(64));
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100_000; i++)
        {
            void* p = Heap.Malloc((nuint)(8 + (i & 1023)));
            p = Heap.Realloc(p, (nuint)(8 + (i & 1023)));
            Heap.Free(p);
        }
        long managed = GC.GetAllocatedBytesForCurrentThread() - before;
        if (managed != 0) return $"{managed} managed bytes allocated by 100,000 core v2 malloc/realloc/free rounds";
        if (!Heap.TryValidate(out string? err)) return "Validate: " + err;
        return null;
    }

    private static string? Expect(Action a, string what)
    {
        try
        {
            a();
        }
        catch (HeapMisuseException)
        {
            return null;
        }
        return what + ": no HeapMisuseException";
    }

    private static string? Contradiction()
    {
        try
        {
            Heap.Malloc(10);
        }
        catch (ArgumentException e) when (e.Message.Contains("core:sharded"))
        {
            return null;
        }
        return "core:sharded with checked:true was accepted";
    }

    /// <summary>Threads allocate, hand a third of their blocks to the next thread, realloc some; every block's contents are checked before it is freed.</summary>
    private static string? Stress(int operationsPerThread)
    {
        const int Threads = 3;
        var inbox = new System.Collections.Concurrent.ConcurrentQueue<(nint P, nuint Size, byte Seed)>[Threads];
        for (int i = 0; i < Threads; i++) inbox[i] = new();
        string? failure = null;
        var workers = new Thread[Threads];
        for (int w = 0; w < Threads; w++)
        {
            int me = w;
            workers[w] = new Thread(() =>
            {
                var rng = new Random(1300 + me);
                var live = new List<(nint P, nuint Size, byte Seed)>();
                for (int op = 0; op < operationsPerThread && failure == null; op++)
                {
                    int r = rng.Next(100);
                    if (r < 45 || live.Count == 0)
                    {
                        nuint size = rng.Next(100) < 90 ? (nuint)rng.Next(1, 1024) : (nuint)rng.Next(1024, 700_000);
                        byte seed = (byte)rng.Next(256);
                        byte* p = (byte*)(rng.Next(10) == 0 ? Heap.Calloc(1, size) : Heap.Malloc(size));
                        if (p == null) { failure = $"Malloc({size}) returned null"; return; }
                        nuint n = Math.Min(size, 256);
                        Fill(p, n, seed);
                        live.Add(((nint)p, size, seed));
                    }
                    else
                    {
                        int k = rng.Next(live.Count);
                        var b = live[k];
                        live[k] = live[^1];
                        live.RemoveAt(live.Count - 1);
                        if (!Holds((byte*)b.P, Math.Min(b.Size, 256), b.Seed)) { failure = $"thread {me}: block 0x{b.P:x} of {b.Size} bytes corrupted"; return; }
                        if (r < 70) inbox[(me + 1) % Threads].Enqueue(b);
                        else if (r < 80)
                        {
                            nuint ns = (nuint)rng.Next(1, 4096);
                            byte* q = (byte*)Heap.Realloc((void*)b.P, ns);
                            if (q == null || !Holds(q, Math.Min(Math.Min(b.Size, ns), 256), b.Seed)) { failure = $"realloc lost contents of 0x{b.P:x}"; return; }
                            Fill(q, Math.Min(ns, 256), b.Seed);
                            live.Add(((nint)q, ns, b.Seed));
                        }
                        else Heap.SizedFree((void*)b.P, b.Size);
                    }
                    while (inbox[me].TryDequeue(out var x))
                    {
                        if (!Holds((byte*)x.P, Math.Min(x.Size, 256), x.Seed)) { failure = $"thread {me}: remote block 0x{x.P:x} corrupted"; return; }
                        Heap.Free((void*)x.P);
                    }
                }
                foreach (var b in live) Heap.Free((void*)b.P);
            });
            workers[w].Start();
        }
        foreach (Thread t in workers) t.Join();
        foreach (var q in inbox)
            while (q.TryDequeue(out var x)) Heap.Free((void*)x.P);
        if (failure != null) return failure;
        return Heap.TryValidate(out string? err) ? null : "Validate: " + err;
    }
}
