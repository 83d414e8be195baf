using System.Collections.Concurrent;
using System.Diagnostics;

namespace NativeHeap.Tests.General;

/// <summary>
/// Issue 15's stress: every API route at once, with content checks. Worker threads allocate through
/// malloc, calloc, aligned and zeroing flags, their own explicit thread cache, and explicit arenas;
/// free locally, across threads (inbox rings) and with sized frees; grow and shrink with realloc,
/// rallocx and xallocx (the kept prefix is checked each time); one thread purges now and then.
/// Explicit arenas are retired by their worker and reset or destroyed by a controller thread (another
/// thread than the one that allocated from them) while the workers go on. Every block carries a
/// pattern derived from a per-block tag, checked before each free and resize and at the end, and the
/// heap is validated at the end. 2 × 10^6 operations in CI; NATIVEHEAP_LONG=1 runs 10^9
/// (NATIVEHEAP_STRESS_LOG=FILE appends progress lines there).
/// </summary>
// Uses explicit thread caches, which Heap.Validate reads: runs apart from the tests that validate
// while it works (an explicit cache is used by one thread at a time, so another thread's Validate
// would see it half-changed and report a false double free).
[Collection("Serial")]
public unsafe class MixedStressTests
{
    private const int Workers = 3;

    [Fact]
    public void TwoMillionMixedOperationsWithArenaResetsFromAnotherThread() => Run(2_000_000, seed: 15);

    [LongFact]
    public void OneBillionMixedOperations() => Run(1_000_000_000, seed: 1015);

    private static ulong Pattern(ulong tag, nuint i) => (tag * 0x9E3779B97F4A7C15UL) ^ (ulong)i;

    private static void Fill(byte* p, nuint from, nuint size, ulong tag)
    {
        ulong* w = (ulong*)p;
        nuint words = Math.Min(size / 8, 64);
        for (nuint i = from / 8; i < words; i++) w[i] = Pattern(tag, i);
    }

    private static void Check(byte* p, nuint size, ulong tag, string what)
    {
        ulong* w = (ulong*)p;
        nuint words = Math.Min(size / 8, 64);
        for (nuint i = 0; i < words; i++)
            if (w[i] != Pattern(tag, i)) throw new InvalidOperationException($"{what}: block 0x{(nuint)p:x} of {size} bytes: word {i} corrupted");
    }

    private static nuint NextSize(Random rng)
    {
        int r = rng.Next(1000);
        if (r < 750) return (nuint)rng.Next(1, 512);
        if (r < 970) return (nuint)rng.Next(512, 32 * 1024);
        if (r < 999) return (nuint)rng.Next(32 * 1024, 1 << 20);
        return (nuint)rng.Next(1 << 20, 4 << 20);
    }

    private struct Block
    {
        public nint P;
        public nuint Size;
        public ulong Tag;
        public int Route;   // 0 general, 1 explicit cache, 2 explicit arena
    }

