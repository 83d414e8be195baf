// Reliability scenarios (issue 15): metadata reuse over arena create/destroy cycles, checked mode
// accepting every valid call and naming every misuse, and default mode catching the cheap misuses.
// Each returns null on success or a description of the failure.
using NativeHeap.General;

namespace NativeHeap.TestChild;

internal static unsafe class ReliabilityScenarios
{
    internal static bool TryRun(string name, string[] args, out string? result)
    {
        result = name switch
        {
            "arena-cycles" => ArenaCycles(int.Parse(args[0])),
            "checked-differential" => CheckedDifferential(),
            "default-misuse" => DefaultMisuse(),
            "validate-duplicates" => ValidateDuplicates(),
            _ => "\0",
        };
        return result != "\0";
    }

    /// <summary>Arena create/destroy cycles: the heap's metadata and the process's RSS stay flat.</summary>
    private static string? ArenaCycles(int cycles)
    {
        void Cycle(int i)
        {
            int a = Heap.CreateArena();
            if ((i & 15) == 0)
            {
                // Some cycles also map a chunk and a huge block, so their release is exercised too.
                byte* p = (byte*)Heap.MallocX(100, MallocFlags.Arena(a));
                p[0] = 1;
                if ((i & 255) == 0) Heap.MallocX(3 << 20, MallocFlags.Arena(a));
            }
            if ((i & 1) == 0) Heap.DestroyArena(a);
            else
            {
                Heap.ResetArena(a);
                Heap.DestroyArena(a);
            }
        }
        for (int i = 0; i < 1000; i++) Cycle(i);
        GC.Collect();
        long meta0 = Heap.GetStats().Metadata, rss0 = Rss.Bytes(), count0 = Heap.ArenaCount;
        for (int i = 0; i < cycles; i++) Cycle(i);
        GC.Collect();
        long meta1 = Heap.GetStats().Metadata, rss1 = Rss.Bytes(), count1 = Heap.ArenaCount;
        Console.WriteLine($"{cycles} cycles: metadata {meta0 >> 10} -> {meta1 >> 10} KiB, rss {rss0 >> 20} -> {rss1 >> 20} MiB, arenas {count0} -> {count1}");
        if (meta1 != meta0) return $"stats.metadata grew from {meta0} to {meta1} bytes over {cycles} create/destroy cycles";
        if (count1 != count0) return $"arena count grew from {count0} to {count1}";
        // RSS: the heap's own share is flat (above); allow the runtime a few MiB of its own.
        if (rss1 > rss0 + (8L << 20)) return $"RSS grew from {rss0 >> 20} MiB to {rss1 >> 20} MiB";
        return Heap.TryValidate(out string? e) ? null : e;
    }

    private static string? Expect(Action action, string what, string messagePart)
    {
        try
        {
            action();
        }
        catch (HeapMisuseException ex)
        {
            return ex.Message.Contains(messagePart, StringComparison.Ordinal) ? null : $"{what}: message \"{ex.Message}\" does not say \"{messagePart}\"";
        }
        catch (Exception ex)
        {
            return $"{what}: {ex.GetType().Name} instead of HeapMisuseException: {ex.Message}";
        }
        return $"{what}: no HeapMisuseException";
    }

    private static readonly nuint[] s_sizes = [1, 7, 8, 9, 33, 48, 100, 256, 511, 512, 1000, 3000, 4096, 5000, 12_288, 14_337, 16_384, 20_000, 40_000, 100_000, 1 << 20, (2 << 20) + 1, 5 << 20];
    private static readonly nuint[] s_alignments = [1, 8, 16, 32, 64, 512, 4096, 8192, 65_536, 2 << 20];

