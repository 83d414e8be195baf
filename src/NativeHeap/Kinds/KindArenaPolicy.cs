// KindArenaPolicy: how a kind spreads threads over its arenas — memkind's two get_arena operations.
namespace NativeHeap.Kinds;

/// <summary>How a memory kind chooses the arena a thread allocates from.</summary>
public enum KindArenaPolicy
{
    /// <summary>
    /// Several arenas (<see cref="KindOptions.ArenaCount"/>, by default 4 × CPUs); a thread uses the
    /// one its thread id hashes to (memkind_thread_get_arena). Less contention on the arenas' locks.
    /// </summary>
    PerThreadHash = 0,

    /// <summary>One arena for every thread (memkind_bijective_get_arena). Least memory overhead.</summary>
    Single = 1,
}
