// NumaPolicy: the NUMA placement of a kind's memory, applied with mbind(2) to every range the kind
// maps before it is touched.
namespace NativeHeap.Kinds;

/// <summary>Where a NUMA kind's pages are placed.</summary>
public enum NumaPolicy
{
    /// <summary>Only on the given nodes (MPOL_BIND); allocation fails when they are full.</summary>
    Bind = 2,

    /// <summary>On the first given node when it has room, elsewhere otherwise (MPOL_PREFERRED).</summary>
    Preferred = 1,

    /// <summary>Page by page round-robin over the given nodes (MPOL_INTERLEAVE).</summary>
    Interleave = 3,
}
