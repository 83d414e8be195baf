// FixedKindSource: memory for fixed kinds (memkind_create_fixed) — an area the caller owns and keeps
// valid (a static array, its own mapping), handed out in 4 MiB granules.
//
// Terms:
//  - area: [Start, End), the 4 MiB-aligned granules inside the caller's range; the unaligned head and
//    tail of the range are not used (chunks and huge blocks must be granule-aligned).
//  - granule bit: set while the granule is part of a range handed out.
// The source never maps, unmaps or madvises the caller's memory: releases only clear bits, a forced
// purge zero-fills the range (the contract's "reads as zeroes"; the pages stay resident), lazy purges
// and decommits are refused, and handed-out memory is reported as not zeroed (the caller's area may
// hold anything). In-place growth of a huge block takes the
// granules right after it when they are free.
// Invariants (under _lock): a granule's bit is set exactly while it belongs to a handed-out range.
using NativeHeap.Core;

namespace NativeHeap.Kinds;

internal sealed unsafe class FixedKindSource : IMemorySource, IKindSourceDiagnostics
{
    private const nuint Granule = PageMap.GranuleSize;

    private readonly Lock _lock = new();
    private readonly ulong[] _inUse;
    private readonly int _granules;
    private string? _lastError;

    private FixedKindSource(byte* start, int granules, nuint areaSize)
    {
        Start = start;
        _granules = granules;
        AreaSize = areaSize;
        _inUse = new ulong[(granules + 63) / 64];
    }

    /// <summary>The first aligned granule of the caller's area.</summary>
    internal byte* Start { get; }

    /// <summary>The caller's whole area size (memkind_get_capacity reports it).</summary>
    internal nuint AreaSize { get; }

    /// <summary>Bytes usable for blocks (whole aligned granules).</summary>
    internal nuint Capacity => (nuint)_granules * Granule;

    public string? LastError => Volatile.Read(ref _lastError);

    internal static bool TryCreate(void* address, nuint size, out FixedKindSource? source, out string error)
    {
        source = null;
        nuint start = ((nuint)address + Granule - 1) & ~(Granule - 1);
        nuint end = ((nuint)address + size) & ~(Granule - 1);
        if (address == null || (nuint)address + size < (nuint)address || end <= start)
        {
            error = $"fixed kind: the area 0x{(nuint)address:x} + {size} holds no whole 4 MiB-aligned granule (NativeHeap's chunk); give at least 8 MiB, or 4 MiB aligned to 4 MiB";
            return false;
        }
        source = new FixedKindSource((byte*)start, (int)((end - start) / Granule), size);
        error = "";
        return true;
    }

    public void* Allocate(void* at, nuint size, nuint alignment, out bool zeroed)
    {
        zeroed = false;
        int n = (int)((size + Granule - 1) / Granule);
        int step = (int)Math.Max(1, alignment / Granule);
        lock (_lock)
        {
            if (at != null)
            {
                long off = (byte*)at - Start;
                if (off < 0 || off % (long)Granule != 0 || off / (long)Granule + n > _granules) return null;
                int at0 = (int)(off / (long)Granule);
                for (int i = 0; i < n; i++)
                    if (IsSet(at0 + i)) return null;
                return Take(at0, n);
            }
            nuint align = (nuint)step * Granule;
            int first0 = (int)(((align - ((nuint)Start & (align - 1))) & (align - 1)) / Granule);
            for (int first = first0; first + n <= _granules; first += step)
            {
                int k = 0;
                while (k < n && !IsSet(first + k)) k++;
                if (k == n) return Take(first, n);
                first += (k / step) * step;
            }
            _lastError = $"fixed kind at 0x{(nuint)Start:x}: no free {(long)n * (long)Granule}-byte range left in the area of {Capacity} usable bytes";
            return null;
        }
    }

    private void* Take(int first, int n)
    {
        for (int i = 0; i < n; i++) _inUse[(first + i) >> 6] |= 1UL << ((first + i) & 63);
        return Start + (nuint)first * Granule;
    }

    private bool IsSet(int i) => (_inUse[i >> 6] & (1UL << (i & 63))) != 0;

    public bool TryRelease(void* address, nuint size)
    {
        int first = (int)(((byte*)address - Start) / (long)Granule);
        int n = (int)((size + Granule - 1) / Granule);
        lock (_lock)
        {
            for (int i = 0; i < n; i++)
            {
                Debug.Assert(IsSet(first + i));
                _inUse[(first + i) >> 6] &= ~(1UL << ((first + i) & 63));
            }
        }
        return true;
    }

    // The caller's memory stays mapped as it is: nothing is committed or decommitted.
    public bool TryCommit(void* address, nuint size) => true;

    public bool TryDecommit(void* address, nuint size) => false;

    public bool TryPurgeLazy(void* address, nuint size) => false;

    public bool TryPurgeForced(void* address, nuint size)
    {
        NativeMemory.Clear(address, size);
        return true;
    }

    public bool TrySplit(void* address, nuint size, nuint firstSize) => firstSize % Granule == 0;

    public bool TryMerge(void* first, nuint firstSize, void* second, nuint secondSize) => (byte*)first + firstSize == second;
}
