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

    /// <summary>Number of times Enter found the lock held (for mutex statistics).</summary>
    internal int Contended;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Enter()
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0) EnterSlow();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryEnter() => Interlocked.CompareExchange(ref _state, 1, 0) == 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Exit()
    {
        if (Interlocked.Exchange(ref _state, 0) == 2) OsThread.FutexWake((int*)Unsafe.AsPointer(ref _state), 1);
    }

    internal readonly bool IsHeld => Volatile.Read(in _state) != 0;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void EnterSlow()
    {
        Contended++;
        for (int spin = 0; spin < 64; spin++)
        {
            Thread.SpinWait(8 << Math.Min(spin, 4));
            if (Volatile.Read(ref _state) == 0 && Interlocked.CompareExchange(ref _state, 1, 0) == 0) return;
        }
        int* addr = (int*)Unsafe.AsPointer(ref _state);
        while (Interlocked.Exchange(ref _state, 2) != 0)
        {
            OsThread.FutexWait(addr, 2);
        }
    }
}
