// Heap.CoreV2: routing of Heap's plain calls to core v2 (src/NativeHeap/Sharded, docs/core-v2.md)
// when the process chose HeapCore.Sharded.
//
// Terms: a *v2 block* is one whose 4 MiB granule is a core v2 segment (Segment.V2Tag at the chunk
// header's Kind offset); every other NativeHeap block is a *v1 block* (the jemalloc core).
// Rules:
//  - With HeapCore.Jemalloc (default) nothing here runs: s_sharded is a static readonly false, so the
//    JIT removes every branch on it and no v2 block exists.
//  - With HeapCore.Sharded, Malloc/Calloc/Realloc/AlignedAlloc (alignment <= 4 KiB)/flag-less MallocX
//    of at most ShardedHeap.MaxPaged bytes make v2 blocks; larger sizes, calls with flags, explicit
//    arenas and caches, memory kinds and the C ABI make v1 blocks. Every free, usable-size, realloc and
//    in-place resize looks at the pointer's core first, so blocks of both cores mix freely.
//  - A v2 block keeps its class: realloc within the class returns the same pointer, otherwise the
//    block moves (allocate, copy, free); xallocx never changes a v2 block (it returns its usable size).
//  - v2 blocks are 16-byte aligned for sizes of 16 and more; aligned requests up to 4 KiB are served
//    from the class jemalloc's sz_sa2u gives (a multiple of the alignment) in pages whose start is
//    4 KiB-aligned, so every block of such a class is aligned.
using System.Runtime.CompilerServices;
using NativeHeap.Core;
using NativeHeap.Os;
using NativeHeap.Sharded;

namespace NativeHeap;

public static unsafe partial class Heap
{
    /// <summary>The name of the runtimeconfig knob that selects the core ("jemalloc" or "sharded").</summary>
    internal const string CoreSwitchName = "NativeHeap.Core";

    private static readonly bool s_sharded = ReadCoreChoice() == HeapCore.Sharded;

    /// <summary>The core serving the plain calls, fixed for the process at start (see <see cref="HeapCore"/>).</summary>
    public static HeapCore ActiveCore => s_sharded ? HeapCore.Sharded : HeapCore.Jemalloc;

    /// <summary>NATIVEHEAP_CONF's core key when present (the environment wins, as for every option), else the runtimeconfig knob.</summary>
    private static HeapCore ReadCoreChoice()
    {
        var fromEnvironment = new HeapOptions();
        fromEnvironment.Apply(Environment.GetEnvironmentVariable(HeapOptions.EnvironmentVariable), _ => { });   // Initialize applies it again and reports what is wrong
        if (fromEnvironment.CoreFromConf is HeapCore core) return core;
        return AppContext.GetData(CoreSwitchName) as string == "sharded" ? HeapCore.Sharded : HeapCore.Jemalloc;
    }

    /// <summary>Malloc on core v2 (size at most ShardedHeap.MaxPaged).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void* MallocV2(nuint size)
    {
        void* p = ShardedHeap.Malloc(size);
        return p != null ? p : HandleOom(size);
    }

    /// <summary>Calloc of at most ShardedHeap.MaxPaged bytes on core v2.</summary>
    private static void* CallocV2(nuint total)
    {
        void* p = MallocV2(total);
        if (p != null) NativeMemory.Clear(p, total);
        return p;
    }

    /// <summary>Aligned allocation on core v2 when it can serve it (alignment up to 4 KiB, class up to 512 KiB); null when it cannot.</summary>
    private static bool TryAlignedAllocV2(nuint alignment, nuint size, out void* p)
    {
        p = null;
        if (alignment > OsMemory.PageSize) return false;
        nuint usize = SizeClasses.RoundUpAligned(size == 0 ? 1 : size, alignment);
        if (usize == 0 || usize > ShardedHeap.MaxPaged) return false;
        p = MallocV2(usize);
        Debug.Assert(p == null || ((nuint)p & (alignment - 1)) == 0, "a core v2 class that is a multiple of the alignment yields aligned blocks");
        return true;
    }

    /// <summary>
    /// Realloc/rallocx of a v2 block of <paramref name="usable"/> bytes: the same pointer when the new
    /// class is its class (and the flags name no arena or cache and the alignment holds), otherwise a new
    /// block from Malloc/MallocX, the contents copied, the old block freed. Null (old block untouched) on failure.
    /// </summary>
    private static void* ReallocV2(void* ptr, nuint usable, nuint size, MallocFlags flags)
    {
        nuint want = flags.LgAlignment == 0 ? SizeClasses.RoundUp(size) : SizeClasses.RoundUpAligned(size, flags.Alignment);
        if (want == 0) return HandleOom(size);
        if (want == usable && flags.ArenaIndex < 0 && flags.ThreadCacheId == -1 && ((nuint)ptr & (flags.Alignment - 1)) == 0) return ptr;
        void* q = flags.Value == 0 ? Malloc(size) : MallocX(size, flags);
        if (q == null) return null;
        nuint keep = Math.Min(usable, size);
        Buffer.MemoryCopy(ptr, q, size, keep);
        if (flags.IsZero)
        {
            nuint got = UsableSizeCore(q);
            if (got > keep) NativeMemory.Clear((byte*)q + keep, got - keep);
        }
        ShardedHeap.Free(ptr);
        return q;
    }
}
