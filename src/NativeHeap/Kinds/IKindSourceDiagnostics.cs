// IKindSourceDiagnostics: what a kind's built-in memory source can say about its last failure, so a
// null allocation can be explained (no huge pages reserved, mbind refused a node, pmem maximum hit).
namespace NativeHeap.Kinds;

internal interface IKindSourceDiagnostics
{
    /// <summary>The last failure of the source, with the OS error when there was one; null when none.</summary>
    string? LastError { get; }
}
