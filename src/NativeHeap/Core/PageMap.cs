// PageMap: the process-wide map from a 4 MiB granule of address space to the chunk header that
// owns it. One load answers "is this pointer ours, and whose is it?" for any pointer.
//
// Terms: a granule is an aligned 4 MiB range (address >> 22). Every arena chunk is exactly one
// granule; a huge block owns all granules it covers, each mapped to the block's header.
// The table covers the 47-bit user address space: 2^25 entries of 8 bytes = 256 MiB reserved with
// MAP_NORESERVE, of which only the pages covering granules in use are ever touched (one 4 KiB page
// of the table covers 2 GiB of address space).
// Invariant: an entry is non-null exactly while the granule belongs to a live chunk or huge block.
using System.Runtime.CompilerServices;
using NativeHeap.Os;

namespace NativeHeap.Core;

internal static unsafe class PageMap
{
    internal const int LgGranule = 22;
    internal const nuint GranuleSize = (nuint)1 << LgGranule;
    internal const int AddressBits = 47;
    internal const nuint Entries = (nuint)1 << (AddressBits - LgGranule);

    internal static readonly void** s_map = Reserve();

    private static void** Reserve()
    {
        if (!OsMemory.TryReserveSparse(Entries * (nuint)sizeof(void*), out void* p, out OsError error))
            throw new OutOfMemoryException("NativeHeap: cannot reserve the page map: " + error);
        return (void**)p;
    }

    /// <summary>The header owning <paramref name="p"/>'s granule, or null when no heap owns it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void* Lookup(void* p)
    {
        nuint i = (nuint)p >> LgGranule;
        return i < Entries ? s_map[i] : null;
    }

    /// <summary>Maps every granule of [start, start+size) to <paramref name="owner"/> (or clears with null).</summary>
    internal static void Set(void* start, nuint size, void* owner)
    {
        Debug.Assert(((nuint)start & (GranuleSize - 1)) == 0);
        nuint first = (nuint)start >> LgGranule;
        nuint last = ((nuint)start + size - 1) >> LgGranule;
        for (nuint i = first; i <= last && i < Entries; i++) Volatile.Write(ref *(nint*)(s_map + i), (nint)owner);
    }
}