    /// <summary>
    /// Checked mode: every public entry point with valid arguments (sizes × alignments × flags × explicit
    /// caches and arenas, sized frees with every size from the request to the usable size) throws
    /// nothing; each kind of misuse throws HeapMisuseException with the message for that misuse.
    /// </summary>
    private static string? CheckedDifferential()
    {
        if (!Heap.Options.Checked) return "checked mode not on";
        int arena = Heap.CreateArena();
        int cache = Heap.CreateThreadCache();
        MallocFlags[] routes =
        [
            MallocFlags.None, MallocFlags.NoThreadCache, MallocFlags.ThreadCache(cache), MallocFlags.Arena(arena),
            MallocFlags.Arena(arena) | MallocFlags.ThreadCache(cache), MallocFlags.Arena(arena) | MallocFlags.NoThreadCache,
        ];
        long calls = 0;
        try
        {
            foreach (nuint size in s_sizes)
            {
                nuint[] sizedFrees(nuint requested, nuint usable) => [requested, usable, requested + (usable - requested) / 2];
                // Standard calls.
                byte* p = (byte*)Heap.Malloc(size);
                nuint u = Heap.UsableSize(p);
                p[u - 1] = 1;
                foreach (nuint s in sizedFrees(size, u))
                {
                    Heap.SizedFree(p, s);
                    p = (byte*)Heap.Malloc(size);
                    calls += 2;
                }
                p = (byte*)Heap.Realloc(p, size * 2 + 1);
                p = (byte*)Heap.Realloc(p, size);
                Heap.Free(p);
                p = (byte*)Heap.Calloc(1, size);
                Heap.SdallocX(p, size, MallocFlags.None);
                calls += 6;
                foreach (nuint align in s_alignments)
                {
                    p = (byte*)Heap.AlignedAlloc(align, size);
                    if (p == null || ((nuint)p & (align - 1)) != 0) return $"AlignedAlloc({align}, {size}) gave 0x{(nuint)p:x}";
                    u = Heap.UsableSize(p);
                    foreach (nuint s in sizedFrees(size, u))
                    {
                        Heap.SizedFree(p, s);
                        p = (byte*)Heap.AlignedAlloc(align, size);
                        calls += 2;
                    }
                    Heap.Free(p);
                    // The extended calls on every route, with this alignment and with zeroing.
                    foreach (MallocFlags route in routes)
                    {
                        foreach (MallocFlags flags in new[] { route | MallocFlags.Align(align), route | MallocFlags.Align(align) | MallocFlags.Zero })
                        {
                            p = (byte*)Heap.MallocX(size, flags);
                            if (p == null) return $"MallocX({size}, {flags}) failed";
                            u = Heap.SallocX(p, flags);
                            if (u != Heap.NallocX(size, flags)) return $"SallocX {u} != NallocX {Heap.NallocX(size, flags)} for {size}, {flags}";
                            foreach (nuint s in sizedFrees(size, u))
                            {
                                Heap.SdallocX(p, s, flags);
                                p = (byte*)Heap.MallocX(size, flags);
                                calls += 2;
                            }
                            Heap.XallocX(p, size, size, flags);
                            u = Heap.SallocX(p, flags);
                            byte* q = (byte*)Heap.RallocX(p, size + 1000, flags);
                            if (q == null) return $"RallocX({size} + 1000, {flags}) failed";
                            q = (byte*)Heap.RallocX(q, size, flags);
                            Heap.SdallocX(q, size, flags);
                            p = (byte*)Heap.MallocX(size, flags);
                            Heap.DallocX(p, flags);
                            calls += 7;
                        }
                    }
                }
            }
            Heap.FlushThreadCache(cache);
            if (!Heap.TryValidate(out string? err)) return "heap invalid after the valid calls: " + err;
        }
        catch (Exception ex)
        {
            return $"a valid call threw after {calls} calls: {ex}";
        }
        Console.WriteLine($"{calls} valid calls in checked mode, no exception");

        // Misuse: each kind, through the plain and the extended calls; the heap stays valid.
        const string Double = "double free", Interior = "not the start of a live block", Size = "sized free", Reset = "reset", Foreign = "not allocated";
        string? e = null;
        foreach (nuint size in new nuint[] { 48, 512, 40_000, 5 << 20 })
        {
            foreach (MallocFlags route in new[] { MallocFlags.None, MallocFlags.ThreadCache(cache), MallocFlags.Arena(arena) })
            {
                string where = $"size {size}, flags {route}";
                byte* p = (byte*)Heap.MallocX(size, route);
                nuint u = Heap.SallocX(p, route);
                e ??= Expect(() => Heap.SdallocX(p, u + 1, route), $"{where}: sized free above the usable size", Size);
                // 20 on a 48-byte block: no call (plain or aligned) gives 48 for 20.
                if (size == 48) e ??= Expect(() => Heap.SizedFree(p, 20), $"{where}: sized free of a smaller class", Size);
                if (size == 48) e ??= Expect(() => Heap.SdallocX(p, 20, route), $"{where}: sdallocx of a smaller class", Size);
                // 100 on a 512-byte block is valid for aligned_alloc(512, 100), but not for MALLOCX_ALIGN(64).
                if (size == 512) e ??= Expect(() => Heap.SdallocX(p, 100, route | MallocFlags.Align(64)), $"{where}: sdallocx of a smaller class at its alignment", Size);
                e ??= Expect(() => Heap.DallocX(p + 16, route), $"{where}: interior pointer", Interior);
                e ??= Expect(() => Heap.Free(p + 8), $"{where}: interior pointer (free)", Interior);
                if (e != null) return e;
                try
                {
                    Heap.DallocX(p, route);
                }
                catch (Exception ex)
                {
                    return $"{where}: the valid free after the misuse threw {ex.Message}";
                }
                e ??= Expect(() => Heap.DallocX(p, route), $"{where}: double free (dallocx)", size > (2 << 20) ? "" : Double);
                e ??= Expect(() => Heap.Free(p), $"{where}: double free (free)", size > (2 << 20) ? "" : Double);
                if (e != null) return e;
            }
        }
        void* foreign = System.Runtime.InteropServices.NativeMemory.Alloc(64);
        e = Expect(() => Heap.Free(foreign), "foreign pointer", Foreign)
            ?? Expect(() => Heap.SdallocX(foreign, 64, MallocFlags.None), "foreign pointer (sdallocx)", Foreign);
        System.Runtime.InteropServices.NativeMemory.Free(foreign);
        if (e != null) return e;
        Heap.ResetArena(arena);   // so the next reset quarantines only the chunk of the stale blocks (checked mode keeps the last 64)
        void* stale = Heap.MallocX(64, MallocFlags.Arena(arena));
        void* staleLarge = Heap.MallocX(40_000, MallocFlags.Arena(arena));
        Heap.ResetArena(arena);
        e = Expect(() => Heap.Free(stale), "free after reset", Reset)
            ?? Expect(() => Heap.DallocX(staleLarge, MallocFlags.Arena(arena)), "dallocx after reset", Reset);
        if (e != null) return e;
        Heap.DestroyThreadCache(cache);
        Heap.DestroyArena(arena);
        if (!Heap.TryValidate(out string? v)) return "heap invalid after the misuse: " + v;
        void* ok = Heap.Malloc(100);
        Heap.Free(ok);
        return null;
    }

