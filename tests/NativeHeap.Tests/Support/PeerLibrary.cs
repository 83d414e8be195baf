// PeerLibrary: loads a peer allocator (jemalloc, mimalloc, tcmalloc, memkind, AO_malloc, pmemobj)
// for side-by-side tests, and says exactly why when it cannot (not installed, or jemalloc's static
// TLS needs GLIBC_TUNABLES at process start).
using System.Runtime.InteropServices;

namespace NativeHeap.Tests.Support;

internal static class PeerLibrary
{
    /// <summary>Tries to load <paramref name="soname"/>; on failure <paramref name="reason"/> names the apt package.</summary>
    internal static bool TryLoad(string soname, string aptPackage, out nint handle, out string reason)
    {
        if (NativeLibrary.TryLoad(soname, out handle))
        {
            reason = "";
            return true;
        }
        string tunables = Environment.GetEnvironmentVariable("GLIBC_TUNABLES") ?? "";
        bool installed = File.Exists("/usr/lib/x86_64-linux-gnu/" + soname);
        reason = installed
            ? $"{soname} is installed but did not load into this process" +
              (tunables.Contains("optional_static_tls") ? "" : " (start the process with GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384)")
            : $"{soname} is not installed: apt-get install {aptPackage}";
        return false;
    }
}

/// <summary>A fact that is skipped, with the reason, when a peer library cannot be loaded.</summary>
public sealed class PeerFactAttribute : FactAttribute
{
    /// <summary>Skips the test unless <paramref name="soname"/> loads.</summary>
    public PeerFactAttribute(string soname, string aptPackage)
    {
        if (!PeerLibrary.TryLoad(soname, aptPackage, out _, out string reason))
        {
            Skip = reason;
        }
    }
}

/// <summary>A fact that runs only in the long mode (NATIVEHEAP_LONG=1), for 10^9-operation and 1,000-kill runs.</summary>
public sealed class LongFactAttribute : FactAttribute
{
    /// <summary>Skips the test unless NATIVEHEAP_LONG=1.</summary>
    public LongFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("NATIVEHEAP_LONG") != "1")
        {
            Skip = "long mode: set NATIVEHEAP_LONG=1 to run";
        }
    }
}
