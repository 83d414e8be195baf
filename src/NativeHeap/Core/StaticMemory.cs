// StaticMemory: zeroed native memory for process-lifetime tables (size-class tables, lock words,
// list heads) taken straight from the OS, so that NativeHeap never calls malloc itself (it must keep
// working when it *is* malloc, under LD_PRELOAD). Bump allocation; nothing is ever freed.
using NativeHeap.Os;

namespace NativeHeap.Core;

internal static unsafe class StaticMemory
{
    private const nuint ChunkBytes = 64 * 1024;
    private static byte* s_cursor, s_end;
    private static int s_lock;

    /// <summary>Returns zeroed memory aligned to 64 bytes; throws OutOfMemoryException when the OS refuses.</summary>
    internal static void* Alloc(nuint size)
    {
        size = (size + 63) & ~(nuint)63;
        while (Interlocked.CompareExchange(ref s_lock, 1, 0) != 0) Thread.SpinWait(16);
        try
        {
            if (s_cursor == null || (nuint)(s_end - s_cursor) < size)
            {
                nuint bytes = size > ChunkBytes ? (size + OsMemory.PageSize - 1) & ~(nuint)(OsMemory.PageSize - 1) : ChunkBytes;
                if (!OsMemory.TryMapAligned(bytes, OsMemory.PageSize, out void* m, out OsError error))
                    throw new OutOfMemoryException("NativeHeap: cannot map static tables: " + error);
                s_cursor = (byte*)m;
                s_end = s_cursor + bytes;
            }
            void* p = s_cursor;
            s_cursor += size;
            return p;
        }
        finally
        {
            Volatile.Write(ref s_lock, 0);
        }
    }
}