    /// <summary>Two blocks of one class handed out after a misuse must differ from each other and from <paramref name="victim"/>'s reuse.</summary>
    private static string? NoDoubleHandOut(nuint size, string what)
    {
        var seen = new HashSet<nint>();
        var got = new List<nint>();
        for (int i = 0; i < 300; i++)
        {
            nint p = (nint)Heap.Malloc(size);
            got.Add(p);
            if (!seen.Add(p)) return $"{what}: the heap handed out 0x{p:x} twice";
        }
        foreach (nint p in got) Heap.Free((void*)p);
        return Heap.TryValidate(out string? e) ? null : $"{what}: heap invalid: {e}";
    }

    /// <summary>
    /// Default mode (no checked option): the cheap misuses throw HeapMisuseException with nothing
    /// changed — an immediate double free into the thread's cache (every cached class), a double free
    /// through an explicit cache or of a block back in its slab; an interior pointer on any path but
    /// the fast one; a stale free into an arena that was reset or destroyed and then used again.
    /// </summary>
    private static string? DefaultMisuse()
    {
        if (Heap.Options.Checked) return "checked mode is on";
        const string Double = "double free", Interior = "not the start of a live block", Reset = "reset";
        string? e = null;
        int explicitCache = Heap.CreateThreadCache();
        foreach (nuint size in new nuint[] { 8, 16, 48, 100, 256, 1000, 4096, 20_000, 32_768 })
        {
            byte* p = (byte*)Heap.Malloc(size);
            byte* keep = (byte*)Heap.Malloc(size);
            p[0] = 1;
            Heap.Free(p);
            e ??= Expect(() => Heap.Free(p), $"double free of a {size}-byte block in the thread's cache", Double);
            e ??= Expect(() => Heap.SizedFree(p, size), $"double sized free of a {size}-byte block", Double);
            e ??= NoDoubleHandOut(size, $"after the double free of a {size}-byte block");
            // Interior pointers, on every route that leaves the fast path (the fast path does not test them).
            byte* q = (byte*)Heap.Malloc(size);
            foreach (MallocFlags route in new[] { MallocFlags.NoThreadCache, MallocFlags.ThreadCache(explicitCache) })
            {
                if (size >= 16) e ??= Expect(() => Heap.DallocX(q + 8, route), $"interior pointer +8 into a {size}-byte block ({route})", Interior);
                e ??= Expect(() => Heap.DallocX(q + 1, route), $"interior pointer +1 into a {size}-byte block ({route})", Interior);
                if (size == 48) e ??= Expect(() => Heap.DallocX(q + 16, route), $"interior pointer +16 into a 48-byte block ({route})", Interior);
            }
            Heap.Free(q);
            Heap.Free(keep);
            if (e != null) return e;
        }
        // Double free after the block went back to its slab (no cache on this route): the cheap case.
        {
            byte* p = (byte*)Heap.MallocX(64, MallocFlags.NoThreadCache);
            Heap.DallocX(p, MallocFlags.NoThreadCache);
            e = Expect(() => Heap.DallocX(p, MallocFlags.NoThreadCache), "double free of a block back in its slab", Double);
            if (e != null) return e;
        }
        // Double free through an explicit cache.
        int tc = Heap.CreateThreadCache();
        {
            var flags = MallocFlags.ThreadCache(tc);
            void* p = Heap.MallocX(64, flags);
            Heap.DallocX(p, flags);
            e = Expect(() => Heap.DallocX(p, flags), "double free through an explicit cache", Double);
            Heap.DestroyThreadCache(tc);
            if (e != null) return e;
        }
        // Stale frees into an arena that was reset (and used again), or destroyed (and its slot reused).
        int arena = Heap.CreateArena();
        {
            var flags = MallocFlags.Arena(arena);
            void* small = Heap.MallocX(64, flags), large = Heap.MallocX(40_000, flags);
            Heap.ResetArena(arena);
            var fresh = new List<nint>();
            for (int i = 0; i < 1000; i++) fresh.Add((nint)Heap.MallocX(64, flags));
            fresh.Add((nint)Heap.MallocX(40_000, flags));
            e = Expect(() => Heap.Free(small), "stale free of a small block after reset", Reset)
                ?? Expect(() => Heap.Free(large), "stale free of a large block after reset", Reset);
            if (e != null) return e;
            if (fresh.Contains((nint)small)) return "the reset arena handed the stale block's address out again";
            foreach (nint p in fresh) Heap.Free((void*)p);
            void* last = Heap.MallocX(64, flags);
            Heap.DestroyArena(arena);
            int again = Heap.CreateArena();
            void* other = Heap.MallocX(64, MallocFlags.Arena(again));
            e = Expect(() => Heap.Free(last), "stale free after destroy and slot reuse", Reset);
            Heap.Free(other);
            Heap.DestroyArena(again);
            if (e != null) return e;
        }
        Heap.DestroyThreadCache(explicitCache);
        Console.WriteLine("every cheap misuse was caught");
        return NoDoubleHandOut(64, "at the end");
    }

