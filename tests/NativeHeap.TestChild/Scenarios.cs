// The scenarios. Each returns null on success or a description of the failure.
using NativeHeap.General;

namespace NativeHeap.TestChild;

internal static unsafe class Scenarios
{
    internal static string? Run(string name, string[] args) => name switch
    {
        "checked-double-free" => CheckedDoubleFree(),
        "kinds-hbw-env" => KindScenarios.HbwFromEnvironment(),
        "kinds-checked" => KindScenarios.CheckedKinds(),
        "checked-large-double-free" => CheckedLargeDoubleFree(),
        "checked-interior" => CheckedInterior(),
        "checked-wrong-size" => CheckedWrongSize(),
        "foreign-pointer" => ForeignPointer(),
        "checked-use-after-reset" => CheckedUseAfterReset(),
        "oom-null" => OomNull(),
        "oom-throw" => OomThrow(),
        "conf" => Conf(args),
        "configure-after-use" => ConfigureAfterUse(),
        "configure-contradiction" => ConfigureContradiction(),
        "junk" => Junk(),
        "zero-option" => ZeroOption(),
        "purge-rss" => PurgeRss(),
        "thread-churn" => ThreadChurn(int.Parse(args[0])),
        "decay-clock" => DecayClock(),
        "decay-zero" => DecayZero(),
        "retain-off" => RetainOff(),
        "checked-huge-retained" => CheckedHugeRetained(),
        "background-purge" => BackgroundPurge(),
        "stats-print" => StatsPrint(),
        "oom-abort" => OomAbort(),
        "source-option" => SourceOption(),
        "spare-chunk-migration" => SpareChunkScenario.Run(),
        _ when ReliabilityScenarios.TryRun(name, args, out string? reliability) => reliability,
        _ when CoreV2Scenarios.TryRun(name, args, out string? coreV2) => coreV2,
        _ when ProfScenarios.TryRun(name, args, out string? prof) => prof,
        _ => ControlScenarios.TryRun(name, args, out string? result) ? result : $"unknown scenario {name}",
    };

    private static string? Expect<T>(Action action, string what) where T : Exception
    {
        try
        {
            action();
        }
        catch (T)
        {
            return null;
        }
        return $"{what}: no {typeof(T).Name} was thrown";
    }

    private static string? Healthy()
    {
        if (!Heap.TryValidate(out string? e)) return "heap invalid after the error: " + e;
        void* p = Heap.Malloc(100);
        if (p == null) return "heap unusable after the error";
        Heap.Free(p);
        return null;
    }

    private static string? CheckedDoubleFree()
    {
        if (!Heap.Options.Checked) return "checked mode not on";
        void* p = Heap.Malloc(48);
        void* q = Heap.Malloc(48);
        Heap.Free(p);
        return Expect<HeapMisuseException>(() => Heap.Free(p), "double free") ?? Use(q) ?? Healthy();
    }

    private static string? Use(void* q)
    {
        *(long*)q = 42;
        Heap.Free(q);
        return null;
    }

    private static string? CheckedLargeDoubleFree()
    {
        void* p = Heap.Malloc(100_000);
        Heap.Free(p);
        return Expect<HeapMisuseException>(() => Heap.Free(p), "large double free") ?? Healthy();
    }

    private static string? CheckedInterior()
    {
        byte* p = (byte*)Heap.Malloc(256);
        byte* big = (byte*)Heap.Malloc(64 * 1024);
        string? e = Expect<HeapMisuseException>(() => Heap.Free(p + 16), "interior small pointer")
            ?? Expect<HeapMisuseException>(() => Heap.Free(big + 4096), "interior large pointer");
        if (e != null) return e;
        Heap.Free(p);
        Heap.Free(big);
        return Healthy();
    }

    private static string? CheckedWrongSize()
    {
        void* p = Heap.Malloc(100);   // class 112
        string? e = Expect<HeapMisuseException>(() => Heap.SizedFree(p, 200), "sized free with a larger class")
            ?? Expect<HeapMisuseException>(() => Heap.SizedFree(p, 10), "sized free with a smaller class");
        if (e != null) return e;
        Heap.SizedFree(p, 100);
        return Healthy();
    }

