// Sampler: the heap profiler's state — which blocks are sampled, their sites, and the sample rate.
//
// Terms:
//  - sample interval: bytes of allocation between two samples of a thread, drawn from an exponential
//    distribution of mean R = 2^lg_sample (a Poisson process over the bytes a thread allocates), so
//    a block of usable size s is sampled with probability 1 - exp(-s/R) whatever the sizes around it;
//  - weight: a sampled block stands for 1 / (1 - exp(-s/R)) blocks and s times that many bytes
//    (jemalloc's unbiasing), so summed weights estimate the true counts without bias;
//  - site: one interned call stack (plus the thread's prof name); it accumulates the weights of its
//    live samples (inuse) and of every sample taken (alloc, since the last reset);
//  - live sample: a sampled block not yet freed, keyed by address in s_live; its page's PageBin byte
//    is 0 while it lives (s_pages keeps the byte and how many live samples the page holds), so its
//    free reaches Heap.FreeSlow, which calls OnFree.
// Invariants (under s_lock): SamplerGate.LiveSamples == s_live.Count; a page is in s_pages iff it holds a live
// sample of an arena chunk, and then its PageBin byte is 0; a site's live counts are the sums of its
// live samples' weights. The sampling slow path allocates managed objects: it only runs on threads
// that run managed code (C# callers and the C ABI's exports, which enter the runtime anyway).
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;
using NativeHeap.Core;
using NativeHeap.General;
using NativeHeap.Os;

namespace NativeHeap.Profiling;

internal static unsafe class Sampler
{
    internal const int MaxFrames = 64;


    // Settings (written under s_lock, read racily where a stale value is harmless).
    internal static int s_lgSample = 19;
    private static double s_mean = 1 << 19;
    private static ulong s_seed;
    internal static bool s_enabled;          // profiling was started (opt.prof or HeapProfiler.Start)
    internal static bool s_optProf, s_optActive = true, s_accum, s_leak, s_leakError, s_final, s_gdump;
    internal static string s_prefix = "nheap";
    internal static int s_lgInterval = -1;
    private static bool s_exitHooked;

    private static readonly Lock s_lock = new();
    private static readonly Dictionary<nuint, LiveSample> s_live = new();
    private static readonly Dictionary<nuint, PageFlag> s_pages = new();
    private static readonly Dictionary<StackKey, ProfileSite> s_sites = new();
    private static readonly List<ProfileSite> s_siteList = new();
    private static long s_samplesTaken;
    private static double s_intervalBytes;
    private static int s_dumpSeq, s_manualSeq, s_intervalSeq, s_gdumpSeq;
    private static long s_gdumpMax;

    [ThreadStatic] private static string? t_threadName;
    [ThreadStatic] private static bool t_sampling;

    private readonly record struct LiveSample(ProfileSite Site, double Objects, nuint Size);

    private struct PageFlag
    {
        public int Count;
        public byte Saved;
    }

    /// <summary>Whether stacks are native return addresses (NativeAOT: the C library) rather than managed frames.</summary>
    internal static readonly bool NativeStacks = !RuntimeFeature.IsDynamicCodeSupported;

    // ---- configuration -------------------------------------------------------------------------

    /// <summary>Applies the heap's options at initialisation (opt.prof* and NATIVEHEAP_CONF).</summary>
    internal static void Configure(HeapOptions o)
    {
        lock (s_lock)
        {
            s_optProf = o.Prof;
            s_optActive = o.ProfActive;
            SamplerGate.ThreadActiveInit = o.ProfThreadActiveInit;
            SetRate(o.LgProfSample);
            s_seed = o.ProfSeed;
            s_accum = o.ProfAccum;
            s_leak = o.ProfLeak;
            s_leakError = o.ProfLeakError;
            s_final = o.ProfFinal;
            s_prefix = o.ProfPrefix;
            s_lgInterval = o.LgProfInterval;
            s_gdump = o.ProfGdump;
        }
        if (!o.Prof) return;
        if (!ThreadCache.ProfFastPath)
        {
            HeapDiagnostics.Warn("<nativeheap>: prof:true was set after the heap's fast path was compiled without it; profiling stays off (set it in NATIVEHEAP_CONF or Heap.Configure before any allocation)");
            return;
        }
        Enable(o.ProfActive);
    }

