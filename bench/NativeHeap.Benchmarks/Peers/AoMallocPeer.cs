// AoMallocPeer: the real AO_malloc (libatomic_ops_gpl, Debian libatomic-ops-dev) as a benchmark peer.
// Debian ships it only as a static library, so it is linked into a shared object with gcc the first
// time it is needed (into a per-user temp folder, never committed) and loaded with NativeLibrary;
// calls go through unmanaged function pointers with SuppressGCTransition, the cheapest way from C#.
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace NativeHeap.Benchmarks.Peers;

internal sealed unsafe class AoMallocPeer
{
    private const string StaticGpl = "/usr/lib/x86_64-linux-gnu/libatomic_ops_gpl.a";
    private const string StaticBase = "/usr/lib/x86_64-linux-gnu/libatomic_ops.a";

    /// <summary>AO_malloc(size).</summary>
    public readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<nuint, void*> Malloc;

    /// <summary>AO_free(p).</summary>
    public readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<void*, void> Free;

    /// <summary>AO_malloc_enable_mmap().</summary>
    public readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<void> EnableMmap;

    /// <summary>Path of the shared object that was loaded.</summary>
    public string LibraryPath { get; }

    private AoMallocPeer(nint handle, string path)
    {
        LibraryPath = path;
        Malloc = (delegate* unmanaged[Cdecl, SuppressGCTransition]<nuint, void*>)NativeLibrary.GetExport(handle, "AO_malloc");
        Free = (delegate* unmanaged[Cdecl, SuppressGCTransition]<void*, void>)NativeLibrary.GetExport(handle, "AO_free");
        EnableMmap = (delegate* unmanaged[Cdecl, SuppressGCTransition]<void>)NativeLibrary.GetExport(handle, "AO_malloc_enable_mmap");
    }

    /// <summary>The command that builds the shared object (FACTS.md).</summary>
    public static string BuildCommand(string output) =>
        $"gcc -shared -o {output} -Wl,--whole-archive {StaticGpl} {StaticBase} -Wl,--no-whole-archive";

    /// <summary>Builds (once) and loads libao.so; false with a reason naming the apt package when it cannot.</summary>
    public static bool TryLoad(out AoMallocPeer? peer, out string reason)
    {
        peer = null;
        if (!File.Exists(StaticGpl) || !File.Exists(StaticBase))
        {
            reason = $"{StaticGpl} is missing: apt-get install libatomic-ops-dev (and gcc)";
            return false;
        }
        string dir = Path.Combine(Path.GetTempPath(), "nativeheap-peers-" + Environment.UserName);
        string so = Path.Combine(dir, "libao.so");
        if (!File.Exists(so))
        {
            Directory.CreateDirectory(dir);
            string tmp = so + "." + Environment.ProcessId + ".tmp";
            var psi = new ProcessStartInfo("gcc")
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            };
            foreach (string a in new[] { "-shared", "-o", tmp, "-Wl,--whole-archive", StaticGpl, StaticBase, "-Wl,--no-whole-archive" })
            {
                psi.ArgumentList.Add(a);
            }
            try
            {
                using Process gcc = Process.Start(psi)!;
                string err = gcc.StandardError.ReadToEnd();
                gcc.WaitForExit();
                if (gcc.ExitCode != 0)
                {
                    reason = $"building libao.so failed ({BuildCommand(so)}): {err.Trim()}";
                    return false;
                }
                File.Move(tmp, so, overwrite: true);
            }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException)
            {
                reason = $"gcc is not available to build libao.so ({e.Message}): apt-get install gcc libatomic-ops-dev";
                return false;
            }
        }
        if (!NativeLibrary.TryLoad(so, out nint handle))
        {
            reason = $"{so} did not load";
            return false;
        }
        peer = new AoMallocPeer(handle, so);
        reason = "";
        return true;
    }
}
