// CtlNode: one node of the control namespace tree (HeapControl), and the call record its handler gets.
//
// Terms:
//  - name: dot-separated components ("stats.arenas.0.bins.3.nmalloc"). A node has either named
//    children or one indexed child ("<i>") that matches any number the node's IndexCheck accepts.
//  - MIB (management information base): the name translated to integers, one per component: the
//    ordinal of a named child, or the number itself for an indexed component. Walking a MIB needs
//    no string work, so a caller translates once (HeapControl.NameToMib) and then reuses the MIB,
//    changing index components in place (as with jemalloc's mallctlnametomib / mallctlbymib).
//  - leaf: a node with a Handler; interior nodes have none and answer CtlStatus.NotFound when called (jemalloc: ENOENT).
// Invariants: a node never has both named children and an indexed child; children's names are
// unique; a leaf has no children; Type/Access describe what Handler accepts.
namespace NativeHeap.Control;

/// <summary>The arguments and results of one call on a leaf (a ref struct: the indices live on the caller's stack).</summary>
internal ref struct CtlCall
{
    /// <summary>The numbers of the name's indexed components, in order (arena, bin, ...).</summary>
    public ReadOnlySpan<nuint> Index;
    /// <summary>True when the caller wants the (old) value.</summary>
    public bool WantOld;
    /// <summary>True when the caller supplies a new value in <see cref="New"/>.</summary>
    public bool HasNew;
    /// <summary>The new value's bits (bool 0/1, signed values two's complement, pointers as addresses).</summary>
    public ulong New;
    /// <summary>The value read (scalars and pointers).</summary>
    public ulong Old;
    /// <summary>The value read (strings).</summary>
    public string? OldString;

    /// <summary>The i-th index component as an int (indices are validated before the handler runs).</summary>
    public readonly int I(int i) => (int)Index[i];
}

/// <summary>A leaf's handler: reads into <see cref="CtlCall.Old"/>, applies <see cref="CtlCall.New"/>, or runs an action.</summary>
internal delegate CtlStatus CtlHandler(ref CtlCall call);

/// <summary>Whether <paramref name="value"/> is a valid index here, given the indices before it.</summary>
internal delegate bool CtlIndexCheck(ReadOnlySpan<nuint> before, nuint value);

internal sealed class CtlNode
{
    public CtlNode(string name) => Name = name;

    /// <summary>The component name ("arenas"), or "&lt;i&gt;" for an indexed node.</summary>
    public string Name { get; }
    /// <summary>Named children, in declaration order (a child's MIB component is its position here).</summary>
    public List<CtlNode> Children { get; } = [];
    /// <summary>The indexed child, when this node's children are numbers.</summary>
    public CtlNode? Indexed { get; set; }
    /// <summary>Validates numbers for <see cref="Indexed"/>.</summary>
    public CtlIndexCheck? IndexCheck { get; set; }
    /// <summary>The leaf's value type.</summary>
    public CtlType Type { get; set; }
    /// <summary>The type of a written value when it differs from the value read (arenas.create reads an index, takes hooks).</summary>
    public CtlType? NewType { get; set; }
    /// <summary>The leaf's access.</summary>
    public CtlAccess Access { get; set; }
    /// <summary>The leaf's handler (null on interior nodes).</summary>
    public CtlHandler? Handler { get; set; }
    /// <summary>One line of documentation.</summary>
    public string Doc { get; set; } = "";

    /// <summary>A write-only leaf that also runs when no value is written (jemalloc's prof.dump, prof.reset with newp NULL).</summary>
    public bool RunsWithoutValue { get; set; }

    public bool IsLeaf => Handler != null;

    public CtlNode? Child(string name)
    {
        foreach (CtlNode c in Children) if (c.Name == name) return c;
        return null;
    }
}

/// <summary>Thrown by a handler for a value jemalloc refuses with EFAULT (mapped to <see cref="CtlStatus.Fault"/>).</summary>
internal sealed class CtlFaultException(string message) : Exception(message);
