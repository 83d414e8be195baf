// PmemKindSource: file-backed memory for pmem kinds (memkind's PMEM kind) — a temporary file with no
// name in a chosen directory, mapped MAP_SHARED, so the kind's memory lives in that file system
// (a DAX pmem mount, tmpfs, a disk) instead of anonymous RAM.
//
// Terms:
//  - region: one shared mapping of the file made at creation, 2 × the maximum (rounded to 4 MiB
//    granules) so fragmentation never makes a request fail below the maximum; file offset =
//    address - Base + BaseOffset. The file is sparse: only written pages take blocks.
//  - granule: 4 MiB; every range handed out is whole granules (chunks, and huge blocks' mappings).
//  - used bytes: the sum of the ranges handed out and not released. A request that would take it
//    above the limit fails: the allocation returns null (out of memory), nothing crashes. The limit
//    is the maximum rounded up to whole granules, so a block of the maximum's size (whose mapping
//    needs one header page more) fits a kind of that maximum plus a page, as with memkind.
//  - in-place growth: Allocate(at, ...) succeeds when the granules at `at` are free (a huge block
//    grows into them, TryMerge agrees), so a block shrunk and grown back needs no second copy.
// Released, purged and decommitted ranges are punched out of the file (fallocate PUNCH_HOLE |
// KEEP_SIZE): their blocks go back to the file system and the mapping reads zeroes again.
// Invariants (under _lock): a granule's bit is set exactly while it is part of a handed-out range;
// _usedBytes = set bits × 4 MiB; a granule that is not set and not in _stale reads as zeroes.
using NativeHeap.Core;
using NativeHeap.Os;

namespace NativeHeap.Kinds;

internal sealed unsafe class PmemKindSource : IMemorySource, IKindSourceDiagnostics, IDisposable
{
    private const nuint Granule = PageMap.GranuleSize;

    private readonly Lock _lock = new();
    private readonly ulong[] _inUse;
    private readonly ulong[] _stale;      // released but not punched (the punch failed): not known to be zero
    private readonly int _granules;
    private long _usedBytes;
    private string? _lastError;
    private int _fd;

    private PmemKindSource(int fd, byte* region, long regionOffset, int granules, long maxSize, string directory)
    {
        _fd = fd;
        Base = region;
        BaseOffset = regionOffset;
        _granules = granules;
        _inUse = new ulong[(granules + 63) / 64];
        _stale = new ulong[(granules + 63) / 64];
        MaxSize = maxSize;
        Directory = directory;
    }

    internal byte* Base { get; }
    internal long BaseOffset { get; }
    internal long MaxSize { get; }

    /// <summary>The limit on <see cref="UsedBytes"/>: <see cref="MaxSize"/> rounded up to whole granules.</summary>
    internal long Limit => (MaxSize + (long)Granule - 1) / (long)Granule * (long)Granule;
    internal string Directory { get; }

    /// <summary>The file's descriptor (tests read its allocated blocks); -1 after Dispose.</summary>
    internal int FileDescriptor => _fd;

    internal long UsedBytes => Volatile.Read(ref _usedBytes);

    public string? LastError => Volatile.Read(ref _lastError);

    /// <summary>Creates the unlinked file and maps its region; false with a message when the directory or the OS refuses.</summary>
    internal static bool TryCreate(string directory, long maxSize, out PmemKindSource? source, out string error)
    {
        source = null;
        if (maxSize < (long)Granule)
        {
            error = $"pmem kind: the maximum size must be at least {Granule} bytes (one 4 MiB chunk); got {maxSize}";
            return false;
        }
        if (!System.IO.Directory.Exists(directory))
        {
            error = $"pmem kind: directory {directory} does not exist";
            return false;
        }
        long granules = (maxSize + (long)Granule - 1) / (long)Granule * 2;
        if (granules > int.MaxValue / 2)
        {
            error = $"pmem kind: maximum size {maxSize} is too large";
            return false;
        }
        nuint regionSize = (nuint)granules * Granule;
        if (!OsTempFile.TryCreateUnlinked(directory, out int fd, out OsError os))
        {
            error = $"pmem kind: cannot create a temporary file in {directory}: {os}";
            return false;
        }
        // The mapping is made from offset 0 and trimmed to an aligned start: the file must cover the slack too.
        if (!OsTempFile.TrySetSize(fd, (long)(regionSize + Granule), out os)
            || !OsTempFile.TryMapAligned(fd, regionSize, Granule, out void* region, out long offset, out os))
        {
            OsFile.TryClose(fd, out _);
            error = $"pmem kind: cannot map a file of {regionSize} bytes in {directory}: {os}";
            return false;
        }
        source = new PmemKindSource(fd, (byte*)region, offset, (int)granules, maxSize, directory);
        error = "";
        return true;
    }

