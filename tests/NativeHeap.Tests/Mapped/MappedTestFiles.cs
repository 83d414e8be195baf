// MappedTestFiles: temporary heap files and the second-process helper for the mapped-heap tests.
using System.Diagnostics;
using System.Security.Cryptography;

namespace NativeHeap.Tests.Mapped;

internal sealed class TempDir : IDisposable
{
    internal string Path { get; } = Directory.CreateTempSubdirectory("nheap-mapped-").FullName;

    internal string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

internal static class MappedTestFiles
{
    internal static string Hash(string path) => Retry(() => Convert.ToHexString(SHA256.HashData(System.IO.File.ReadAllBytes(path))));

    /// <summary>
    /// Runs a FileStream operation, retrying while the file looks locked: .NET's FileStream takes an
    /// flock, and a child process forked by a parallel test shares our descriptors (and their locks)
    /// until its exec closes them.
    /// </summary>
    internal static T Retry<T>(Func<T> action)
    {
        for (int attempt = 0; ; attempt++)
        {
            try { return action(); }
            catch (IOException) when (attempt < 400) { Thread.Sleep(5); }
        }
    }

    internal static void Retry(Action action) => Retry(() => { action(); return 0; });

    /// <summary>The built NativeHeap.MappedChild.dll of the same configuration as this test assembly.</summary>
    internal static string ChildDll()
    {
        string config = AppContext.BaseDirectory.Contains("/Debug/") ? "Debug" : "Release";
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            string candidate = System.IO.Path.Combine(dir.FullName, "tests", "NativeHeap.MappedChild", "bin", config, "net10.0", "NativeHeap.MappedChild.dll");
            if (System.IO.File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("NativeHeap.MappedChild.dll not found: build NativeHeap.slnx first");
    }

    internal static Process StartChild(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(ChildDll());
        foreach (string a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi) ?? throw new InvalidOperationException("could not start the child");
    }

    /// <summary>Runs the child to completion and returns its standard output, trimmed.</summary>
    internal static string RunChild(params string[] args)
    {
        using Process p = StartChild(args);
        p.StandardInput.Close();
        string output = p.StandardOutput.ReadToEnd();
        string error = p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(60_000), "child timed out");
        Assert.True(p.ExitCode == 0, $"child exit {p.ExitCode}: {output} {error}");
        return output.Trim();
    }
}
