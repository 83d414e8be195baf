// Heap-profiling scenarios: they run with NATIVEHEAP_CONF=prof:true,... (set by the parent test), so
// profiling is on from the start as MALLOC_CONF=prof:true is for jemalloc, and the process's whole
// heap is what the profile describes.
//  - prof-leak DIR: three leaking sites of chosen sizes and counts, one site whose blocks are all
//    freed and a realloc'd site; dumps DIR/api.heap (HeapProfiler.Dump) and DIR/ctl.heap (mallctl
//    prof.dump with a const char *), and prints "TRUE method bytes objects" for each site, the true
//    usable bytes, for the parent to compare with the profile's estimates.
//  - prof-exit: leaks one site and exits; prof_leak/prof_final (set by the parent) report and dump it.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NativeHeap.TestChild;

internal static unsafe class ProfScenarios
{
    internal static bool TryRun(string name, string[] args, out string? result)
    {
        switch (name)
        {
            case "prof-leak": result = Leak(args[0]); return true;
            case "prof-exit": result = Exit(); return true;
            case "prof-inactive": result = Inactive(); return true;
            case "prof-auto-dumps": result = AutoDumps(args[0]); return true;
            default: result = null; return false;
        }
    }

    private static readonly List<nint> s_kept = new();

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long LeakLargeBuffers(int count, nuint size)
    {
        long bytes = 0;
        for (int i = 0; i < count; i++)
        {
            void* p = Heap.Malloc(size);
            bytes += (long)Heap.UsableSize(p);
            s_kept.Add((nint)p);
        }
        return bytes;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long LeakPages(int count, nuint size)
    {
        long bytes = 0;
        for (int i = 0; i < count; i++)
        {
            void* p = Heap.Malloc(size);
            bytes += (long)Heap.UsableSize(p);
            s_kept.Add((nint)p);
        }
        return bytes;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long LeakSmallNodes(int count, nuint size)
    {
        long bytes = 0;
        for (int i = 0; i < count; i++)
        {
            void* p = Heap.Malloc(size);
            bytes += (long)Heap.UsableSize(p);
            s_kept.Add((nint)p);
        }
        return bytes;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ChurnAndFree(int count, nuint size)
    {
        var batch = new nint[1000];
        for (int i = 0; i < count; i += batch.Length)
        {
            for (int j = 0; j < batch.Length; j++) batch[j] = (nint)Heap.Malloc(size);
            for (int j = 0; j < batch.Length; j++) Heap.Free((void*)batch[j]);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long LeakThroughCalloc(int count, nuint size)
    {
        long bytes = 0;
        for (int i = 0; i < count; i++)
        {
            void* p = Heap.Calloc(1, size);
            bytes += (long)Heap.UsableSize(p);
            s_kept.Add((nint)p);
        }
        return bytes;
    }

    private static string? Leak(string dir)
    {
        if (!HeapProfiler.IsActive) return "profiling is not active with NATIVEHEAP_CONF=" + Environment.GetEnvironmentVariable("NATIVEHEAP_CONF");
        // About 500 samples per site at 512 KiB (a relative standard deviation of ~4.5 %), and a fixed seed.
        long large = LeakLargeBuffers(6_000, 48 * 1024);        // 6,000 × 48 KiB (large class): 295 MB
        ChurnAndFree(2_000_000, 256);                             // all freed: no live bytes
        long pages = LeakPages(64_000, 4000);                     // 64,000 × 4,096 usable: 262 MB
        long small = LeakSmallNodes(2_400_000, 100);              // 2,400,000 × 112 usable: 269 MB
        long zeroed = LeakThroughCalloc(250_000, 1000);           // 250,000 × 1,024 usable: 256 MB
        Console.WriteLine($"TRUE {nameof(LeakLargeBuffers)} {large} 6000");
        Console.WriteLine($"TRUE {nameof(LeakPages)} {pages} 64000");
        Console.WriteLine($"TRUE {nameof(LeakSmallNodes)} {small} 2400000");
        Console.WriteLine($"TRUE {nameof(LeakThroughCalloc)} {zeroed} 250000");
        Console.WriteLine($"TRUE {nameof(ChurnAndFree)} 0 0");
        // Live samples clear their pages' fast-free entries; the heap's own consistency check knows that.
        if (!Heap.TryValidate(out string? invalid)) return "heap invalid with live samples: " + invalid;
        HeapProfiler.Dump(Path.Combine(dir, "api.heap"));
        nint name = Marshal.StringToCoTaskMemUTF8(Path.Combine(dir, "ctl.heap"));
        try
        {
            CtlStatus st = HeapControl.Ctl("prof.dump", null, null, &name, (nuint)sizeof(nint));
            if (st != CtlStatus.Ok) return "mallctl prof.dump: " + st;
        }
        finally
        {
            Marshal.FreeCoTaskMem(name);
        }
        // The default name: <prefix>.<pid>.<seq>.m<mseq>.heap (prof_prefix set by the parent).
        CtlStatus def = HeapControl.Ctl("prof.dump", null, null, null, 0);
        if (def != CtlStatus.Ok) return "mallctl prof.dump with no name: " + def;
        return null;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void LeakWhileStarted()
    {
        for (int i = 0; i < 20_000; i++) s_kept.Add((nint)Heap.Malloc(2048));
    }

    // Run with prof:true,prof_active:false: the fast path carries the sample test, which never fires, and
    // allocates nothing managed; HeapProfiler.Start() then samples.
    private static string? Inactive()
    {
        if (!HeapProfiler.IsEnabled || HeapProfiler.IsActive) return $"enabled {HeapProfiler.IsEnabled}, active {HeapProfiler.IsActive}";
        var ptrs = new nint[256];
        for (int round = 0; round < 3; round++)
        {
            for (int i = 0; i < ptrs.Length; i++) ptrs[i] = (nint)Heap.Malloc((nuint)(16 + i * 61 % 30000));
            for (int i = 0; i < ptrs.Length; i++) Heap.Free((void*)ptrs[i]);
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int round = 0; round < 4000; round++)
        {
            for (int i = 0; i < ptrs.Length; i++) ptrs[i] = (nint)Heap.Malloc((nuint)(16 + i * 61 % 30000));
            for (int i = 0; i < ptrs.Length; i++) Heap.Free((void*)ptrs[i]);
        }
        long managed = GC.GetAllocatedBytesForCurrentThread() - before;
        if (managed != 0) return $"the inactive fast path allocated {managed} managed bytes";
        if (HeapProfiler.Snapshot().SamplesTaken != 0) return "samples taken while inactive";
        HeapProfiler.Start();
        LeakWhileStarted();
        HeapProfileSnapshot snap = HeapProfiler.Snapshot();
        HeapProfileSite? top = snap.Top(1).FirstOrDefault();
        if (top?.Top == null || !top.Top.Function.EndsWith("ProfScenarios." + nameof(LeakWhileStarted), StringComparison.Ordinal))
            return "top site after Start: " + (top?.Top?.ToString() ?? "none");
        if (top.InUseBytes < 20_000L * 2048 * 7 / 10 || top.InUseBytes > 20_000L * 2048 * 13 / 10) return $"estimate {top.InUseBytes}, true {20_000L * 2048}";
        HeapProfiler.Stop();
        if (HeapProfiler.IsActive) return "still active after Stop";
        return null;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void GrowMegabytes(int count)
    {
        for (int i = 0; i < count; i++) s_kept.Add((nint)Heap.Malloc(1 << 20));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void AllocateUnsampled(int count)
    {
        for (int i = 0; i < count; i++) s_kept.Add((nint)Heap.Malloc(1 << 20));
    }

    // Run with prof:true,prof_gdump:true,lg_prof_interval:24,prof_prefix:DIR/auto: interval dumps
    // (every ~16 MiB sampled) and gdumps (the mapped bytes passed their maximum) appear while the heap
    // grows by 64 MiB; then thread.prof.active false keeps this thread's allocations out of the profile.
    private static string? AutoDumps(string dir)
    {
        GrowMegabytes(64);
        int intervals = Directory.GetFiles(dir, "auto.*.i*.heap").Length, gdumps = Directory.GetFiles(dir, "auto.*.u*.heap").Length;
        if (intervals < 2 || intervals > 8) return $"{intervals} interval dumps for 64 MiB at 16 MiB";
        if (gdumps < 1) return "no gdump while the heap grew";
        if (HeapControl.Read("prof.interval", out ulong interval) != CtlStatus.Ok || interval != 1UL << 24) return "prof.interval " + interval;
        HeapProfiler.ThreadActive = false;
        if (HeapControl.Read("thread.prof.active", out bool ta) != CtlStatus.Ok || ta) return "thread.prof.active still true";
        AllocateUnsampled(32);
        if (HeapProfiler.Snapshot().Sites.Any(s => s.Top?.Function.EndsWith(nameof(AllocateUnsampled), StringComparison.Ordinal) == true))
            return "a thread with thread.prof.active false was sampled";
        return null;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void LeakAtExit()
    {
        for (int i = 0; i < 20_000; i++) s_kept.Add((nint)Heap.Malloc(2048));
    }

    private static string? Exit()
    {
        LeakAtExit();
        return null;
    }
}
