// MemoryUsagePolicy: how fast a kind gives freed pages back to the OS or to its file — memkind's
// memkind_mem_usage_policy, expressed as the arenas' decay times.
namespace NativeHeap.Kinds;

/// <summary>How quickly a kind returns unused pages (memkind_mem_usage_policy).</summary>
public enum MemoryUsagePolicy
{
    /// <summary>The heap's decay times (dirty_decay_ms, 10 s by default): freed pages are kept a while for reuse.</summary>
    Default = 0,

    /// <summary>Purge at once (dirty and muzzy decay 0): the smallest footprint, more OS calls.</summary>
    Conservative = 1,
}
