// SamplerGate: the heap profiler's flags that the heap's paths read without a lock. They live in a
// class of their own with only primitive statics, so reading them (FreeSlow does, on every slow free)
// never runs Sampler's static constructor, which allocates the sampler's tables: that would put
// managed allocations on whichever allocating thread got there first.
namespace NativeHeap.Profiling;

internal static class SamplerGate
{
    /// <summary>prof.active and profiling started: threads arm their sample thresholds.</summary>
    internal static volatile bool Active;

    /// <summary>Bumped on every activation change and reset; a thread re-arms when its epoch is older.</summary>
    internal static int Epoch = 1;

    /// <summary>Sampled blocks alive now: while 0, frees never consult the sampler.</summary>
    internal static int LiveSamples;

    /// <summary>prof.thread_active_init: whether new threads sample.</summary>
    internal static volatile bool ThreadActiveInit = true;
}
