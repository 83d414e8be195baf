// PreloadHarness: builds libnativeheap-preload.so once per test run (native/build-preload.sh) and runs
// programs with and without it, so each test can compare outputs. A preloaded run sets
// NATIVEHEAP_CONF=stats_print:true (stats_print_opts:gabl); the statistics block it prints to stderr at exit is taken out of
// stderr and summed up (NativeHeap's nmalloc counts), which proves NativeHeap served the program.
using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace NativeHeap.Tests.Preload;

/// <summary>The apt line that brings every program the preload tests run.</summary>
internal static class PreloadApt
{
    internal const string Line = "apt-get install redis-server redis-tools sqlite3 g++ python3";
}

/// <summary>A fact skipped (with the apt line) unless every named program is on PATH.</summary>
public sealed class ProgramFactAttribute : FactAttribute
{
    /// <summary>Skips unless all <paramref name="programs"/> are found.</summary>
    public ProgramFactAttribute(params string[] programs)
    {
        string[] missing = programs.Where(p => PreloadHarness.Which(p) == null).ToArray();
        if (missing.Length > 0) Skip = $"{string.Join(", ", missing)} not installed: {PreloadApt.Line}";
        else if (PreloadHarness.Which("gcc") == null) Skip = "gcc is needed to build the preload shim: apt-get install gcc libc6-dev";
    }
}

/// <summary>What one program run did.</summary>
internal sealed record RunResult(int ExitCode, string Stdout, string Stderr, long NativeHeapMallocs, bool StatsPrinted)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Trim(Stdout)}\n--- stderr ---\n{Trim(Stderr)}";

    private static string Trim(string s) => s.Length > 4000 ? s[..4000] + "…" : s;
}

/// <summary>Runs programs with and without LD_PRELOAD of NativeHeap.</summary>
internal static partial class PreloadHarness
{
    private static readonly Lazy<string> s_library = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The locale settings every test runs under: the machine's default (no LANG/LC_*) and UTF-8.</summary>
    internal static readonly string?[] Locales = [null, "C.UTF-8"];

    /// <summary>The path of libnativeheap-preload.so, built on first use.</summary>
    internal static string Library => s_library.Value;

