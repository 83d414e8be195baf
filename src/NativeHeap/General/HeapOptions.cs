// HeapOptions: the general heap's settings, from code (before first use) and from the environment
// variable NATIVEHEAP_CONF in MALLOC_CONF's "key:value,key:value" form. The environment is applied
// after the code's settings, so an operator can override a program (jemalloc's order: the program's
// malloc_conf, then MALLOC_CONF). Unknown keys and malformed values print a warning to stderr naming
// them and are otherwise ignored; contradictory settings are refused with an exception.
using System.Globalization;
using NativeHeap.Control;
using NativeHeap.General;

namespace NativeHeap;

/// <summary>What an allocation that cannot be satisfied does.</summary>
public enum OomBehavior
{
    /// <summary>Return null (the C convention; default).</summary>
    ReturnNull,

    /// <summary>Throw <see cref="OutOfMemoryException"/>.</summary>
    Throw,

    /// <summary>Print a message to stderr and abort the process (jemalloc's <c>xmalloc</c>).</summary>
    Abort,
}

/// <summary>Junk filling (jemalloc's <c>opt.junk</c>): write patterns to catch use of uninitialised or freed memory.</summary>
[Flags]
public enum JunkFill
{
    /// <summary>No junk filling (default).</summary>
    None = 0,

    /// <summary>Fill new allocations with 0xa5.</summary>
    Alloc = 1,

    /// <summary>Fill freed memory with 0x5a.</summary>
    Free = 2,

    /// <summary>Both.</summary>
    All = Alloc | Free,
}

/// <summary>Settings of the general heap. Set from code with <see cref="Heap.Configure"/> before first use.</summary>
public sealed class HeapOptions
{
    /// <summary>Name of the environment variable read at first use.</summary>
    public const string EnvironmentVariable = "NATIVEHEAP_CONF";

    /// <summary><c>opt.dirty_decay_ms</c>: ms a freed page stays resident before it is purged; 0 purges at once, -1 never (default 10000).</summary>
    public long DirtyDecayMs { get; set; } = 10_000;

    /// <summary><c>opt.muzzy_decay_ms</c>: ms a lazily purged (MADV_FREE) page waits before a forced purge; 0 skips the lazy step (default 0).</summary>
    public long MuzzyDecayMs { get; set; }

    /// <summary><c>opt.narenas</c>: number of automatic arenas; 0 means 4 × CPU count (default).</summary>
    public int Arenas { get; set; }

    /// <summary><c>opt.tcache</c>: per-thread caches on (default true).</summary>
    public bool ThreadCache { get; set; } = true;

    /// <summary>
    /// <c>opt.tcache_max</c>: largest size class kept in thread caches (default 1 MiB, at most 2 MiB; jemalloc's
    /// default is 32 KiB). Classes above 32 KiB keep at most 512 KiB each per thread (at least one block), so
    /// a malloc+free pair of a large block takes no lock while a thread's caches stay bounded.
    /// </summary>
    public nuint ThreadCacheMax { get; set; } = 1024 * 1024;

    /// <summary>
    /// <c>opt.retain</c>: freed huge mappings are kept (up to a byte budget per arena), purged by decay
    /// and reused for later huge blocks instead of being unmapped (default true, as jemalloc on Linux).
    /// </summary>
    public bool Retain { get; set; } = true;

    /// <summary><c>opt.checked</c>: detect invalid and double frees and wrong sizes in sized frees (default false). Slower: bypasses thread caches.</summary>
    public bool Checked { get; set; }

    /// <summary><c>opt.junk</c>: junk filling (default none).</summary>
    public JunkFill Junk { get; set; }

    /// <summary><c>opt.zero</c>: zero every allocation (default false).</summary>
    public bool Zero { get; set; }

    /// <summary><c>opt.oom</c>: what a failed allocation does (default <see cref="OomBehavior.ReturnNull"/>).</summary>
    public OomBehavior Oom { get; set; }

    /// <summary><c>opt.background_thread</c>: a background thread purges decayed pages of idle arenas (default false).</summary>
    public bool BackgroundThread { get; set; }

    /// <summary><c>opt.stats_print</c>: print statistics to stderr at process exit (default false).</summary>
    public bool StatsPrint { get; set; }

    /// <summary>
    /// Options of the statistics printed at exit (stats_print_opts), as <see cref="HeapControl.PrintStats(TextWriter, string?)"/>
    /// takes them: J for JSON, g/m/a/b/l to omit the general, merged, per-arena, bin and large sections.
    /// </summary>
    public string StatsPrintOptions { get; set; } = "";

    /// <summary>
    /// <c>opt.percpu_arena</c>: "disabled" (default: threads spread over the automatic arenas by load),
    /// "percpu" (one automatic arena per CPU; a thread uses the arena of the CPU it runs on, checked
    /// when its cache refills) or "phycpu" (the same; NativeHeap does not tell hyper-threads apart).
    /// </summary>
    public string PerCpuArena { get; set; } = "disabled";

