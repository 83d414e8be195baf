// AnonymousKindSource: anonymous private memory with a placement applied before any page is touched
// — transparent huge pages (MADV_HUGEPAGE) and/or a NUMA policy (mbind: bind, preferred,
// interleave). Serves the Thp, Interleave, Bind/Preferred, Hbw and HbwPreferred kinds.
// Invariant: every range it returns already carries its advice and policy, so the first touch
// (the arena writing a chunk header) faults pages in where the policy says.
using NativeHeap.General;
using NativeHeap.Os;

namespace NativeHeap.Kinds;

internal sealed unsafe class AnonymousKindSource : OsMemorySource, IKindSourceDiagnostics
{
    private readonly bool _thp;
    private readonly OsNuma.Mode _mode;
    private readonly int[] _nodes;
    private string? _lastError;

    internal AnonymousKindSource(bool thp, OsNuma.Mode mode, int[] nodes)
    {
        _thp = thp;
        _mode = mode;
        _nodes = nodes;
    }

    public string? LastError => Volatile.Read(ref _lastError);

    /// <summary>True when ranges are advised for transparent huge pages.</summary>
    internal bool Transparent => _thp;

    /// <summary>The NUMA nodes the ranges are placed on (empty: the default policy).</summary>
    internal int[] Nodes => _nodes;

    public override void* Allocate(void* at, nuint size, nuint alignment, out bool zeroed)
    {
        zeroed = true;
        void* p;
        OsError error;
        if (at != null)
        {
            if (((nuint)at & (alignment - 1)) != 0 || !OsMemory.TryMapAt(at, size, out error)) return null;
            p = at;
        }
        else if (!OsMemory.TryMapAligned(size, alignment, out p, out error))
        {
            Volatile.Write(ref _lastError, error.ToString());
            return null;
        }
        if ((_thp && !OsHugePages.TryAdviseTransparent(p, size, out error))
            || (_mode != OsNuma.Mode.Default && !OsNuma.TryBind(p, size, _mode, _nodes, out error)))
        {
            OsMemory.TryUnmap(p, size, out _);
            Volatile.Write(ref _lastError, error.ToString());
            return null;
        }
        return p;
    }

    // Release, commit, purge, split and merge are OsMemorySource's: the kernel keeps each part's VMA
    // policy and advice when ranges are split or merged.
}
