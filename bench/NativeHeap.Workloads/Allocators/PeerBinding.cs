// PeerBinding: a peer allocator loaded into this process with NativeLibrary. Loading fails with a
// reason that names the package to install (or the GLIBC_TUNABLES setting jemalloc needs).
using System.Runtime.InteropServices;

namespace NativeHeap.Workloads.Allocators;

/// <summary>A loaded peer allocator library.</summary>
public sealed unsafe class PeerBinding : AllocatorBinding
{
    /// <summary>The environment setting without which libjemalloc.so.2 cannot be loaded by a .NET process.</summary>
    public const string JemallocTunables = "glibc.rtld.optional_static_tls=16384";

    private readonly PeerDefinition _definition;
    private readonly PeerAllocator _allocator;
    private readonly nint _purge;

    private PeerBinding(PeerDefinition definition, PeerAllocator allocator, nint purge)
    {
        _definition = definition;
        _allocator = allocator;
        _purge = purge;
    }

    /// <inheritdoc/>
    public override string Name => _definition.Name;

    /// <inheritdoc/>
    public override string Description => $"{_definition.SoName} ({_definition.AptPackage})";

    /// <summary>The allocator struct (for callers that specialise on <see cref="PeerAllocator"/> directly).</summary>
    public PeerAllocator Allocator => _allocator;

    /// <inheritdoc/>
    public override TResult Run<TResult>(IAllocatorJob<TResult> job) => job.Run(_allocator);

    /// <inheritdoc/>
    public override void Purge()
    {
        switch (_definition.Purge)
        {
            case PurgeKind.MallocTrim:
                ((delegate* unmanaged[Cdecl]<nuint, int>)_purge)(0);
                break;
            case PurgeKind.JemallocArenaPurge:
                byte* name = stackalloc byte[] { (byte)'a', (byte)'r', (byte)'e', (byte)'n', (byte)'a', (byte)'.',
                    (byte)'4', (byte)'0', (byte)'9', (byte)'6', (byte)'.', (byte)'p', (byte)'u', (byte)'r', (byte)'g', (byte)'e', 0 };
                ((delegate* unmanaged[Cdecl]<byte*, void*, nuint*, void*, nuint, int>)_purge)(name, null, null, null, 0);
                break;
            case PurgeKind.MimallocCollect:
                ((delegate* unmanaged[Cdecl]<byte, void>)_purge)(1);
                break;
            case PurgeKind.TcmallocRelease:
                ((delegate* unmanaged[Cdecl]<void>)_purge)();
                break;
        }
    }

    /// <summary>Loads <paramref name="definition"/>'s library; on failure <paramref name="reason"/> says how to get it.</summary>
    public static bool TryLoad(PeerDefinition definition, out PeerBinding? binding, out string reason)
    {
        binding = null;
        if (!NativeLibrary.TryLoad(definition.SoName, out nint handle))
        {
            reason = WhyNotLoaded(definition);
            return false;
        }
        nint Get(string export) => NativeLibrary.GetExport(handle, export);
        try
        {
            nint free = Get(definition.Free);
            var allocator = new PeerAllocator(
                Get(definition.Malloc), Get(definition.Calloc), Get(definition.Realloc), free,
                definition.SizedFree is null ? free : Get(definition.SizedFree),
                Get(definition.AlignedAlloc), Get(definition.UsableSize));
            string purgeExport = definition.Purge switch
            {
                PurgeKind.MallocTrim => "malloc_trim",
                PurgeKind.JemallocArenaPurge => "mallctl",
                PurgeKind.MimallocCollect => "mi_collect",
                _ => "MallocExtension_ReleaseFreeMemory",
            };
            binding = new PeerBinding(definition, allocator, Get(purgeExport));
            reason = "";
            return true;
        }
        catch (EntryPointNotFoundException e)
        {
            reason = $"{definition.SoName} lacks an export: {e.Message}";
            return false;
        }
    }

    private static string WhyNotLoaded(PeerDefinition definition)
    {
        bool installed = File.Exists("/usr/lib/x86_64-linux-gnu/" + definition.SoName) || File.Exists("/lib/x86_64-linux-gnu/" + definition.SoName);
        if (!installed)
        {
            return $"{definition.SoName} is not installed: apt-get install -y {definition.AptPackage}";
        }
        string tunables = Environment.GetEnvironmentVariable("GLIBC_TUNABLES") ?? "";
        return tunables.Contains("optional_static_tls", StringComparison.Ordinal)
            ? $"{definition.SoName} is installed but did not load into this process"
            : $"{definition.SoName} is installed but needs the process to start with GLIBC_TUNABLES={JemallocTunables}";
    }
}
