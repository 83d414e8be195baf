// LockFreeMalloc: the three calls of AO_malloc (AO_malloc, AO_free, AO_malloc_enable_mmap) and its
// AO_MALLOC_IS_LOCK_FREE flag, in C#, on the process-wide LockFreeHeap.Default.
using System.Runtime.CompilerServices;

namespace NativeHeap.LockFree;

/// <summary>AO_malloc's interface on the process-wide lock-free heap (<see cref="LockFreeHeap.Default"/>).</summary>
public static unsafe class LockFreeMalloc
{
    /// <summary>Always true: the process-wide heap is lock-free (AO_MALLOC_IS_LOCK_FREE).</summary>
    public static bool IsLockFree => LockFreeHeap.IsLockFree;

    /// <summary>AO_malloc: <paramref name="size"/> bytes aligned to 16, or null (see <see cref="LockFreeHeap.Allocate"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void* Malloc(nuint size) => LockFreeHeap.Default.Allocate(size);

    /// <summary>AO_free: returns <paramref name="p"/> (from <see cref="Malloc"/>, or null) to the process-wide heap.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Free(void* p) => LockFreeHeap.Default.Free(p);

    /// <summary>AO_malloc_enable_mmap: lets requests the fixed heap cannot serve be served by mmap.</summary>
    public static void EnableMmap() => LockFreeHeap.Default.EnableMmap();

    /// <summary>Returns the calling thread's cached blocks to the process-wide heap (see <see cref="LockFreeHeap.FlushThreadCache"/>).</summary>
    public static void FlushThreadCache() => LockFreeHeap.Default.FlushThreadCache();

    /// <summary>Sets the fixed heap's size; true only before the first use of the process-wide heap.</summary>
    public static bool TrySetHeapSize(nuint heapSize) => LockFreeHeap.TrySetDefaultHeapSize(heapSize);
}