    /// <summary>Throws unless profiling was requested at start (opt.prof), as jemalloc's prof.* answer ENOENT without it.</summary>
    internal static void RequireOptProf()
    {
        if (!s_enabled)
            throw new InvalidOperationException("NativeHeap: heap profiling must be requested at start, as jemalloc's opt.prof: NATIVEHEAP_CONF=prof:true "
                + "(with prof_active:false to start sampling later with HeapProfiler.Start) or HeapOptions.Prof in Heap.Configure before the first allocation");
    }

    private static void SetRate(int lg)
    {
        s_lgSample = lg;
        s_mean = Math.ScaleB(1.0, lg);
    }

    /// <summary>Turns profiling on (sampling starts when <paramref name="active"/>); hooks the exit report once.</summary>
    private static void Enable(bool active)
    {
        lock (s_lock)
        {
            s_enabled = true;
            if (s_seed == 0) s_seed = (ulong)Random.Shared.NextInt64() | 1;
            if (!s_exitHooked)
            {
                s_exitHooked = true;
                AppDomain.CurrentDomain.ProcessExit += (_, _) => AtExit();
                // In the C library (NativeAOT) a C program's exit() raises no ProcessExit: libc's atexit runs the report.
                if (NativeStacks && !OsBacktrace.TryRegisterAtExit(&AtExitFromC))
                    HeapDiagnostics.Warn("<nativeheap>: atexit refused the profiler's exit handler; prof_leak/prof_final will not run");
            }
        }
        if (NativeStacks) OsBacktrace.Warm();
        SetActive(active);
    }

    /// <summary>prof.active: sampling on or off; every thread re-arms at its next slow path.</summary>
    internal static void SetActive(bool active)
    {
        lock (s_lock)
        {
            SamplerGate.Active = active && s_enabled;
            Interlocked.Increment(ref SamplerGate.Epoch);
        }
        Heap.ProfRearmAll();
    }

    /// <summary>The seed of a thread's interval generator: the profiler's seed mixed with the managed thread id (reproducible for a given thread).</summary>
    internal static ulong ThreadSeed()
    {
        ulong z = s_seed + (ulong)Environment.CurrentManagedThreadId * 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return z == 0 ? 1 : z;
    }

    /// <summary>The next sample interval in bytes (at least 1), exponential of mean 2^lg_sample; advances <paramref name="rng"/> (xorshift64*).</summary>
    internal static ulong NextInterval(ulong* rng)
    {
        ulong x = *rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        *rng = x;
        ulong r = x * 0x2545F4914F6CDD1DUL;
        double u = ((r >> 11) + 1) * (1.0 / 9007199254740992.0);   // (0, 1]
        double bytes = -Math.Log(u) * s_mean;
        return bytes >= 9.0e18 ? 9_000_000_000_000_000_000UL : (ulong)bytes + 1;
    }

    /// <summary>Blocks a sampled block of usable size <paramref name="size"/> stands for: 1 / (1 - exp(-size/R)).</summary>
    internal static double Weight(nuint size, double mean) => 1.0 / (1.0 - Math.Exp(-(double)size / mean));

    // ---- samples -------------------------------------------------------------------------------

    /// <summary>Records block <paramref name="p"/> (usable size <paramref name="usize"/>) as sampled: its stack, its site, its page's flag.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void Sample(void* p, nuint usize)
    {
        Chunk* c = (Chunk*)PageMap.Lookup(p);
        if (c == null || Heap.IsKindChunk(c) || t_sampling) return;
        t_sampling = true;
        try
        {
            SampleCore(p, c, usize);
        }
        finally
        {
            t_sampling = false;
        }
    }