    public void* Allocate(void* at, nuint size, nuint alignment, out bool zeroed)
    {
        zeroed = true;
        if (_fd < 0) return null;
        int n = (int)((size + Granule - 1) / Granule);
        int step = (int)Math.Max(1, alignment / Granule);
        lock (_lock)
        {
            if (_usedBytes + (long)n * (long)Granule > Limit)
            {
                _lastError = $"pmem kind in {Directory}: maximum size {MaxSize} bytes reached ({_usedBytes} in use, {(long)n * (long)Granule} more asked)";
                return null;
            }
            if (at != null)
            {
                // In-place growth of a huge block: exactly these granules, or nothing.
                long off = (byte*)at - Base;
                if (off < 0 || off % (long)Granule != 0) return null;
                int at0 = (int)(off / (long)Granule);
                if (at0 + n > _granules) return null;
                for (int i = 0; i < n; i++)
                    if (IsSet(_inUse, at0 + i)) return null;
                return Take(at0, n, ref zeroed);
            }
            nuint align = (nuint)step * Granule;
            int start = (int)(((align - ((nuint)Base & (align - 1))) & (align - 1)) / Granule);
            for (int first = start; first + n <= _granules; first += step)
            {
                int k = 0;
                while (k < n && !IsSet(_inUse, first + k)) k++;
                if (k < n)
                {
                    first += (k / step) * step;   // skip past the busy granule (loop adds step)
                    continue;
                }
                return Take(first, n, ref zeroed);
            }
            _lastError = $"pmem kind in {Directory}: no free {(long)n * (long)Granule}-byte range left in the mapping";
            return null;
        }
    }

    /// <summary>Marks granules [first, first+n) handed out (lock held) and returns their address.</summary>
    private void* Take(int first, int n, ref bool zeroed)
    {
        for (int i = 0; i < n; i++)
        {
            if (IsSet(_stale, first + i)) zeroed = false;
            Set(_inUse, first + i, true);
            Set(_stale, first + i, false);
        }
        _usedBytes += (long)n * (long)Granule;
        return Base + (nuint)first * Granule;
    }

    public bool TryRelease(void* address, nuint size)
    {
        int first = (int)(((byte*)address - Base) / (long)Granule);
        int n = (int)((size + Granule - 1) / Granule);
        bool punched = Punch(address, (nuint)n * Granule);
        lock (_lock)
        {
            for (int i = 0; i < n; i++)
            {
                Debug.Assert(IsSet(_inUse, first + i));
                Set(_inUse, first + i, false);
                Set(_stale, first + i, !punched);
            }
            _usedBytes -= (long)n * (long)Granule;
        }
        return true;
    }

    public bool TryCommit(void* address, nuint size) => OsFile.TryProtect(address, size, write: true, out _);

    public bool TryDecommit(void* address, nuint size)
        => Punch(address, size) && Libc.mprotect(address, size, Libc.PROT_NONE) == 0;

    // A file page cannot be freed "lazily": only forced purges (hole punching) exist.
    public bool TryPurgeLazy(void* address, nuint size) => false;

    public bool TryPurgeForced(void* address, nuint size) => Punch(address, size);

    // Ranges are granule sets: any granule boundary may become a range boundary.
    public bool TrySplit(void* address, nuint size, nuint firstSize) => firstSize % Granule == 0;

    // Adjacent granule ranges (a huge block and the granules it grew into) may become one.
    public bool TryMerge(void* first, nuint firstSize, void* second, nuint secondSize) => (byte*)first + firstSize == second;

    private bool Punch(void* address, nuint size)
    {
        int fd = _fd;
        if (fd < 0) return false;
        long offset = (long)((byte*)address - Base) + BaseOffset;
        if (OsTempFile.TryPunchHole(fd, offset, (long)size, out OsError error)) return true;
        Volatile.Write(ref _lastError, error.ToString());
        return false;
    }

    /// <summary>Unmaps the region and closes the file, which gives all its blocks back. Called when the kind is destroyed.</summary>
    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd < 0) return;
        Libc.munmap(Base, (nuint)_granules * Granule);
        OsFile.TryClose(fd, out _);
    }

    private static bool IsSet(ulong[] bits, int i) => (bits[i >> 6] & (1UL << (i & 63))) != 0;

    private static void Set(ulong[] bits, int i, bool on)
    {
        if (on) bits[i >> 6] |= 1UL << (i & 63);
        else bits[i >> 6] &= ~(1UL << (i & 63));
    }
}
