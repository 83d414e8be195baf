// OsNativeThread: threads created by the C library, not by .NET. Code such a thread runs enters
// managed code only through UnmanagedCallersOnly functions (the runtime attaches the thread on the
// first call), which is how native libraries call back into a .NET allocator.
namespace NativeHeap.Os;

internal static unsafe class OsNativeThread
{
    /// <summary>
    /// Starts a pthread running <paramref name="start"/>(<paramref name="arg"/>); the start routine
    /// must be an UnmanagedCallersOnly function. The thread must be joined with <see cref="TryJoin"/>.
    /// </summary>
    internal static bool TryStart(delegate* unmanaged<void*, void*> start, void* arg, out ulong thread, out OsError error)
    {
        ulong t;
        int rc = Libc.pthread_create(&t, null, start, arg);
        thread = t;
        if (rc != 0)
        {
            error = new OsError(rc, "pthread_create");
            return false;
        }
        error = default;
        return true;
    }

    /// <summary>Waits for <paramref name="thread"/> to end (blocking) and returns what its start routine returned.</summary>
    internal static bool TryJoin(ulong thread, out void* result, out OsError error)
    {
        void* r;
        int rc = Libc.pthread_join(thread, &r);
        result = r;
        if (rc != 0)
        {
            error = new OsError(rc, "pthread_join");
            return false;
        }
        error = default;
        return true;
    }

    /// <summary>Sends <paramref name="signal"/> to the calling process.</summary>
    internal static bool TrySignalSelf(int signal, out OsError error)
    {
        if (Libc.kill(Libc.getpid(), signal) != 0)
        {
            error = new OsError(Libc.Errno(), $"kill(self, {signal})");
            return false;
        }
        error = default;
        return true;
    }
}