    private static void SampleCore(void* p, Chunk* c, nuint usize)
    {
        StackKey key = Capture(t_threadName);
        ProfileSite? site;
        lock (s_lock) s_sites.TryGetValue(key, out site);   // a known site: this one lookup
        // A new site: name its frames (with file and line from the PDBs) outside the lock, once.
        HeapProfileFrame[]? frames = site == null ? StackResolver.Frames(key, NativeStacks ? null : new StackTrace(0, true)) : null;
        bool dumpInterval = false, dumpGdump = false;
        lock (s_lock)
        {
            if (!SamplerGate.Active) return;
            double objects = Weight(usize, s_mean);
            if (site == null && !s_sites.TryGetValue(key, out site))
            {
                site = new ProfileSite(key, frames!);
                s_sites.Add(key, site);
                s_siteList.Add(site);
            }
            if (s_live.Remove((nuint)p, out LiveSample stale)) stale.Site.RemoveLive(stale.Objects, stale.Size);   // a block an arena reset dropped
            else FlagPage(c, p);
            s_live[(nuint)p] = new LiveSample(site, objects, usize);
            site.AddLive(objects, usize);
            s_samplesTaken++;
            Volatile.Write(ref SamplerGate.LiveSamples, s_live.Count);
            if (s_lgInterval >= 0 && s_prefix.Length != 0)
            {
                s_intervalBytes += objects * usize;
                if (s_intervalBytes >= Math.ScaleB(1.0, s_lgInterval))
                {
                    s_intervalBytes = 0;
                    dumpInterval = true;
                }
            }
            if (s_gdump && s_prefix.Length != 0)
            {
                long mapped = Heap.MappedBytesApprox;
                if (mapped > s_gdumpMax)
                {
                    dumpGdump = s_gdumpMax != 0;
                    s_gdumpMax = mapped;
                }
            }
        }
        if (dumpInterval) TryAutoDump('i');
        if (dumpGdump) TryAutoDump('u');
    }

    private static void FlagPage(Chunk* c, void* p)
    {
        if (c->Kind != ChunkKind.Arena) return;          // huge blocks always take FreeSlow
        nuint page = (nuint)p & ~(nuint)(SizeClasses.PageSize - 1);
        uint idx = Chunk.PageIndexOf(p);
        ref PageFlag f = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(s_pages, page, out bool existed);
        if (!existed) f.Saved = c->PageBin[idx];
        f.Count++;
        Volatile.Write(ref c->PageBin[idx], (byte)0);
    }

    private static void UnflagPage(void* p)
    {
        nuint page = (nuint)p & ~(nuint)(SizeClasses.PageSize - 1);
        ref PageFlag f = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrNullRef(s_pages, page);
        if (Unsafe.IsNullRef(ref f)) return;
        if (--f.Count > 0) return;
        Chunk* c = (Chunk*)PageMap.Lookup(p);
        if (c != null && c->Kind == ChunkKind.Arena) Volatile.Write(ref c->PageBin[Chunk.PageIndexOf(p)], f.Saved);
        s_pages.Remove(page);
    }

    /// <summary>The PageBin entry of page <paramref name="index"/> of <paramref name="c"/> as the heap set it (the saved one while a sample flags the page): for Heap.TryValidate.</summary>
    internal static byte EffectivePageBin(Chunk* c, uint index)
    {
        byte current = c->PageBin[index];
        if (Volatile.Read(ref SamplerGate.LiveSamples) == 0) return current;
        nuint page = (nuint)c + (nuint)index * (nuint)SizeClasses.PageSize;
        lock (s_lock)
        {
            return s_pages.TryGetValue(page, out PageFlag f) ? f.Saved : current;
        }
    }

    /// <summary>A block is being freed (Heap.FreeSlow, before it is): drops its sample, if it has one.</summary>
    internal static void OnFree(void* p)
    {
        lock (s_lock)
        {
            if (!s_live.Remove((nuint)p, out LiveSample live)) return;
            live.Site.RemoveLive(live.Objects, live.Size);
            UnflagPage(p);
            Volatile.Write(ref SamplerGate.LiveSamples, s_live.Count);
        }
    }