    private static void Run(long totalOps, int seed)
    {
        string? log = Environment.GetEnvironmentVariable("NATIVEHEAP_STRESS_LOG");
        const int Slots = 2048, ArenaSlots = 256, Ring = 1 << 10;
        var inbox = new Block[Workers][];
        var heads = new long[Workers * 16];
        var tails = new long[Workers * 16];
        for (int t = 0; t < Workers; t++) inbox[t] = new Block[Ring];
        var retired = new ConcurrentQueue<(int Arena, bool Destroy)>();
        long done = 0, resets = 0, destroys = 0, purges = 0;
        bool stop = false;
        Exception? controllerError = null;
        var watch = Stopwatch.StartNew();

        // The controller: resets or destroys the arenas workers retire, from its own thread.
        var controller = new Thread(() =>
        {
            try
            {
                while (!Volatile.Read(ref stop) || !retired.IsEmpty)
                {
                    if (!retired.TryDequeue(out var r)) { Thread.Sleep(1); continue; }
                    if (r.Destroy) { Heap.DestroyArena(r.Arena); destroys++; }
                    else { Heap.ResetArena(r.Arena); Heap.DestroyArena(r.Arena); resets++; }
                }
            }
            catch (Exception e) { controllerError = e; }
        });
        controller.Start();

        var liveAtEnd = new List<(nint, nuint)>[Workers];
        var slotsAtEnd = new Block[Workers][];
        var cacheOf = new int[Workers];
        var arenaOf = new int[Workers];
        long opsPerWorker = totalOps / Workers;
        try
        {
            TestThreads.Run(Workers, id =>
            {
                var rng = new Random(seed + id);
                var slot = new Block[Slots];
                var arenaBlocks = new Block[ArenaSlots];
                int cache = Heap.CreateThreadCache();
                int arena = Heap.CreateArena();
                int next = (id + 1) % Workers;
                ulong tagCounter = (ulong)id << 56;
                for (long op = 0; op < opsPerWorker; op++)
                {
                    if ((op & 0xFFFF) == 0)
                    {
                        long total = Interlocked.Add(ref done, 0x10000);
                        if (log != null && id == 0 && (op & 0x1FFFFF) == 0)
                            File.AppendAllText(log, $"{DateTime.UtcNow:HH:mm:ss} ops {total:N0} resets {Volatile.Read(ref resets)} destroys {Volatile.Read(ref destroys)} purges {purges} elapsed {watch.Elapsed}\n");
                    }
                    // Drain the inbox: blocks another worker allocated on the general routes.
                    long h = Volatile.Read(ref heads[id * 16]);
                    while (h != Volatile.Read(ref tails[id * 16]))
                    {
                        ref Block b = ref inbox[id][(int)(h & (Ring - 1))];
                        Check((byte*)b.P, b.Size, b.Tag, "cross-thread free");
                        if ((h & 1) == 0) Heap.Free((void*)b.P);
                        else Heap.SizedFree((void*)b.P, b.Size);
                        h++;
                        Volatile.Write(ref heads[id * 16], h);
                    }
                    int r = rng.Next(100);
                    if (r < 4)
                    {
                        // Explicit arena: allocate, or now and then retire the whole arena (its blocks are
                        // checked, then abandoned) to the controller, which resets or destroys it.
                        int k = rng.Next(ArenaSlots);
                        if (r == 0 && rng.Next(64) == 0)
                        {
                            for (int i = 0; i < ArenaSlots; i++)
                            {
                                if (arenaBlocks[i].P != 0) Check((byte*)arenaBlocks[i].P, arenaBlocks[i].Size, arenaBlocks[i].Tag, "before reset");
                                arenaBlocks[i] = default;
                            }
                            retired.Enqueue((arena, rng.Next(2) == 0));
                            arena = Heap.CreateArena();
                            continue;
                        }
                        ref Block a = ref arenaBlocks[k];
                        if (a.P != 0)
                        {
                            Check((byte*)a.P, a.Size, a.Tag, "explicit arena");
                            Heap.DallocX((void*)a.P, MallocFlags.Arena(arena));
                            a = default;
                        }
                        nuint s = NextSize(rng);
                        byte* p = (byte*)Heap.MallocX(s, MallocFlags.Arena(arena));
                        if (p == null) throw new OutOfMemoryException();
                        a = new Block { P = (nint)p, Size = s, Tag = ++tagCounter, Route = 2 };
                        Fill(p, 0, s, a.Tag);
                        continue;
                    }
                    if (r == 4 && id == 0 && rng.Next(1000) == 0)
                    {
                        Heap.Purge();
                        purges++;
                        continue;
                    }
                    ref Block x = ref slot[rng.Next(Slots)];
                    if (x.P != 0)
                    {
                        Check((byte*)x.P, x.Size, x.Tag, "free");
                        var flags = x.Route == 1 ? MallocFlags.ThreadCache(cache) : MallocFlags.None;
                        if (r < 20 && x.Route == 0)
                        {
                            // Resize: realloc, rallocx or xallocx; the prefix must survive.
                            nuint ns = NextSize(rng);
                            byte* q;
                            if (r < 10) q = (byte*)Heap.Realloc((void*)x.P, ns);
                            else if (r < 15) q = (byte*)Heap.RallocX((void*)x.P, ns, MallocFlags.None);
                            else
                            {
                                nuint got = Heap.XallocX((void*)x.P, ns, 0, MallocFlags.None);
                                if (got < Math.Min(ns, x.Size) || got != Heap.UsableSize((void*)x.P)) throw new InvalidOperationException($"xallocx gave {got}");
                                q = (byte*)x.P;
                                ns = Math.Min(got, ns);
                            }
                            if (q == null) throw new OutOfMemoryException();
                            Check(q, Math.Min(x.Size, ns), x.Tag, "resize");
                            Fill(q, Math.Min(x.Size, ns) & ~(nuint)7, ns, x.Tag);
                            x.P = (nint)q;
                            x.Size = ns;
                            continue;
                        }
                        long tail = tails[next * 16];
                        if (x.Route == 0 && r < 35 && tail - Volatile.Read(ref heads[next * 16]) < Ring)
                        {
                            inbox[next][(int)(tail & (Ring - 1))] = x;
                            Volatile.Write(ref tails[next * 16], tail + 1);
                        }
                        else if (r < 50) Heap.SdallocX((void*)x.P, x.Size, flags);
                        else Heap.DallocX((void*)x.P, flags);
                        x = default;
                        continue;
                    }
                    {
                        nuint s = NextSize(rng);
                        int route = r < 70 ? 0 : 1;
                        int kind = rng.Next(8);
                        MallocFlags f = route == 1 ? MallocFlags.ThreadCache(cache) : MallocFlags.None;
                        byte* p;
                        if (kind == 0) p = (byte*)Heap.MallocX(s, f | MallocFlags.Zero);
                        else if (kind == 1) p = (byte*)Heap.MallocX(s, f | MallocFlags.Align((nuint)1 << rng.Next(4, 13)));
                        else if (kind == 2 && route == 0) p = (byte*)Heap.Calloc(1, s);
                        else p = route == 0 ? (byte*)Heap.Malloc(s) : (byte*)Heap.MallocX(s, f);
                        if (p == null) throw new OutOfMemoryException();
                        if (kind == 0 || (kind == 2 && route == 0))
                            for (nuint i = 0; i < Math.Min(s, 512); i++) if (p[i] != 0) throw new InvalidOperationException("zeroed block is not zero");
                        x = new Block { P = (nint)p, Size = kind == 1 ? s : s, Tag = ++tagCounter, Route = route };
                        // Aligned blocks are freed with plain dallocx (no size), so SdallocX's size is the request.
                        Fill(p, 0, s, x.Tag);
                    }
                }
                var mine = new List<(nint, nuint)>();
                foreach (Block b in slot)
                {
                    if (b.P == 0) continue;
                    Check((byte*)b.P, b.Size, b.Tag, "end");
                    mine.Add((b.P, b.Size));
                }
                foreach (Block b in arenaBlocks) if (b.P != 0) { Check((byte*)b.P, b.Size, b.Tag, "end (arena)"); mine.Add((b.P, b.Size)); }
                liveAtEnd[id] = mine;
                slotsAtEnd[id] = slot;
                cacheOf[id] = cache;
                arenaOf[id] = arena;
            });
        }
        finally
        {
            Volatile.Write(ref stop, true);
            controller.Join();
        }
        if (controllerError != null) throw new InvalidOperationException("controller thread failed", controllerError);
        var all = liveAtEnd.SelectMany(l => l).OrderBy(b => (ulong)b.Item1).ToList();
        for (int i = 1; i < all.Count; i++)
            Assert.True((ulong)all[i - 1].Item1 + (ulong)all[i - 1].Item2 <= (ulong)all[i].Item1, "two live blocks overlap");
        // Free what is left (after the overlap check: a block freed earlier could have been reused).
        for (int t = 0; t < Workers; t++)
        {
            foreach (Block b in slotsAtEnd[t]) if (b.P != 0) Heap.DallocX((void*)b.P, b.Route == 1 ? MallocFlags.ThreadCache(cacheOf[t]) : MallocFlags.None);
            Heap.DestroyThreadCache(cacheOf[t]);
            Heap.DestroyArena(arenaOf[t]);   // frees its blocks at once
        }
        Heap.Validate();
        if (log != null) File.AppendAllText(log, $"{DateTime.UtcNow:HH:mm:ss} finished: {totalOps:N0} ops, resets {resets}, destroys {destroys}, purges {purges}, elapsed {watch.Elapsed}\n");
        Assert.True(resets + destroys > 0 || totalOps < 1_000_000, "no arena was reset or destroyed");
    }
}
