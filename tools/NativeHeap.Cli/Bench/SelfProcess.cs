// SelfProcess: starting this same nheap again, as a child (one measured run per process) or as a
// re-execution with GLIBC_TUNABLES set (jemalloc's static TLS must be reserved at process start).
using System.Diagnostics;
using NativeHeap.Workloads.Allocators;

namespace NativeHeap.Cli.Bench;

/// <summary>Builds ProcessStartInfo for running nheap again.</summary>
internal static class SelfProcess
{
    /// <summary>True when this process started with the static TLS reserve jemalloc needs.</summary>
    internal static bool HasJemallocTunables =>
        (Environment.GetEnvironmentVariable("GLIBC_TUNABLES") ?? "").Contains("optional_static_tls", StringComparison.Ordinal);

    /// <summary>A start info for nheap with <paramref name="args"/>, GLIBC_TUNABLES set for jemalloc.</summary>
    internal static ProcessStartInfo StartInfo(IEnumerable<string> args)
    {
        string path = Environment.ProcessPath ?? "dotnet";
        var info = new ProcessStartInfo(path) { UseShellExecute = false };
        // Under `dotnet nheap.dll` the process is dotnet itself: pass the assembly first.
        if (Path.GetFileNameWithoutExtension(path) == "dotnet")
        {
            info.ArgumentList.Add(typeof(SelfProcess).Assembly.Location);
        }
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        string tunables = Environment.GetEnvironmentVariable("GLIBC_TUNABLES") ?? "";
        if (!tunables.Contains("optional_static_tls", StringComparison.Ordinal))
        {
            info.Environment["GLIBC_TUNABLES"] = tunables.Length == 0 ? PeerBinding.JemallocTunables : tunables + ":" + PeerBinding.JemallocTunables;
        }
        return info;
    }

    /// <summary>Runs nheap again with the same arguments and GLIBC_TUNABLES set, forwarding its output; returns its exit code.</summary>
    internal static int ReExecWithTunables(IEnumerable<string> args)
    {
        ProcessStartInfo info = StartInfo(args);
        using Process process = Process.Start(info) ?? throw new InvalidOperationException("could not re-execute nheap");
        process.WaitForExit();
        return process.ExitCode;
    }
}