    /// <summary>A large block was resized in place, which rewrote its PageBin byte: keep a sampled one flagged.</summary>
    internal static void OnResizedInPlace(void* p)
    {
        lock (s_lock)
        {
            if (!s_live.ContainsKey((nuint)p)) return;
            Chunk* c = (Chunk*)PageMap.Lookup(p);
            nuint page = (nuint)p & ~(nuint)(SizeClasses.PageSize - 1);
            ref PageFlag f = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrNullRef(s_pages, page);
            if (c == null || Unsafe.IsNullRef(ref f)) return;
            uint idx = Chunk.PageIndexOf(p);
            f.Saved = c->PageBin[idx];
            Volatile.Write(ref c->PageBin[idx], (byte)0);
        }
    }

    /// <summary>An explicit arena is reset: its blocks are gone without frees, so their samples go too.</summary>
    internal static void ForgetArena(Arena* a)
    {
        lock (s_lock)
        {
            var gone = new List<nuint>();
            foreach (KeyValuePair<nuint, LiveSample> kv in s_live)
            {
                Chunk* c = (Chunk*)PageMap.Lookup((void*)kv.Key);
                if (c == null || c->Arena == a) gone.Add(kv.Key);
            }
            foreach (nuint p in gone)
            {
                s_live.Remove(p, out LiveSample live);
                live.Site.RemoveLive(live.Objects, live.Size);
                UnflagPage((void*)p);
            }
            Volatile.Write(ref SamplerGate.LiveSamples, s_live.Count);
        }
    }

    /// <summary>prof.reset: forgets every sample and site, optionally with a new lg_sample; sampling restarts at the new rate.</summary>
    internal static void Reset(int? lgSample)
    {
        lock (s_lock)
        {
            foreach (nuint p in s_live.Keys) UnflagPage((void*)p);
            s_live.Clear();
            s_pages.Clear();
            s_sites.Clear();
            s_siteList.Clear();
            s_samplesTaken = 0;
            s_intervalBytes = 0;
            if (lgSample is int lg) SetRate(lg);
            Volatile.Write(ref SamplerGate.LiveSamples, 0);
            Interlocked.Increment(ref SamplerGate.Epoch);
        }
        Heap.ProfRearmAll();
    }

    /// <summary>The calling thread's name in profiles (thread.prof.name); null when unset.</summary>
    internal static string? ThreadName
    {
        get => t_threadName;
        set => t_threadName = value;
    }

    // ---- stacks --------------------------------------------------------------------------------

    private static readonly Assembly s_self = typeof(Sampler).Assembly;

    /// <summary>The caller's stack, without NativeHeap's own frames at its top.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Managed stacks are taken only with a JIT (NativeStacks false): an untrimmed application; a frame whose method is gone is named \"?\".")]
    private static StackKey Capture(string? thread)
    {
        if (NativeStacks)
        {
            void** buf = stackalloc void*[MaxFrames + 16];
            int n = OsBacktrace.Capture(buf, MaxFrames + 16);
            int first = 0;
            nint selfBase = StackResolver.SelfModuleBase;
            while (first < n && selfBase != 0 && StackResolver.ModuleBaseOf((nint)buf[first]) == selfBase) first++;
            int count = Math.Min(n - first, MaxFrames);
            var ids = new nint[count];
            for (int i = 0; i < count; i++) ids[i] = (nint)buf[first + i];
            return new StackKey(ids, null, thread);
        }
        var st = new StackTrace(1, false);
        int total = st.FrameCount, skip = 0;
        while (skip < total && st.GetFrame(skip)?.GetMethod()?.DeclaringType?.Assembly == s_self) skip++;
        int m = Math.Min(total - skip, MaxFrames);
        var keyIds = new nint[2 * m];
        var methods = new MethodBase?[m];
        for (int i = 0; i < m; i++)
        {
            StackFrame? f = st.GetFrame(skip + i);
            MethodBase? mb = f?.GetMethod();
            methods[i] = mb;
            keyIds[2 * i] = mb == null ? 0 : mb.MethodHandle.Value;
            // The IL offset, not the native one: tiered compilation (and OSR in a loop) gives one call several native offsets.
            int il = f?.GetILOffset() ?? StackFrame.OFFSET_UNKNOWN;
            keyIds[2 * i + 1] = il != StackFrame.OFFSET_UNKNOWN ? il : ~(nint)(f?.GetNativeOffset() ?? 0);
        }
        return new StackKey(keyIds, methods, thread);
    }

