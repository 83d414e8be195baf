// Heap.Fork: fork safety for processes that fork while other threads allocate (pthread_atfork, as
// jemalloc, mimalloc and tcmalloc register it). Before fork the forking thread takes every lock of the
// heap, so no lock is held mid-operation by a thread that will not exist in the child; after fork
// parent and child both release them (the child's only thread is the one that took them).
// Lock order (the order every other path nests them in): the managed arena lock, the cache registry,
// then per arena its bins in class order and the arena itself, then the spare pool, then metadata.
// Used by the drop-in library (native/preload/shim.c); managed programs do not fork.
namespace NativeHeap;

public static unsafe partial class Heap
{
    private static int s_forkArenas = -1;

    /// <summary>Takes every heap lock before fork(). Does nothing before the heap is initialised.</summary>
    internal static void LockAllForFork()
    {
        if (!s_initialized) return;
        s_arenaLock.Enter();
        s_registryLock->Enter();
        int n = Volatile.Read(ref s_arenaCount);
        for (int i = 0; i < n; i++)
        {
            General.Arena* a = s_arenas[i];
            if (a == null) continue;
            for (int j = 0; j < Core.SizeClasses.NBins; j++) General.Arena.BinOf(a, j)->Lock.Enter();
            a->Lock.Enter();
        }
        General.SparePool.LockForFork();
        Core.MetaAlloc.LockForFork();
        s_forkArenas = n;
    }

    /// <summary>Releases what <see cref="LockAllForFork"/> took (after fork, in parent and child).</summary>
    internal static void UnlockAllAfterFork()
    {
        int n = s_forkArenas;
        if (n < 0) return;
        s_forkArenas = -1;
        Core.MetaAlloc.UnlockAfterFork();
        General.SparePool.UnlockAfterFork();
        for (int i = n - 1; i >= 0; i--)
        {
            General.Arena* a = s_arenas[i];
            if (a == null) continue;
            a->Lock.Exit();
            for (int j = Core.SizeClasses.NBins - 1; j >= 0; j--) General.Arena.BinOf(a, j)->Lock.Exit();
        }
        s_registryLock->Exit();
        s_arenaLock.Exit();
    }
}