    /// <summary>
    /// <c>opt.oversize_threshold</c>: requests of at least this many bytes (without an explicit arena) are
    /// served by one dedicated arena, so big blocks do not fragment the thread arenas (default 8 MiB, as
    /// jemalloc; 0 turns it off).
    /// </summary>
    public nuint OversizeThreshold { get; set; } = 8 * 1024 * 1024;

    /// <summary><c>opt.prof</c>: heap profiling on from the start (default false; <see cref="HeapProfiler.Start()"/> turns it on later).</summary>
    public bool Prof { get; set; }

    /// <summary><c>opt.prof_active</c>: whether sampling runs when <see cref="Prof"/> is on (default true; prof.active toggles it).</summary>
    public bool ProfActive { get; set; } = true;

    /// <summary><c>opt.prof_thread_active_init</c>: the initial thread.prof.active of new threads (default true).</summary>
    public bool ProfThreadActiveInit { get; set; } = true;

    /// <summary><c>opt.lg_prof_sample</c>: log2 of the mean bytes allocated between samples (default 19: 512 KiB; 0..62).</summary>
    public int LgProfSample { get; set; } = 19;

    /// <summary><c>opt.prof_accum</c>: keep sites whose blocks were all freed, so dumps report cumulative alloc_* counts for them too (default false).</summary>
    public bool ProfAccum { get; set; }

    /// <summary><c>opt.prof_leak</c>: at exit, report the sampled blocks still live, by site (default false).</summary>
    public bool ProfLeak { get; set; }

    /// <summary><c>opt.prof_leak_error</c>: with prof_leak, exit with status 1 when something leaked (default false).</summary>
    public bool ProfLeakError { get; set; }

    /// <summary><c>opt.prof_final</c>: dump a final profile at exit to &lt;prefix&gt;.&lt;pid&gt;.&lt;seq&gt;.f.heap (default false).</summary>
    public bool ProfFinal { get; set; }

    /// <summary><c>opt.prof_prefix</c>: file name prefix of automatic dumps (default "nheap"; empty: no automatic dumps).</summary>
    public string ProfPrefix { get; set; } = "nheap";

    /// <summary><c>opt.lg_prof_interval</c>: log2 of the mean bytes allocated between interval dumps (default -1: none).</summary>
    public int LgProfInterval { get; set; } = -1;

    /// <summary><c>opt.prof_gdump</c>: dump a profile each time the heap's mapped bytes pass their previous maximum (default false).</summary>
    public bool ProfGdump { get; set; }

    /// <summary><c>prof_seed</c> (NativeHeap's own): seed of the sampler's random intervals; 0 (default) draws one at start. A fixed seed makes a single-threaded program's samples reproducible.</summary>
    public ulong ProfSeed { get; set; }

    /// <summary>Memory source of the automatic arenas (default: anonymous mmap). Not settable from the environment.</summary>
    public IMemorySource? MemorySource { get; set; }

    /// <summary>The conf string's core key, when it had one. Only the environment's counts: the core is chosen once, at process start (Heap.ActiveCore).</summary>
    internal HeapCore? CoreFromConf { get; private set; }

    /// <summary>Returns a copy of these options.</summary>
    public HeapOptions Clone() => (HeapOptions)MemberwiseClone();

    /// <summary>
    /// Applies a <c>key:value,key:value</c> string. Unknown keys and malformed values are reported to
    /// <paramref name="warn"/> (when null, to <see cref="HeapDiagnostics"/>: the NativeHeap EventSource,
    /// the <see cref="HeapDiagnostics.Warning"/> event and stderr, or the C library's malloc_message hook) and skipped.
    /// </summary>
    public void Apply(string? conf, Action<string>? warn = null)
    {
        warn ??= HeapDiagnostics.Warn;
        if (string.IsNullOrWhiteSpace(conf)) return;
        foreach (string raw in conf.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int colon = raw.IndexOf(':');
            if (colon <= 0)
            {
                warn($"<nativeheap>: Malformed conf string: \"{raw}\" (expected key:value); ignored");
                continue;
            }
            string key = raw[..colon].Trim(), value = raw[(colon + 1)..].Trim();
            if (!TryApplyOne(key, value))
                warn($"<nativeheap>: Invalid conf pair: {key}:{value}; ignored");
        }
    }