    /// <summary>
    /// A double free default mode does not catch (the same block freed through two explicit caches,
    /// or into a cache after it went back to its slab): Validate reports it.
    /// </summary>
    private static string? ValidateDuplicates()
    {
        if (!Heap.TryValidate(out string? e)) return "heap invalid at the start: " + e;
        int a = Heap.CreateThreadCache(), b = Heap.CreateThreadCache();
        void* p = Heap.MallocX(64, MallocFlags.ThreadCache(a));
        Heap.DallocX(p, MallocFlags.ThreadCache(a));
        Heap.DallocX(p, MallocFlags.ThreadCache(b));   // not caught: the block is in another cache
        if (Heap.TryValidate(out e)) return "Validate missed a block that is in two caches";
        Console.WriteLine("two caches: " + e);
        if (!e!.Contains("twice", StringComparison.Ordinal)) return "Validate's message does not say twice: " + e;
        Heap.FlushThreadCache(a);
        if (Heap.TryValidate(out e)) return "Validate missed a block that is both cached and on a free list";
        Console.WriteLine("cache and free list: " + e);
        Heap.FlushThreadCache(b);   // the flush finds the block already free and drops it
        if (Heap.TryValidate(out e)) return "Validate missed the duplicate the flush dropped";
        Console.WriteLine("after the flush: " + e);
        // The heap did not hand the block out twice.
        var seen = new HashSet<nint>();
        for (int i = 0; i < 1000; i++) if (!seen.Add((nint)Heap.MallocX(64, MallocFlags.NoThreadCache))) return "a block was handed out twice";
        return null;
    }
}