    internal static string RepoRoot
    {
        get
        {
            for (DirectoryInfo? d = new(AppContext.BaseDirectory); d != null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "NativeHeap.slnx"))) return d.FullName;
            throw new InvalidOperationException("cannot find the repository root (NativeHeap.slnx) above " + AppContext.BaseDirectory);
        }
    }

    internal static string? Which(string program)
    {
        if (program.Contains('/')) return File.Exists(program) ? program : null;
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':'))
        {
            string p = Path.Combine(dir, program);
            if (dir.Length > 0 && File.Exists(p)) return p;
        }
        return null;
    }

    private static string Build()
    {
        string root = RepoRoot;
        string outDir = Path.Combine(root, "artifacts", "preload");
        RunResult r = Run("bash", [Path.Combine(root, "native", "build-preload.sh"), outDir], preload: false, locale: null,
            timeout: TimeSpan.FromMinutes(5));
        Assert.True(r.ExitCode == 0, "native/build-preload.sh failed:\n" + r);
        string lib = Path.Combine(outDir, "libnativeheap-preload.so");
        Assert.True(File.Exists(lib), lib + " was not built");
        return lib;
    }

    /// <summary>
    /// Runs <paramref name="program"/> to completion (killed and failed after <paramref name="timeout"/>),
    /// under <paramref name="locale"/> (null: LANG and LC_* removed) and, when <paramref name="preload"/>,
    /// with LD_PRELOAD of NativeHeap and stats_print on. <paramref name="stdoutFile"/> receives stdout
    /// instead of memory when given (large outputs).
    /// </summary>
    internal static RunResult Run(string program, IEnumerable<string> args, bool preload, string? locale, TimeSpan? timeout = null,
        string? stdin = null, string? stdoutFile = null, IDictionary<string, string>? env = null, string? workDir = null)
    {
        var psi = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin != null,
            UseShellExecute = false,
            WorkingDirectory = workDir ?? Path.GetTempPath(),
        };
        foreach (string a in args) psi.ArgumentList.Add(a);
        foreach (string k in psi.Environment.Keys.ToArray())
            if (k == "LANG" || k == "LANGUAGE" || k.StartsWith("LC_", StringComparison.Ordinal) || k == "LD_PRELOAD" || k == "NATIVEHEAP_CONF")
                psi.Environment.Remove(k);
        if (locale != null) psi.Environment["LC_ALL"] = locale;
        if (preload)
        {
            psi.Environment["LD_PRELOAD"] = Library;
            // Totals and merged arena figures only (no per-arena, bin or large-class tables).
            psi.Environment["NATIVEHEAP_CONF"] = "stats_print:true,stats_print_opts:gabl";
        }
        if (env != null) foreach (var kv in env) psi.Environment[kv.Key] = kv.Value;

        using var p = Process.Start(psi)!;
        Stream? file = stdoutFile == null ? null : File.Create(stdoutFile);
        try
        {
            Task<string> outTask = file == null
                ? p.StandardOutput.ReadToEndAsync()
                : p.StandardOutput.BaseStream.CopyToAsync(file).ContinueWith(_ => "");
            Task<string> errTask = p.StandardError.ReadToEndAsync();
            if (stdin != null)
            {
                p.StandardInput.Write(stdin);
                p.StandardInput.Close();
            }
            if (!p.WaitForExit(timeout ?? TimeSpan.FromMinutes(2)))
            {
                p.Kill(entireProcessTree: true);
                p.WaitForExit();
                Assert.Fail($"{program} {string.Join(' ', args)} (preload {preload}, locale {locale ?? "default"}) hung: killed after {timeout ?? TimeSpan.FromMinutes(2)}");
            }
            p.WaitForExit();
            string stdout = outTask.Result;
            (string stderr, long mallocs, bool printed) = SplitStats(errTask.Result);
            return new RunResult(p.ExitCode, stdout, stderr, mallocs, printed);
        }
        finally
        {
            file?.Dispose();
        }
    }

    [GeneratedRegex(@"___ Begin jemalloc statistics ___\n.*?--- End jemalloc statistics ---\n", RegexOptions.Singleline)]
    private static partial Regex StatsBlock();

    [GeneratedRegex(@"nmalloc\s+([\d,]+)")]
    private static partial Regex NMalloc();

    /// <summary>Removes the statistics blocks from stderr; sums their nmalloc counts (merged small, large and huge).</summary>
    internal static (string Remaining, long Mallocs, bool Printed) SplitStats(string stderr)
    {
        long total = 0;
        bool printed = false;
        string rest = StatsBlock().Replace(stderr, m =>
        {
            printed = true;
            foreach (Match n in NMalloc().Matches(m.Value)) total += long.Parse(n.Groups[1].Value.Replace(",", ""));
            return "";
        });
        return (rest, total, printed);
    }

    /// <summary>
    /// Runs the program without and with the preload under every locale of <see cref="Locales"/> and
    /// asserts: exit code 0 both ways, identical stdout and stderr, statistics printed with at least
    /// <paramref name="minMallocs"/> NativeHeap allocations.
    /// </summary>
    internal static void AssertSameWithPreload(string program, string[] args, long minMallocs, string? stdin = null,
        TimeSpan? timeout = null, Func<string, string>? normalize = null)
    {
        normalize ??= s => s;
        foreach (string? locale in Locales)
        {
            RunResult plain = Run(program, args, preload: false, locale, timeout, stdin);
            RunResult nh = Run(program, args, preload: true, locale, timeout, stdin);
            string where = $"{program} {string.Join(' ', args)} under locale {locale ?? "default"}";
            Assert.True(plain.ExitCode == 0, $"{where} fails without the preload:\n{plain}");
            Assert.True(nh.ExitCode == 0, $"{where} fails with the preload:\n{nh}");
            Assert.Equal(normalize(plain.Stdout), normalize(nh.Stdout));
            Assert.Equal(normalize(plain.Stderr), normalize(nh.Stderr));
            Assert.True(nh.StatsPrinted, $"{where}: no NativeHeap statistics on stderr with stats_print:true");
            Assert.True(nh.NativeHeapMallocs >= minMallocs, $"{where}: NativeHeap served {nh.NativeHeapMallocs} allocations, expected at least {minMallocs}");
        }
    }

    internal static string Sha256(string path)
    {
        using var s = File.OpenRead(path);
        return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(s));
    }

    internal static string TempPath(string name) => Path.Combine(Path.GetTempPath(), $"nh-preload-{Environment.ProcessId}-{Guid.NewGuid():N}-{name}");

    internal static string Utf8(string s) => Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(s));
}
