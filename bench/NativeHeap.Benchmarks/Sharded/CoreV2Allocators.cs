// CoreV2Allocators: core v2 (NativeHeap.Sharded.ShardedHeap, internal) behind the harness's
// IAllocator, in four ways of reaching the thread's heap, so one run measures the thread-local
// access options of docs/core-v2.md side by side:
//   corev2          ShardedHeap.Malloc/Free: a [ThreadStatic] ThreadHeap* field (the default)
//   corev2-tsstruct a [ThreadStatic] struct holding the pointer
//   corev2-tlocal   ThreadLocal<nint>.Value
//   corev2-handle   the pointer held in the allocator struct (ShardedHeap.ForThisThread(): no TLS read)
// Only Malloc, Free and UsableSize are core v2's; phase 1 has no calloc/realloc/aligned allocation.
using System.Runtime.CompilerServices;
using NativeHeap.Sharded;
using NativeHeap.Workloads.Allocators;

namespace NativeHeap.Benchmarks.Sharded;

/// <summary>Core v2 through its public-to-be entry points ([ThreadStatic] pointer).</summary>
public readonly unsafe struct CoreV2Allocator : IAllocator
{
    /// <inheritdoc/>
    public void* Malloc(nuint size) => ShardedHeap.Malloc(size);

    /// <inheritdoc/>
    public void Free(void* ptr) => ShardedHeap.Free(ptr);

    /// <inheritdoc/>
    public void SizedFree(void* ptr, nuint size) => ShardedHeap.Free(ptr);

    /// <inheritdoc/>
    public nuint UsableSize(void* ptr) => ShardedHeap.UsableSize(ptr);

    /// <inheritdoc/>
    public void* Calloc(nuint count, nuint size) => throw new NotSupportedException("core v2 phase 1 has no calloc");

    /// <inheritdoc/>
    public void* Realloc(void* ptr, nuint size) => throw new NotSupportedException("core v2 phase 1 has no realloc");

    /// <inheritdoc/>
    public void* AlignedAlloc(nuint alignment, nuint size) => throw new NotSupportedException("core v2 phase 1 has no aligned allocation");
}

/// <summary>Core v2 with the heap pointer in a [ThreadStatic] struct.</summary>
public readonly unsafe struct CoreV2ThreadStaticStruct : IAllocator
{
    private struct Slot
    {
        public nint Heap;
    }

    [ThreadStatic] private static Slot t_slot;

    /// <summary>Binds the calling thread (call once per thread before use).</summary>
    public static void Bind() => t_slot.Heap = (nint)ShardedHeap.ForThisThread().Heap;

    /// <inheritdoc/>
    public void* Malloc(nuint size) => ShardedHeap.MallocIn((ThreadHeap*)t_slot.Heap, size);

    /// <inheritdoc/>
    public void Free(void* ptr) => ShardedHeap.FreeIn((ThreadHeap*)t_slot.Heap, ptr);

    /// <inheritdoc/>
    public void SizedFree(void* ptr, nuint size) => Free(ptr);

    /// <inheritdoc/>
    public nuint UsableSize(void* ptr) => ShardedHeap.UsableSize(ptr);

    /// <inheritdoc/>
    public void* Calloc(nuint count, nuint size) => throw new NotSupportedException();

    /// <inheritdoc/>
    public void* Realloc(void* ptr, nuint size) => throw new NotSupportedException();

    /// <inheritdoc/>
    public void* AlignedAlloc(nuint alignment, nuint size) => throw new NotSupportedException();
}

/// <summary>Core v2 with the heap pointer in a ThreadLocal&lt;nint&gt;.</summary>
public readonly unsafe struct CoreV2ThreadLocal : IAllocator
{
    private static readonly ThreadLocal<nint> s_heap = new();

    /// <summary>Binds the calling thread (call once per thread before use).</summary>
    public static void Bind() => s_heap.Value = (nint)ShardedHeap.ForThisThread().Heap;

    /// <inheritdoc/>
    public void* Malloc(nuint size) => ShardedHeap.MallocIn((ThreadHeap*)s_heap.Value, size);

    /// <inheritdoc/>
    public void Free(void* ptr) => ShardedHeap.FreeIn((ThreadHeap*)s_heap.Value, ptr);

    /// <inheritdoc/>
    public void SizedFree(void* ptr, nuint size) => Free(ptr);

    /// <inheritdoc/>
    public nuint UsableSize(void* ptr) => ShardedHeap.UsableSize(ptr);

    /// <inheritdoc/>
    public void* Calloc(nuint count, nuint size) => throw new NotSupportedException();

    /// <inheritdoc/>
    public void* Realloc(void* ptr, nuint size) => throw new NotSupportedException();

    /// <inheritdoc/>
    public void* AlignedAlloc(nuint alignment, nuint size) => throw new NotSupportedException();
}

/// <summary>Core v2 through an explicit per-thread handle: the heap pointer travels with the struct.</summary>
public readonly unsafe struct CoreV2Handle : IAllocator
{
    private readonly ThreadHeap* _heap;

    /// <summary>A handle for the calling thread (use it on that thread only).</summary>
    public static CoreV2Handle ForThisThread() => new(ShardedHeap.ForThisThread().Heap);

    private CoreV2Handle(ThreadHeap* heap) => _heap = heap;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void* Malloc(nuint size) => ShardedHeap.MallocIn(_heap, size);

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Free(void* ptr) => ShardedHeap.FreeIn(_heap, ptr);

    /// <inheritdoc/>
    public void SizedFree(void* ptr, nuint size) => Free(ptr);

    /// <inheritdoc/>
    public nuint UsableSize(void* ptr) => ShardedHeap.UsableSize(ptr);

    /// <inheritdoc/>
    public void* Calloc(nuint count, nuint size) => throw new NotSupportedException();

    /// <inheritdoc/>
    public void* Realloc(void* ptr, nuint size) => throw new NotSupportedException();

    /// <inheritdoc/>
    public void* AlignedAlloc(nuint alignment, nuint size) => throw new NotSupportedException();
}

/// <summary>The harness binding of core v2 (default thread-local access).</summary>
public sealed class CoreV2Binding : AllocatorBinding
{
    /// <summary>The name in tables and on the command line.</summary>
    public const string CoreV2Name = "corev2";

    /// <inheritdoc/>
    public override string Name => CoreV2Name;

    /// <inheritdoc/>
    public override string Description => "NativeHeap core v2 (ShardedHeap, phase 1)";

    /// <inheritdoc/>
    public override TResult Run<TResult>(IAllocatorJob<TResult> job) => job.Run(default(CoreV2Allocator));

    /// <inheritdoc/>
    public override void Purge() => ShardedHeap.Collect();
}
