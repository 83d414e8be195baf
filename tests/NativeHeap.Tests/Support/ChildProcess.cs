// ChildProcess: runs a NativeHeap.TestChild scenario in a fresh process (process-wide heap options,
// per-process RSS) and returns its exit code and output.
using System.Diagnostics;

namespace NativeHeap.Tests.Support;

internal static class ChildProcess
{
    internal sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public override string ToString() => $"exit {ExitCode}\nstdout: {Stdout}\nstderr: {Stderr}";
    }

    internal static Result Run(string scenario, string? conf = null, params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "NativeHeap.TestChild.dll");
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(dll);
        psi.ArgumentList.Add(scenario);
        foreach (string a in args) psi.ArgumentList.Add(a);
        psi.Environment.Remove("NATIVEHEAP_CONF");
        if (conf != null) psi.Environment["NATIVEHEAP_CONF"] = conf;
        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"child scenario {scenario} did not finish in 5 minutes");
        }
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Runs a scenario and asserts it printed OK.</summary>
    internal static Result AssertOk(string scenario, string? conf = null, params string[] args)
    {
        Result r = Run(scenario, conf, args);
        Assert.True(r.ExitCode == 0 && r.Stdout.Contains("OK"), r.ToString());
        return r;
    }
}
