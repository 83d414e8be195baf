// OsThread: thread-related OS services: a futex to park and wake waiters of NativeLock, and a
// pthread key whose destructor tells the heap that a thread has exited (FACTS: it fires within
// tens of microseconds of the exit, unlike a finalizer, which waits for a GC).
namespace NativeHeap.Os;

internal static unsafe class OsThread
{
    /// <summary>
    /// Blocks while <c>*addr == expected</c> (FUTEX_WAIT, private). Returns on a wake, a signal or a
    /// value change; callers re-check their condition. Never fails in a way the caller must handle.
    /// </summary>
    internal static void FutexWait(int* addr, int expected)
        => Libc.syscall_futex(Libc.SYS_futex, addr, Libc.FUTEX_WAIT_PRIVATE, expected, null, null, 0);

    /// <summary>Wakes up to <paramref name="count"/> threads waiting on <paramref name="addr"/>.</summary>
    internal static void FutexWake(int* addr, int count)
        => Libc.syscall_futex(Libc.SYS_futex, addr, Libc.FUTEX_WAKE_PRIVATE, count, null, null, 0);

    /// <summary>
    /// Creates a pthread key whose <paramref name="destructor"/> runs on each exiting thread that set
    /// a non-null value. The destructor must be an UnmanagedCallersOnly function and must stay tiny.
    /// </summary>
    internal static bool TryCreateKey(delegate* unmanaged<void*, void> destructor, out uint key, out OsError error)
    {
        uint k;
        int rc = Libc.pthread_key_create(&k, destructor);
        key = k;
        if (rc != 0)
        {
            error = new OsError(rc, "pthread_key_create");
            return false;
        }
        error = default;
        return true;
    }

    /// <summary>Sets this thread's value for <paramref name="key"/>; the destructor receives it at exit.</summary>
    internal static void SetKeyValue(uint key, void* value) => Libc.pthread_setspecific(key, value);

    /// <summary>The operating-system id of the calling thread.</summary>
    internal static int CurrentThreadId() => (int)Libc.syscall(Libc.SYS_gettid, 0, 0, 0, 0, 0, 0);
}