    private static string? ForeignPointer()
    {
        void* foreign = System.Runtime.InteropServices.NativeMemory.Alloc(64);
        try
        {
            return Expect<HeapMisuseException>(() => Heap.Free(foreign), "free of a glibc pointer") ?? Healthy();
        }
        finally
        {
            System.Runtime.InteropServices.NativeMemory.Free(foreign);
        }
    }

    private static string? CheckedUseAfterReset()
    {
        int arena = Heap.CreateArena();
        void* small = Heap.MallocX(64, MallocFlags.Arena(arena));
        void* large = Heap.MallocX(40_000, MallocFlags.Arena(arena));
        Heap.ResetArena(arena);
        string? e = Expect<HeapMisuseException>(() => Heap.Free(small), "free after reset (small)")
            ?? Expect<HeapMisuseException>(() => Heap.Free(large), "free after reset (large)");
        if (e != null) return e;
        void* again = Heap.MallocX(64, MallocFlags.Arena(arena));
        if (again == null) return "arena unusable after reset";
        Heap.Free(again);
        return Healthy();
    }

    private static string? OomNull()
    {
        void* p = Heap.Malloc((nuint)1 << 62);
        if (p != null) return "a 4 EiB allocation succeeded";
        if (Heap.Malloc(nuint.MaxValue) != null) return "a size above the largest class succeeded";
        if (Heap.Calloc((nuint)1 << 40, (nuint)1 << 40) != null) return "calloc with an overflowing product succeeded";
        return Healthy();
    }

    private static string? OomThrow()
    {
        return Expect<OutOfMemoryException>(() => Heap.Malloc((nuint)1 << 62), "oom:throw") ?? Healthy();
    }

    private static string? Conf(string[] args)
    {
        HeapOptions o = Heap.Options;
        // args: expected "key=value" pairs of the effective options.
        foreach (string a in args)
        {
            string[] kv = a.Split('=');
            string actual = kv[0] switch
            {
                "tcache" => o.ThreadCache.ToString(),
                "narenas" => Heap.AutomaticArenaCount.ToString(),
                "dirty_decay_ms" => o.DirtyDecayMs.ToString(),
                "checked" => o.Checked.ToString(),
                "oom" => o.Oom.ToString(),
                "junk" => o.Junk.ToString(),
                _ => "?",
            };
            if (!string.Equals(actual, kv[1], StringComparison.OrdinalIgnoreCase)) return $"{kv[0]} is {actual}, expected {kv[1]}";
        }
        return Healthy();
    }

    private static string? ConfigureAfterUse()
    {
        Heap.Free(Heap.Malloc(8));
        return Expect<InvalidOperationException>(() => Heap.Configure(new HeapOptions()), "Configure after first use");
    }

    private static string? ConfigureContradiction()
    {
        string? e = Expect<ArgumentException>(() => Heap.Configure(new HeapOptions { Zero = true, Junk = JunkFill.Alloc }), "zero with junk");
        if (e != null) return e;
        Heap.Configure(new HeapOptions { Arenas = 3 });
        return Heap.AutomaticArenaCount == 3 ? null : "Configure from code was not applied";
    }

    private static string? Junk()
    {
        byte* p = (byte*)Heap.Malloc(200);
        for (int i = 0; i < 200; i++) if (p[i] != 0xa5) return $"byte {i} of a new block is {p[i]:x}, not a5";
        for (int i = 0; i < 200; i++) p[i] = 1;
        Heap.Free(p);
        // The block is back in its slab; junk-on-free wrote 0x5a after the free-list link.
        for (int i = 8; i < 200; i++) if (p[i] != 0x5a) return $"byte {i} of a freed block is {p[i]:x}, not 5a";
        byte* z = (byte*)Heap.Calloc(1, 200);
        for (int i = 0; i < 200; i++) if (z[i] != 0) return "calloc is not zero under junk";
        Heap.Free(z);
        return Healthy();
    }

    private static string? ZeroOption()
    {
        for (int round = 0; round < 3; round++)
        {
            byte* p = (byte*)Heap.Malloc(500);
            for (int i = 0; i < 500; i++) if (p[i] != 0) return $"round {round}: byte {i} not zero";
            for (int i = 0; i < 500; i++) p[i] = 0xff;
            Heap.Free(p);
        }
        return Healthy();
    }