    private bool TryApplyOne(string key, string value)
    {
        switch (key)
        {
            case "dirty_decay_ms": return TryLong(value, -1, out long d) && Set(() => DirtyDecayMs = d);
            case "muzzy_decay_ms": return TryLong(value, -1, out long m) && Set(() => MuzzyDecayMs = m);
            case "narenas": return TryLong(value, 0, out long n) && n <= 4095 && Set(() => Arenas = (int)n);
            case "tcache": return TryBool(value, out bool t) && Set(() => ThreadCache = t);
            case "tcache_max": return TryLong(value, 0, out long tm) && Set(() => ThreadCacheMax = (nuint)tm);
            case "retain": return TryBool(value, out bool rt) && Set(() => Retain = rt);
            case "checked": return TryBool(value, out bool c) && Set(() => Checked = c);
            case "core": return value is "jemalloc" or "sharded" && Set(() => CoreFromConf = value == "sharded" ? HeapCore.Sharded : HeapCore.Jemalloc);
            case "zero": return TryBool(value, out bool z) && Set(() => Zero = z);
            case "background_thread": return TryBool(value, out bool b) && Set(() => BackgroundThread = b);
            case "stats_print": return TryBool(value, out bool sp) && Set(() => StatsPrint = sp);
            case "stats_print_opts": return StatsEmitter.TryParseOptions(value, out _) && Set(() => StatsPrintOptions = value);
            case "percpu_arena": return value is "disabled" or "percpu" or "phycpu" && Set(() => PerCpuArena = value);
            case "oversize_threshold": return TryLong(value, 0, out long ot) && Set(() => OversizeThreshold = (nuint)ot);
            case "prof": return TryBool(value, out bool pr) && Set(() => Prof = pr);
            case "prof_active": return TryBool(value, out bool pa) && Set(() => ProfActive = pa);
            case "prof_thread_active_init": return TryBool(value, out bool pt) && Set(() => ProfThreadActiveInit = pt);
            case "lg_prof_sample": return TryLong(value, 0, out long ls) && ls <= 62 && Set(() => LgProfSample = (int)ls);
            case "prof_accum": return TryBool(value, out bool pac) && Set(() => ProfAccum = pac);
            case "prof_leak": return TryBool(value, out bool pl) && Set(() => ProfLeak = pl);
            case "prof_leak_error": return TryBool(value, out bool ple) && Set(() => ProfLeakError = ple);
            case "prof_final": return TryBool(value, out bool pf) && Set(() => ProfFinal = pf);
            case "prof_prefix": return Set(() => ProfPrefix = value);
            case "lg_prof_interval": return TryLong(value, -1, out long li) && li <= 62 && Set(() => LgProfInterval = (int)li);
            case "prof_gdump": return TryBool(value, out bool pg) && Set(() => ProfGdump = pg);
            case "prof_seed": return ulong.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out ulong seed) && Set(() => ProfSeed = seed);
            case "xmalloc": return TryBool(value, out bool x) && Set(() => Oom = x ? OomBehavior.Abort : OomBehavior.ReturnNull);
            case "junk":
                switch (value)
                {
                    case "true": Junk = JunkFill.All; return true;
                    case "false": Junk = JunkFill.None; return true;
                    case "alloc": Junk = JunkFill.Alloc; return true;
                    case "free": Junk = JunkFill.Free; return true;
                    default: return false;
                }
            case "oom":
                switch (value)
                {
                    case "null": Oom = OomBehavior.ReturnNull; return true;
                    case "throw": Oom = OomBehavior.Throw; return true;
                    case "abort": Oom = OomBehavior.Abort; return true;
                    default: return false;
                }
            default: return false;
        }
    }

    /// <summary>The option value naming a junk setting (opt.junk).</summary>
    public static string JunkName(JunkFill junk) => junk switch
    {
        JunkFill.None => "false",
        JunkFill.Alloc => "alloc",
        JunkFill.Free => "free",
        _ => "true",
    };

    /// <summary>The option value naming an out-of-memory behaviour (opt.oom).</summary>
    public static string OomName(OomBehavior oom) => oom switch
    {
        OomBehavior.Throw => "throw",
        OomBehavior.Abort => "abort",
        _ => "null",
    };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first contradictory or out-of-range setting.</summary>
    public void Validate()
    {
        if (DirtyDecayMs < -1) throw new ArgumentException($"dirty_decay_ms must be -1 or more, not {DirtyDecayMs}");
        if (MuzzyDecayMs < -1) throw new ArgumentException($"muzzy_decay_ms must be -1 or more, not {MuzzyDecayMs}");
        if (Arenas < 0 || Arenas > 4095) throw new ArgumentException($"narenas must be 0..4095, not {Arenas}");
        if (PerCpuArena is not ("disabled" or "percpu" or "phycpu"))
            throw new ArgumentException($"percpu_arena must be disabled, percpu or phycpu, not \"{PerCpuArena}\"");
        if (ThreadCacheMax > 2 * 1024 * 1024) throw new ArgumentException($"tcache_max must be at most 2 MiB, not {ThreadCacheMax}");
        if (!StatsEmitter.TryParseOptions(StatsPrintOptions, out _))
            throw new ArgumentException($"stats_print_opts \"{StatsPrintOptions}\" has a character other than J, g, m, a, b, l");
        if (LgProfSample is < 0 or > 62) throw new ArgumentException($"lg_prof_sample must be 0..62, not {LgProfSample}");
        if (LgProfInterval is < -1 or > 62) throw new ArgumentException($"lg_prof_interval must be -1..62, not {LgProfInterval}");
        if (ProfPrefix is null) throw new ArgumentException("prof_prefix must not be null (empty turns automatic dumps off)");
        if (Zero && (Junk & JunkFill.Alloc) != 0)
            throw new ArgumentException("zero:true and junk filling of allocations contradict each other (both set new memory)");
    }

    private static bool Set(Action a)
    {
        a();
        return true;
    }

    private static bool TryLong(string s, long min, out long v)
        => long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out v) && v >= min;

    private static bool TryBool(string s, out bool v)
    {
        v = s == "true";
        return s is "true" or "false";
    }
}
