// AllocatorBinding: one allocator as the harness sees it: a name, a way to run a job against its
// struct, and the out-of-band calls (purge) that are not on any measured path.
namespace NativeHeap.Workloads.Allocators;

/// <summary>A loaded allocator: runs jobs against its <see cref="IAllocator"/> struct and purges on request.</summary>
public abstract class AllocatorBinding
{
    /// <summary>The short name used on the command line and in tables (e.g. <c>jemalloc</c>).</summary>
    public abstract string Name { get; }

    /// <summary>Where the allocator came from (library file, version), for reports.</summary>
    public abstract string Description { get; }

    /// <summary>Runs <paramref name="job"/> with this allocator's struct.</summary>
    public abstract TResult Run<TResult>(IAllocatorJob<TResult> job);

    /// <summary>Returns every unused page to the OS now (jemalloc arena purge, mi_collect, malloc_trim, ...).</summary>
    public abstract void Purge();
}
