// IAllocatorJob: something that runs against one allocator (a workload, a micro-benchmark kernel).
// The binding calls Run with its concrete allocator struct, so the job's code is specialised per
// allocator by the JIT.
namespace NativeHeap.Workloads.Allocators;

/// <summary>A piece of work generic over the allocator struct.</summary>
/// <typeparam name="TResult">What the job returns.</typeparam>
public interface IAllocatorJob<out TResult>
{
    /// <summary>Runs the job against <paramref name="allocator"/>.</summary>
    TResult Run<TAlloc>(TAlloc allocator) where TAlloc : struct, IAllocator;
}
