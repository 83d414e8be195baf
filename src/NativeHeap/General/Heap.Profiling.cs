// Heap.Profiling: the general heap's side of heap profiling (HeapProfiler, Profiling/Sampler.cs).
//
// Terms: a thread's cache holds ProfNext, the value of its Allocated counter at which the next sample
// is due. With opt.prof (requested at start), the fast pop (ThreadCache.TryPop) returns null when
// Allocated + size would reach it, so the only cost on the fast path is one compare with a field on
// the cache line it already reads; without opt.prof the JIT removes that compare. AllocCore
// adds the size and, when the threshold is reached, calls ProfThreshold, which takes the sample and
// draws the next interval. ProfNext is ulong.MaxValue while profiling is inactive (never reached).
// Sampled blocks: their page's PageBin byte is 0 while they live, so their free takes FreeSlow, which
// consults the sampler only while some sample lives (one load of SamplerGate.LiveSamples).
// Invariants: only the owning thread writes ProfNext except HeapProfiler's activation/deactivation,
// which writes 0 (forcing a re-arm) after bumping the epoch; ProfThreshold re-arms from the epoch.
using System.Runtime.CompilerServices;
using NativeHeap.Core;
using NativeHeap.General;
using NativeHeap.Profiling;

namespace NativeHeap;

public static unsafe partial class Heap
{
    /// <summary>The sample threshold was reached in AllocCore (block <paramref name="p"/> of usable size <paramref name="usize"/>).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ProfThreshold(ThreadCache* tc, void* p, nuint usize)
    {
        if (tc->Id != -1) return;
        bool due = tc->ProfEpoch == Volatile.Read(ref SamplerGate.Epoch);
        tc->ProfNext = ulong.MaxValue;       // no nested sample while this one is taken
        if (due && SamplerGate.Active && tc->ProfThreadInactive == 0) Sampler.Sample(p, usize);
        ProfArm(tc);
    }

    /// <summary>Draws the thread's next sample point from the profiler's current state.</summary>
    internal static void ProfArm(ThreadCache* tc)
    {
        int epoch = Volatile.Read(ref SamplerGate.Epoch);
        if (tc->ProfEpoch != epoch)
        {
            tc->ProfEpoch = epoch;
            tc->ProfRng = Sampler.ThreadSeed();
        }
        tc->ProfNext = SamplerGate.Active && tc->ProfThreadInactive == 0
            ? tc->Allocated + Sampler.NextInterval(&tc->ProfRng)
            : ulong.MaxValue;
    }

    /// <summary>A new thread cache's profiling state (thread.prof.active starts as prof.thread_active_init).</summary>
    private static void ProfInitCache(ThreadCache* tc)
    {
        tc->ProfThreadInactive = SamplerGate.ThreadActiveInit ? 0 : 1;
        tc->ProfEpoch = 0;
        tc->ProfNext = SamplerGate.Active ? 0 : ulong.MaxValue;   // 0: the first slow path arms it
    }

    /// <summary>Forces every thread's cache to re-arm at its next slow path (after the epoch was bumped).</summary>
    internal static void ProfRearmAll()
    {
        s_registryLock->Enter();
        for (ThreadCache* tc = s_registry; tc != null; tc = tc->RegistryNext) Volatile.Write(ref tc->ProfNext, 0UL);
        s_registryLock->Exit();
    }

    /// <summary>thread.prof.active of the calling thread.</summary>
    internal static bool ProfThreadActive
    {
        get
        {
            ThreadCache* tc = CurrentCache();
            return tc != null ? tc->ProfThreadInactive == 0 : SamplerGate.ThreadActiveInit;
        }
        set
        {
            ThreadCache* tc = CurrentCacheOrThrow();
            tc->ProfThreadInactive = value ? 0 : 1;
            ProfArm(tc);
        }
    }

    /// <summary>The calling thread's cache (tests read its profiling fields); null before its first allocation.</summary>
    internal static void* CurrentThreadCacheForTests => t_cache;

    /// <summary>Bytes the arenas and the spare pool map (racy reads of their counters; prof_gdump's trigger).</summary>
    internal static long MappedBytesApprox
    {
        get
        {
            long mapped = (long)SparePool.Count * (long)Chunk.Size;
            int n = Volatile.Read(ref s_arenaCount);
            for (int i = 0; i < n; i++)
            {
                Arena* a = s_arenas[i];
                if (a != null && a->Destroyed == 0) mapped += Volatile.Read(ref a->MappedBytes);
            }
            return mapped;
        }
    }

    /// <summary>Whether <paramref name="c"/> belongs to a memory kind other than the default one (never sampled: its free path reads no PageBin).</summary>
    internal static bool IsKindChunk(Chunk* c) => NativeHeap.Kinds.MemoryKind.IsKindSource(c->SourceId);
}
