// HeapProfiler: the public face of the general heap's sampled profiler (jemalloc's prof.*). The same
// controls exist in the mallctl namespace (prof.active, prof.dump, prof.reset, ...) and as options
// (HeapOptions.Prof*, NATIVEHEAP_CONF=prof:true,...). docs/profiling.md is the user's guide.
using NativeHeap.Profiling;

namespace NativeHeap;

/// <summary>
/// Sampled heap profiling of <see cref="Heap"/>: about one allocation per 2^<see cref="HeapOptions.LgProfSample"/>
/// bytes is recorded with its call stack, and the estimates (unbiased by each sample's probability)
/// are written as a pprof profile that <c>go tool pprof</c> and <c>nheap prof</c> read.
/// </summary>
/// <remarks>
/// As jemalloc's opt.prof, profiling must be requested before the heap's first use —
/// <c>NATIVEHEAP_CONF=prof:true</c> (with <c>prof_active:false</c> to start sampling later with
/// <see cref="Start()"/>) or <see cref="HeapOptions.Prof"/> given to <see cref="Heap.Configure"/>: without
/// it the allocation fast path carries no sampling test at all (the JIT removes it).
/// Memory kinds other than the default one are not sampled. Sampled blocks are tracked until they are
/// freed; a site's estimate is statistical: with n live samples its relative error is about 1/√n.
/// Methods that allocate should not be inlined into their callers if they are to be named in a profile.
/// </remarks>
public static class HeapProfiler
{
    /// <summary>Whether sampling runs now (prof.active with profiling started).</summary>
    public static bool IsActive
    {
        get
        {
            Heap.EnsureInitialized();
            return SamplerGate.Active;
        }
    }

    /// <summary>Mean bytes between samples (prof.lg_sample as bytes).</summary>
    public static long SampleInterval
    {
        get
        {
            Heap.EnsureInitialized();
            return 1L << Sampler.s_lgSample;
        }
    }

    /// <summary>Whether profiling was requested at start (opt.prof), which the other members need.</summary>
    public static bool IsEnabled
    {
        get
        {
            Heap.EnsureInitialized();
            return Sampler.s_enabled;
        }
    }

    /// <summary>Starts sampling (prof.active true), or resumes it after <see cref="Stop"/>, at the current rate.</summary>
    /// <exception cref="InvalidOperationException">Profiling was not requested at start (NATIVEHEAP_CONF=prof:true or <see cref="HeapOptions.Prof"/>).</exception>
    public static void Start()
    {
        Heap.EnsureInitialized();
        Sampler.RequireOptProf();
        Sampler.SetActive(true);
    }

    /// <summary>Starts profiling with a new mean sample interval of 2^<paramref name="lgSample"/> bytes, forgetting earlier samples.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="lgSample"/> is outside 0..62.</exception>
    /// <exception cref="InvalidOperationException">Profiling was not requested at start.</exception>
    public static void Start(int lgSample)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(lgSample);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(lgSample, 62);
        Heap.EnsureInitialized();
        Sampler.RequireOptProf();
        Sampler.Reset(lgSample);
        Sampler.SetActive(true);
    }

    /// <summary>Stops sampling (prof.active false). Live samples are kept, and their frees still seen.</summary>
    /// <exception cref="InvalidOperationException">Profiling was not requested at start.</exception>
    public static void Stop()
    {
        Heap.EnsureInitialized();
        Sampler.RequireOptProf();
        Sampler.SetActive(false);
    }

    /// <summary>Forgets every sample and site (prof.reset); sampling goes on if it was on.</summary>
    /// <exception cref="InvalidOperationException">Profiling was not requested at start.</exception>
    public static void Reset()
    {
        Heap.EnsureInitialized();
        Sampler.RequireOptProf();
        Sampler.Reset(null);
    }

    /// <summary>Writes the profile (gzip-compressed pprof profile.proto) to <paramref name="path"/> (prof.dump).</summary>
    /// <param name="path">The file; null names it &lt;prof_prefix&gt;.&lt;pid&gt;.&lt;seq&gt;.m&lt;mseq&gt;.heap in the current directory.</param>
    /// <returns>The file written.</returns>
    /// <exception cref="IOException">The file cannot be written.</exception>
    /// <exception cref="InvalidOperationException">Profiling was not requested at start, or no path was given and prof_prefix is empty.</exception>
    public static string Dump(string? path = null)
    {
        Heap.EnsureInitialized();
        Sampler.RequireOptProf();
        return Sampler.Dump(path);
    }

    /// <summary>The sites and their estimates now.</summary>
    public static HeapProfileSnapshot Snapshot()
    {
        Heap.EnsureInitialized();
        return Sampler.Snapshot();
    }

    /// <summary>The text of the leak report printed at exit with prof_leak (the top <paramref name="sites"/> sites by live bytes); empty when nothing sampled lives.</summary>
    public static string FormatLeakReport(int sites = 10) => LeakReport.Format(Snapshot(), sites);

    /// <summary>The calling thread's name in profiles (thread.prof.name); null when unset.</summary>
    public static string? ThreadName
    {
        get => Sampler.ThreadName;
        set => Sampler.ThreadName = value;
    }

    /// <summary>Whether the calling thread's allocations are sampled (thread.prof.active; new threads start with prof.thread_active_init).</summary>
    public static bool ThreadActive
    {
        get => Heap.ProfThreadActive;
        set => Heap.ProfThreadActive = value;
    }
}