    /// <summary>Allocates ~256 MiB, touches it, frees it all, purges: RSS must fall back near the start.</summary>
    private static string? PurgeRss()
    {
        Heap.Free(Heap.Malloc(8));
        GC.Collect();
        long start = Rss.Bytes(), heapStart = Heap.GetStats().Resident;
        var blocks = new List<nint>();
        var rng = new Random(7);
        long total = 0;
        while (total < 256L << 20)
        {
            int r = rng.Next(100);
            nuint size = r < 60 ? (nuint)rng.Next(16, 2048) : r < 95 ? (nuint)rng.Next(2048, 256 * 1024) : (nuint)rng.Next(256 * 1024, 8 << 20);
            byte* p = (byte*)Heap.Malloc(size);
            for (nuint i = 0; i < size; i += 4096) p[i] = 1;
            p[size - 1] = 1;
            blocks.Add((nint)p);
            total += (long)size;
        }
        long full = Rss.Bytes();
        foreach (nint p in blocks) Heap.Free((void*)p);
        long freed = Rss.Bytes();
        Heap.Purge();
        long purged = Rss.Bytes(), heapPurged = Heap.GetStats().Resident;
        Console.WriteLine($"rss start {start >> 20} MiB, full {full >> 20} MiB, after free {freed >> 20} MiB, after purge {purged >> 20} MiB; " +
                          $"heap resident {heapStart >> 20} -> {heapPurged >> 20} MiB");
        if (full - start < 200L << 20) return "the workload did not raise RSS by 200 MiB";
        // The heap's own count is back near the start (metadata and page-map growth only) ...
        if (heapPurged > heapStart + (4 << 20)) return $"the heap's resident memory after purge is {heapPurged >> 20} MiB, start was {heapStart >> 20} MiB";
        // ... and the process gave back at least 90 % of what the workload added. The remainder is the
        // runtime's own (JIT, GC, threads), which varies with the machine's load, so the bound is
        // relative to this run's own rise rather than to the starting RSS.
        if (purged - start > (full - start) / 10) return $"RSS after purge is {purged >> 20} MiB: only {(full - purged) >> 20} of the {(full - start) >> 20} MiB the workload added were returned";
        return Heap.TryValidate(out string? e) ? null : e;
    }

