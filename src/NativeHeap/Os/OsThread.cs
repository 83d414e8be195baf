// OsThread: thread-related OS services: a futex to park and wake waiters of NativeLock, and
// thread-exit notification: a pthread key whose destructor is libc's own sem_post, so an exiting
// thread posts a semaphore that lives in its cache and runs no managed code at all. (Running an
// UnmanagedCallersOnly destructor on a dying thread re-attaches it to the runtime, and we saw that
// crash the GC; a finalizer would wait for a GC.) Owners later find posted semaphores with TryWait.
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

    /// <summary>Bytes a thread-exit semaphore needs (sizeof(sem_t) on x86-64 Linux).</summary>
    internal const int ExitSemaphoreBytes = 32;

    /// <summary>
    /// Creates a pthread key whose destructor is libc's sem_post: a thread that set a value (the address
    /// of a semaphore made with <see cref="TryInitExitSemaphore"/>) posts it when it exits.
    /// </summary>
    internal static bool TryCreateExitKey(out uint key, out OsError error)
    {
        key = 0;
        if (!NativeLibrary.TryLoad("libc.so.6", out nint libc) || !NativeLibrary.TryGetExport(libc, "sem_post", out nint semPost))
        {
            error = new OsError(Libc.ENOSYS, "dlsym(libc.so.6, sem_post)");
            return false;
        }
        uint k;
        int rc = Libc.pthread_key_create(&k, (void*)semPost);
        key = k;
        if (rc != 0)
        {
            error = new OsError(rc, "pthread_key_create");
            return false;
        }
        error = default;
        return true;
    }

    /// <summary>Initialises a process-private semaphore with value 0 at <paramref name="sem"/> (ExitSemaphoreBytes bytes).</summary>
    internal static bool TryInitExitSemaphore(void* sem, out OsError error)
    {
        if (Libc.sem_init(sem, 0, 0) != 0)
        {
            error = new OsError(Libc.Errno(), "sem_init");
            return false;
        }
        error = default;
        return true;
    }

    /// <summary>True when the thread that registered <paramref name="sem"/> has exited (the semaphore was posted).</summary>
    internal static bool HasExited(void* sem) => Libc.sem_trywait(sem) == 0;

    /// <summary>Releases a semaphore made by <see cref="TryInitExitSemaphore"/>.</summary>
    internal static void DestroyExitSemaphore(void* sem) => Libc.sem_destroy(sem);

    /// <summary>Sets this thread's value for <paramref name="key"/>; the destructor receives it at exit.</summary>
    internal static void SetKeyValue(uint key, void* value) => Libc.pthread_setspecific(key, value);

    /// <summary>The operating-system id of the calling thread.</summary>
    internal static int CurrentThreadId() => (int)Libc.syscall(Libc.SYS_gettid, 0, 0, 0, 0, 0, 0);
}