    // ---- reports -------------------------------------------------------------------------------

    /// <summary>A consistent copy of the sites and totals.</summary>
    internal static HeapProfileSnapshot Snapshot()
    {
        lock (s_lock)
        {
            var sites = new List<HeapProfileSite>(s_siteList.Count);
            foreach (ProfileSite s in s_siteList)
            {
                if (!s_accum && s.LiveSamples == 0) continue;   // prof_accum keeps sites whose blocks were all freed
                sites.Add(s.ToPublic());
            }
            sites.Sort((a, b) => b.InUseBytes.CompareTo(a.InUseBytes) is var d && d != 0 ? d : b.AllocBytes.CompareTo(a.AllocBytes));
            return new HeapProfileSnapshot(sites, 1L << s_lgSample, s_samplesTaken, s_live.Count, DateTime.UtcNow);
        }
    }

    /// <summary>Writes the profile (pprof, gzip) to <paramref name="path"/>, or to the next default name when null; returns the name written.</summary>
    internal static string Dump(string? path)
    {
        if (path == null)
        {
            lock (s_lock)
            {
                if (s_prefix.Length == 0) throw new InvalidOperationException("NativeHeap: prof_prefix is empty, so a dump needs a file name");
                path = $"{s_prefix}.{Environment.ProcessId}.{s_dumpSeq++}.m{s_manualSeq++}.heap";
            }
        }
        PprofWriter.Write(Snapshot(), path);
        return path;
    }

    private static void TryAutoDump(char kind)
    {
        try
        {
            string path;
            lock (s_lock)
            {
                int seq = kind switch { 'i' => s_intervalSeq++, 'u' => s_gdumpSeq++, _ => 0 };
                path = kind == 'f' ? $"{s_prefix}.{Environment.ProcessId}.{s_dumpSeq++}.f.heap" : $"{s_prefix}.{Environment.ProcessId}.{s_dumpSeq++}.{kind}{seq}.heap";
            }
            PprofWriter.Write(Snapshot(), path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            HeapDiagnostics.Warn($"<nativeheap>: profile dump failed: {e.Message}");
        }
    }

    /// <summary>prof.gdump written true: the next growth of the mapped bytes dumps.</summary>
    internal static bool Gdump
    {
        get => s_gdump;
        set
        {
            lock (s_lock)
            {
                s_gdump = value;
                s_gdumpMax = Heap.MappedBytesApprox;
            }
        }
    }

    /// <summary>prof.prefix written: the prefix of later automatic and default-named dumps.</summary>
    internal static void SetPrefix(string prefix)
    {
        lock (s_lock) s_prefix = prefix;
    }

    [System.Runtime.InteropServices.UnmanagedCallersOnly]
    private static void AtExitFromC() => AtExit();

    private static int s_exitRan;

    /// <summary>At process exit (once): the final dump (prof_final) and the leak report (prof_leak).</summary>
    internal static void AtExit()
    {
        if (!s_enabled || Interlocked.Exchange(ref s_exitRan, 1) != 0) return;
        SamplerGate.Active = false;
        if (s_final && s_prefix.Length != 0) TryAutoDump('f');
        if (!s_leak) return;
        HeapProfileSnapshot snap = Snapshot();
        string report = LeakReport.Format(snap, 10);
        if (report.Length != 0) General.HeapMessages.Write(report);
        if (s_leakError && snap.InUseBytes > 0) Environment.ExitCode = 1;
    }
}