    /// <summary>Many short-lived threads that allocate and exit: their caches must be reclaimed.</summary>
    private static string? ThreadChurn(int threads)
    {
        long peakAfterWarmup = 0, start = 0, heapPeak = 0;
        for (int i = 0; i < threads; i++)
        {
            var t = new Thread(() =>
            {
                var ptrs = stackalloc nint[64];
                for (int k = 0; k < 64; k++) ptrs[k] = (nint)Heap.Malloc((nuint)(16 << (k % 8)));
                // Freed blocks stay in this thread's cache until it exits; the exit must give them back.
                for (int k = 0; k < 64; k++) Heap.Free((void*)ptrs[k]);
            }, 256 * 1024);
            t.Start();
            t.Join();
            // The runtime's own per-thread garbage (Thread objects, stacks' bookkeeping) is collected
            // before each reading, so the figure is the heap's.
            if (i == 500 || (i > 500 && i % 500 == 0))
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                long rss = Rss.Bytes();
                if (i == 500) start = rss; else peakAfterWarmup = Math.Max(peakAfterWarmup, rss);
                heapPeak = Math.Max(heapPeak, Heap.GetStats().Resident);
            }
        }
        Thread.Sleep(50);
        Heap.Purge();
        long end = Rss.Bytes();
        HeapStats s = Heap.GetStats();
        Console.WriteLine($"rss after 500 threads {start >> 20} MiB, peak later {peakAfterWarmup >> 20} MiB, end {end >> 20} MiB, " +
                          $"heap resident peak {heapPeak >> 10} KiB, metadata {s.Metadata >> 10} KiB");
        if (heapPeak > 16L << 20) return $"the heap's resident memory reached {heapPeak >> 20} MiB over {threads} threads";
        if (peakAfterWarmup > start + (32L << 20)) return $"RSS grew from {start >> 20} MiB to {peakAfterWarmup >> 20} MiB over {threads} threads";
        if (s.Metadata > 64L << 20) return $"metadata reached {s.Metadata >> 20} MiB: exited threads' caches are not reused";
        return Heap.TryValidate(out string? e) ? null : e;
    }

    /// <summary>Decay driven by an injected clock: nothing is purged before the decay time, everything after.</summary>
    private static string? DecayClock()
    {
        long now = 1_000_000;
        HeapClock.Set(() => now);
        int arena = Heap.CreateArena();
        Heap.SetArenaDecay(arena, 10_000, 0);
        var flags = MallocFlags.Arena(arena) | MallocFlags.NoThreadCache;
        var blocks = new List<nint>();
        for (int i = 0; i < 64; i++)
        {
            byte* p = (byte*)Heap.MallocX(256 * 1024, flags);
            NativeMemoryTouch(p, 256 * 1024);
            blocks.Add((nint)p);
        }
        foreach (nint p in blocks) Heap.Free((void*)p);
        ArenaStats Stats() => Heap.GetStats().Arenas.Single(a => a.Index == arena);
        long dirty0 = Stats().DirtyPages;
        if (dirty0 < 64 * 64) return $"expected at least {64 * 64} dirty pages after freeing, got {dirty0}";
        now += 9_000;
        Heap.Decay();
        if (Stats().DirtyPages != dirty0) return $"pages were purged before the decay time ({Stats().DirtyPages} of {dirty0} left)";
        now += 1_001;
        Heap.Decay();
        ArenaStats after = Stats();
        if (after.DirtyPages != 0) return $"{after.DirtyPages} dirty pages left after the decay time";
        if (after.PurgedPages < dirty0) return $"only {after.PurgedPages} pages purged";
        HeapClock.Set(null);
        return Heap.TryValidate(out string? e) ? null : e;
    }

    /// <summary>retain:false: a freed huge block's mapping goes back at once and nothing is retained.</summary>
    private static string? RetainOff()
    {
        if (Heap.Options.Retain) return "opt.retain is still on";
        if (HeapControl.Read("opt.retain", out bool r) != CtlStatus.Ok || r) return "opt.retain does not read false";
        if (HeapControl.Read("arena.0.retain_grow_limit", out nuint _) != CtlStatus.NotFound) return "retain_grow_limit is not ENOENT with opt.retain off";
        int arena = Heap.CreateArena();
        byte* p = (byte*)Heap.MallocX(10 << 20, MallocFlags.Arena(arena));
        NativeMemoryTouch(p, 10 << 20);
        Heap.Free(p);
        ArenaStats s = Heap.GetStats().Arenas.Single(a => a.Index == arena);
        if (s.RetainedExtents != 0 || s.Mapped != 0 || s.Retained != 0) return $"retained {s.RetainedExtents} extents, mapped {s.Mapped}, retained {s.Retained}";
        if (Mapped(p)) return "the freed huge block is still mapped";
        return Heap.TryValidate(out string? e) ? null : e;
    }

    /// <summary>Whether the page holding <paramref name="p"/> is mapped: mincore refuses (ENOMEM) an unmapped range.</summary>
    private static bool Mapped(void* p)
        => NativeHeap.Os.OsMemory.TryCountResident((void*)((nuint)p & ~(nuint)(NativeHeap.Os.OsMemory.PageSize - 1)), (nuint)NativeHeap.Os.OsMemory.PageSize, out _, out _);

    /// <summary>Checked mode with retained huge extents: a second free is refused, reuse and reset stay consistent.</summary>
    private static string? CheckedHugeRetained()
    {
        int arena = Heap.CreateArena();
        var flags = MallocFlags.Arena(arena);
        void* p = Heap.MallocX(10 << 20, flags);
        Heap.Free(p);
        string? e1 = Expect<HeapMisuseException>(() => Heap.Free(p), "a second free of a huge block whose mapping is retained");
        if (e1 != null) return e1;
        if (Heap.UsableSize(p) != 0) return "a retained extent reports a usable size";
        void* q = Heap.MallocX(9 << 20, flags);
        if (q != p) return "the retained extent was not reused";
        if (!Heap.TryValidate(out string? e2)) return e2;
        Heap.Free(q);
        Heap.ResetArena(arena);
        ArenaStats s = Heap.GetStats().Arenas.Single(a => a.Index == arena);
        if (s.RetainedExtents != 0 || s.Mapped != 0) return $"reset left {s.RetainedExtents} retained extents, {s.Mapped} B mapped";
        string? e3 = Expect<HeapMisuseException>(() => Heap.Free(q), "a free after the reset");
        if (e3 != null) return e3;
        Heap.DestroyArena(arena);
        return Heap.TryValidate(out string? e4) ? null : e4;
    }

    private static string? DecayZero()
    {
        int arena = Heap.CreateArena();
        Heap.SetArenaDecay(arena, 0, 0);
        void* p = Heap.MallocX(1 << 20, MallocFlags.Arena(arena));
        NativeMemoryTouch((byte*)p, 1 << 20);
        Heap.Free(p);
        ArenaStats s = Heap.GetStats().Arenas.Single(a => a.Index == arena);
        return s.DirtyPages == 0 && s.PurgedPages >= 256 ? null : $"decay 0 left {s.DirtyPages} dirty pages, purged {s.PurgedPages}";
    }

    /// <summary>With background_thread on, decayed pages are purged with no further heap call.</summary>
    private static string? BackgroundPurge()
    {
        if (!Heap.Options.BackgroundThread) return "background_thread not on";
        var blocks = new List<nint>();
        for (int i = 0; i < 32; i++)
        {
            byte* p = (byte*)Heap.MallocX(512 * 1024, MallocFlags.NoThreadCache);
            NativeMemoryTouch(p, 512 * 1024);
            blocks.Add((nint)p);
        }
        foreach (nint p in blocks) Heap.Free((void*)p);
        // Freed pages are dirty in the arenas or in spare chunks; either way resident until purged.
        long resident = Heap.GetStats().Resident;
        if (resident < 16L << 20) return $"expected 16 MiB resident after the frees, got {resident >> 20} MiB";
        for (int waited = 0; waited < 100; waited++)
        {
            Thread.Sleep(100);
            long left = Heap.GetStats().Resident;
            if (left < resident - (14L << 20)) return null;
        }
        return $"the background thread did not purge within 10 s (resident {Heap.GetStats().Resident >> 20} MiB)";
    }

    private static string? OomAbort()
    {
        Heap.Malloc((nuint)1 << 62);
        return "oom:abort returned instead of aborting";
    }

    /// <summary>A memory source set in HeapOptions before first use serves the automatic arenas.</summary>
    private static string? SourceOption()
    {
        var source = new RegionSource(64 << 20);
        Heap.Configure(new HeapOptions { MemorySource = source });
        byte* p = (byte*)Heap.Malloc(100);
        byte* q = (byte*)Heap.Malloc(300_000);
        if (!source.Contains(p) || !source.Contains(q)) return "blocks did not come from the configured source";
        if (source.Allocations == 0) return "the source was never asked for memory";
        Heap.Free(p);
        Heap.Free(q);
        return Heap.TryValidate(out string? e) ? null : e;
    }

    private sealed class RegionSource : IMemorySource
    {
        private readonly byte* _base;
        private readonly nuint _size;
        private nuint _next;
        public int Allocations;

        public RegionSource(nuint size)
        {
            _size = size;
            _base = (byte*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(size, 4 << 20);
        }

        public bool Contains(void* p) => (byte*)p >= _base && (byte*)p < _base + _size;

        public void* Allocate(void* at, nuint size, nuint alignment, out bool zeroed)
        {
            zeroed = false;   // recycled memory: the heap must not assume zeroes
            lock (this)
            {
                Allocations++;
                nuint start = (_next + alignment - 1) & ~(alignment - 1);
                if (at != null || start + size > _size) return null;
                _next = start + size;
                return _base + start;
            }
        }

        public bool TryRelease(void* address, nuint size) => true;
        public bool TryCommit(void* address, nuint size) => true;
        public bool TryDecommit(void* address, nuint size) => true;
        public bool TryPurgeLazy(void* address, nuint size) => false;
        public bool TryPurgeForced(void* address, nuint size) => false;
        public bool TrySplit(void* address, nuint size, nuint firstSize) => false;
        public bool TryMerge(void* first, nuint firstSize, void* second, nuint secondSize) => false;
    }

    private static string? StatsPrint()
    {
        Heap.Free(Heap.Malloc(1000));
        return null;   // the statistics are printed to stderr at exit; the test reads them
    }

    private static void NativeMemoryTouch(byte* p, int bytes)
    {
        for (int i = 0; i < bytes; i += 4096) p[i] = 1;
    }
}
