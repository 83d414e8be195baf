// HeapProfileSnapshot: a consistent copy of the heap profiler's sites (HeapProfiler.Snapshot), with
// the estimates already unbiased (see Sampler: each sample counts 1 / (1 - exp(-size/R)) blocks).
namespace NativeHeap;

/// <summary>One frame of an allocation site's stack.</summary>
/// <param name="Function">"Namespace.Type.Method" for managed frames; "symbol+0xoffset" or "module+0xoffset" for native ones.</param>
/// <param name="File">Source file (managed frames with a PDB), otherwise null.</param>
/// <param name="Line">Source line, 0 when unknown.</param>
/// <param name="Address">Return address (native frames), 0 for managed frames.</param>
/// <param name="Module">Assembly name (managed) or shared object path (native), when known.</param>
public sealed record HeapProfileFrame(string Function, string? File, int Line, nint Address, string? Module)
{
    /// <summary>Load address of <see cref="Module"/> (native frames), 0 otherwise.</summary>
    public nint ModuleBase { get; init; }

    /// <inheritdoc/>
    public override string ToString() => File == null ? Function : $"{Function} ({Path.GetFileName(File)}:{Line})";
}

/// <summary>One allocation site: a call stack and the estimated blocks and bytes allocated there.</summary>
/// <param name="Frames">The stack, innermost (the allocating method) first.</param>
/// <param name="ThreadName">thread.prof.name of the allocating thread, or null.</param>
/// <param name="InUseBytes">Estimated bytes of this site's blocks still live (inuse_space).</param>
/// <param name="InUseObjects">Estimated blocks still live (inuse_objects).</param>
/// <param name="AllocBytes">Estimated bytes allocated since the last reset (alloc_space).</param>
/// <param name="AllocObjects">Estimated blocks allocated since the last reset (alloc_objects).</param>
/// <param name="LiveSamples">Sampled blocks still live behind the estimate (its statistical weight).</param>
public sealed record HeapProfileSite(IReadOnlyList<HeapProfileFrame> Frames, string? ThreadName,
    long InUseBytes, long InUseObjects, long AllocBytes, long AllocObjects, long LiveSamples)
{
    /// <summary>The allocating frame (the first one), or null for an empty stack.</summary>
    public HeapProfileFrame? Top => Frames.Count == 0 ? null : Frames[0];
}

/// <summary>The heap profiler's sites at one moment, largest live estimate first.</summary>
/// <param name="Sites">The sites, by <see cref="HeapProfileSite.InUseBytes"/> descending.</param>
/// <param name="SampleInterval">Mean bytes between samples (2^lg_prof_sample).</param>
/// <param name="SamplesTaken">Samples taken since the last reset.</param>
/// <param name="LiveSamples">Sampled blocks still live.</param>
/// <param name="TakenAtUtc">When the snapshot was taken.</param>
public sealed record HeapProfileSnapshot(IReadOnlyList<HeapProfileSite> Sites, long SampleInterval, long SamplesTaken,
    long LiveSamples, DateTime TakenAtUtc)
{
    /// <summary>Estimated live bytes over all sites.</summary>
    public long InUseBytes => Sites.Sum(s => s.InUseBytes);

    /// <summary>Estimated live blocks over all sites.</summary>
    public long InUseObjects => Sites.Sum(s => s.InUseObjects);

    /// <summary>The <paramref name="count"/> sites with the most live bytes.</summary>
    public IReadOnlyList<HeapProfileSite> Top(int count) => Sites.Where(s => s.InUseBytes > 0).Take(count).ToList();
}
