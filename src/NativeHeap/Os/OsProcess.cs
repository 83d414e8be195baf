// OsProcess: process-level verbs for code that is called from C (the C ABI library): the C errno of
// the calling thread, and reporting a fatal caller mistake on stderr followed by abort(3).
//
// Terms: "C errno" is the errno a C caller reads after a call — the thread's libc errno cell, not
// .NET's saved last-P/Invoke error. NativeHeap's own libc calls are made with SetLastError, whose
// stubs clear the C errno before each call; code that must leave a C caller's errno as it found it
// (posix_memalign, and every successful allocation) saves it on entry and puts it back.
using System.Runtime.CompilerServices;
using System.Text;

namespace NativeHeap.Os;

/// <summary>Process-level OS verbs for callers that are C programs.</summary>
internal static unsafe class OsProcess
{
    /// <summary>The calling thread's C errno cell (valid for the thread's life). One libc call, no transition.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int* ErrnoCell() => Libc.__errno_location();

    /// <summary>
    /// Writes "&lt;nativeheap&gt;: <paramref name="message"/>" and a newline to stderr (fd 2) with write(2),
    /// without allocating native memory, then calls abort(3). Never returns. Used where a C allocator
    /// would abort (an invalid free); the message is best effort (a failed write is ignored).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void AbortWithMessage(string message)
    {
        byte[] bytes = Encoding.UTF8.GetBytes("<nativeheap>: " + message + "\n");
        fixed (byte* p = bytes)
        {
            nuint done = 0;
            while (done < (nuint)bytes.Length)
            {
                nint n = Libc.write(2, p + done, (nuint)bytes.Length - done);
                if (n <= 0) break;
                done += (nuint)n;
            }
        }
        Libc.abort();
        Environment.FailFast(message); // not reached: abort(3) does not return
    }
}
