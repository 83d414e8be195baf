// NativeBuild: builds the C ABI (libnativeheap.so and the C test programs) once per test run with
// `bash native/build.sh`, and runs the programs it produced.
using System.Diagnostics;

namespace NativeHeap.Tests.Native;

internal static class NativeBuild
{
    internal sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public override string ToString() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
    }

    private static readonly Lazy<Result> s_build = new(() => Run("bash", [Path.Combine(RepoRoot, "native", "build.sh")], TimeSpan.FromMinutes(10)));

    /// <summary>The repository root (the directory holding NativeHeap.slnx), found from the test binaries' location.</summary>
    internal static string RepoRoot
    {
        get
        {
            for (DirectoryInfo? d = new(AppContext.BaseDirectory); d != null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "NativeHeap.slnx"))) return d.FullName;
            throw new InvalidOperationException("NativeHeap.slnx not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>artifacts/native: the library; its bin/ holds the C programs.</summary>
    internal static string OutputDirectory => Path.Combine(RepoRoot, "artifacts", "native");

    /// <summary>Runs native/build.sh the first time it is called in this process; asserts it succeeded.</summary>
    internal static void EnsureBuilt()
    {
        Result r = s_build.Value;
        Assert.True(r.ExitCode == 0, "native/build.sh failed:\n" + r);
    }

    /// <summary>Runs a program with a time limit, from the repository root, and captures its output; <paramref name="env"/> adds variables.</summary>
    internal static Result Run(string file, IEnumerable<string> args, TimeSpan limit, IReadOnlyDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepoRoot,
        };
        foreach (string a in args) psi.ArgumentList.Add(a);
        // The nested `dotnet publish` must not inherit the test host's MSBuild settings, nor leave
        // build servers running after the test run.
        foreach (string v in new[] { "MSBuildExtensionsPath", "MSBuildSDKsPath", "MSBUILD_EXE_PATH", "MSBuildLoadMicrosoftTargetsReadOnly" })
            psi.Environment.Remove(v);
        psi.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        psi.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        psi.Environment.Remove("NATIVEHEAP_CONF");
        if (env != null) foreach ((string k, string v) in env) psi.Environment[k] = v;
        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(limit))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in {limit}");
        }
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Null when gcc is on PATH; otherwise why the C ABI tests cannot run.</summary>
    internal static string? MissingToolReason()
    {
        string[] path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries);
        bool gcc = path.Any(d => File.Exists(Path.Combine(d, "gcc")));
        bool headers = File.Exists("/usr/include/stdio.h");
        return gcc && headers ? null : "the C ABI tests need a C compiler: apt-get install gcc libc6-dev";
    }
}

/// <summary>A test of the C ABI: skipped, with the apt-get line, when there is no C compiler.</summary>
public sealed class CAbiFactAttribute : FactAttribute
{
    /// <summary>Skips unless gcc and libc headers are installed.</summary>
    public CAbiFactAttribute()
    {
        if (NativeBuild.MissingToolReason() is string reason) Skip = reason;
    }
}

/// <summary>A theory over C test programs: skipped, with the apt-get line, when there is no C compiler.</summary>
public sealed class CAbiTheoryAttribute : TheoryAttribute
{
    /// <summary>Skips unless gcc and libc headers are installed.</summary>
    public CAbiTheoryAttribute()
    {
        if (NativeBuild.MissingToolReason() is string reason) Skip = reason;
    }
}
