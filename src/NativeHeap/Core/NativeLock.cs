// NativeLock: a 4-byte mutex that lives in native memory (arena and bin headers), so taking it
// allocates nothing and its address never moves. Uncontended Enter is one CAS; a contended one spins
// briefly, then parks on a futex (Drepper's three-state mutex: 0 free, 1 held, 2 held with waiters).
// Only slow paths take locks; the allocation and free fast paths never do.
using System.Runtime.CompilerServices;
using NativeHeap.Os;

namespace NativeHeap.Core;

internal unsafe struct NativeLock
{
    private int _state;

    // Mutex statistics (jemalloc's stats.mutexes.*): counted by the holder, so plain adds suffice,
    // except Contended/Waiters, which waiters change before they hold the lock.
    /// <summary>Number of times Enter found the lock held (num_spin_acq + num_wait).</summary>
    internal int Contended;
    /// <summary>Threads inside EnterSlow now, and the most seen at once (max_num_thds).</summary>
    internal int Waiters, MaxWaiters;
    /// <summary>Acquisitions (num_ops).</summary>
    internal long Ops;
    /// <summary>Contended acquisitions won while spinning, before blocking (num_spin_acq).</summary>
    internal long SpinAcquired;
    /// <summary>Stopwatch ticks spent waiting in total and in the longest wait (total_wait_time, max_wait_time).</summary>
    internal long WaitTicks, MaxWaitTicks;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Enter()
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0) EnterSlow();
        Ops++;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryEnter()
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0) return false;
        Ops++;
        return true;
    }

    /// <summary>Zeroes the statistics (stats.mutexes.reset). Call with the lock held.</summary>
    internal void ResetStats()
    {
        Ops = SpinAcquired = WaitTicks = MaxWaitTicks = 0;
        Contended = MaxWaiters = 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Exit()
    {
        if (Interlocked.Exchange(ref _state, 0) == 2) OsThread.FutexWake((int*)Unsafe.AsPointer(ref _state), 1);
    }

    internal readonly bool IsHeld => Volatile.Read(in _state) != 0;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void EnterSlow()
    {
        Interlocked.Increment(ref Contended);
        int waiters = Interlocked.Increment(ref Waiters);
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        bool spun = false;
        for (int spin = 0; spin < MaxSpin; spin++)
        {
            Thread.SpinWait(8 << Math.Min(spin, 4));
            if (Volatile.Read(ref _state) == 0 && Interlocked.CompareExchange(ref _state, 1, 0) == 0)
            {
                spun = true;
                break;
            }
        }
        if (!spun)
        {
            int* addr = (int*)Unsafe.AsPointer(ref _state);
            while (Interlocked.Exchange(ref _state, 2) != 0)
            {
                OsThread.FutexWait(addr, 2);
            }
        }
        // Held from here: the statistics are the holder's to update.
        Interlocked.Decrement(ref Waiters);
        if (spun) SpinAcquired++;
        long waited = System.Diagnostics.Stopwatch.GetTimestamp() - start;
        WaitTicks += waited;
        if (waited > MaxWaitTicks) MaxWaitTicks = waited;
        if (waiters > MaxWaiters) MaxWaiters = waiters;
    }

    /// <summary>Spin rounds before a contended Enter blocks (opt.mutex_max_spin).</summary>
    internal const int MaxSpin = 64;
}
