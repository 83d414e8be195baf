// MappedHeap.Attach: creating, opening and validating heap files (mmalloc_attach), and detaching.
//
// Opening never writes before the file is known good: the header is read with pread and checked
// (magic, version, checksum, field ranges, file size), then the file is mapped read-only and walked;
// only then is the mapping made writable, the lock already held, and the derived data rebuilt. A bad
// file therefore yields a MappedHeapFailure and is left byte-for-byte untouched.
//
// Creating at a path that does not exist builds the heap in a private temporary file and gives it
// its name with link(2) as the last step, so a crash during creation never leaves a half-made heap
// under the name. Creating in an existing empty file (or a caller's descriptor) initialises it in
// place; a crash then leaves a file that later opens report as NotAHeap or CorruptHeader.
using NativeHeap.Os;
using static NativeHeap.Mapped.HeapLayout;

namespace NativeHeap.Mapped;

public sealed unsafe partial class MappedHeap
{
    /// <summary>
    /// Attaches the heap kept in the file at <paramref name="path"/>: reopens the heap it holds, or
    /// creates one when the file is missing or empty and <see cref="MappedHeapOptions.CreateIfMissing"/> is set.
    /// </summary>
    /// <returns>True with <paramref name="heap"/> set; false with the reason in <paramref name="failure"/>.</returns>
    public static bool TryAttach(string path, MappedHeapOptions? options, out MappedHeap? heap, out MappedHeapFailure failure)
    {
        options ??= new MappedHeapOptions();
        heap = null;
        if (!CheckOptions(options, out failure)) return false;
        bool write = !options.ReadOnly;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            if (OsFile.TryOpen(path, write, create: false, exclusive: false, out int fd, out OsError err))
                return TryAttachOwned(fd, path, options, out heap, out failure);
            if (err.Errno != Libc.ENOENT || !write || !options.CreateIfMissing)
            {
                failure = new MappedHeapFailure(MappedHeapError.OsFailure, $"cannot open {path}: {err}", err);
                return false;
            }
            int created = TryCreateAtPath(path, options, out heap, out failure);
            if (created >= 0) return created == 1;
            // Another process created the file between our open and our link: open theirs.
        }
        failure = new MappedHeapFailure(MappedHeapError.OsFailure, $"cannot create {path}: it keeps appearing and disappearing");
        return false;
    }

    /// <summary>
    /// Attaches the heap in the open file <paramref name="fd"/> (mmalloc_attach with a descriptor); an
    /// empty file gets a new heap when <see cref="MappedHeapOptions.CreateIfMissing"/> is set (else NotAHeap). The heap uses its own duplicate of the descriptor, so the caller
    /// keeps (and must close) <paramref name="fd"/>; the lock is shared with the caller's descriptor.
    /// </summary>
    public static bool TryAttach(int fd, MappedHeapOptions? options, out MappedHeap? heap, out MappedHeapFailure failure)
    {
        options ??= new MappedHeapOptions();
        heap = null;
        if (!CheckOptions(options, out failure)) return false;
        if (!OsFile.TryDuplicate(fd, out int copy, out OsError err))
        {
            failure = new MappedHeapFailure(MappedHeapError.OsFailure, $"cannot use descriptor {fd}: {err}", err);
            return false;
        }
        return TryAttachOwned(copy, $"descriptor {fd}", options, out heap, out failure);
    }

    /// <summary>Attaches a new heap in anonymous memory (mmalloc_attach without a file): nothing persists after detach.</summary>
    public static bool TryAttachAnonymous(MappedHeapOptions? options, out MappedHeap? heap, out MappedHeapFailure failure)
    {
        options ??= new MappedHeapOptions();
        heap = null;
        if (!CheckOptions(options, out failure)) return false;
        if (options.ReadOnly)
        {
            failure = new MappedHeapFailure(MappedHeapError.InvalidOptions, "an anonymous heap cannot be read-only");
            return false;
        }
        long max = AlignUp(options.MaxSize, PageSize);
        void* addr = (void*)options.BaseAddress;
        OsError err;
        bool ok = addr != null
            ? OsMemory.TryMapAt(addr, (nuint)max, out err, Libc.MAP_NORESERVE)
            : OsMemory.TryMapAligned((nuint)max, PageSize, out addr, out err, Libc.MAP_NORESERVE);
        if (!ok)
        {
            failure = new MappedHeapFailure(err.Errno == Libc.EEXIST ? MappedHeapError.AddressInUse : MappedHeapError.OsFailure,
                $"cannot map {max} bytes of anonymous memory: {err}", err);
            return false;
        }
        heap = new MappedHeap(-1, "anonymous memory", (byte*)addr, max, readOnly: false, relocated: false);
        heap.Initialize(InitialRegion(options, max), max, AlignUp(Math.Max(options.GrowthStep, PageSize), PageSize));
        failure = default;
        return true;
    }

    private static bool CheckOptions(MappedHeapOptions o, out MappedHeapFailure failure)
    {
        string? problem =
            o.MaxSize < MinRegion ? $"MaxSize {o.MaxSize} is below the minimum {MinRegion}" :
            o.MaxSize > 1L << 46 ? $"MaxSize {o.MaxSize} is above 64 TiB" :
            o.InitialSize < 0 || o.GrowthStep < 0 ? "InitialSize and GrowthStep must not be negative" :
            (o.BaseAddress & (PageSize - 1)) != 0 ? $"BaseAddress 0x{o.BaseAddress:x} is not page aligned" : null;
        failure = problem == null ? default : new MappedHeapFailure(MappedHeapError.InvalidOptions, problem);
        return problem == null;
    }

    private static long InitialRegion(MappedHeapOptions o, long max) =>
        Math.Min(max, Math.Max(MinRegion, AlignUp(o.InitialSize, PageSize)));

    /// <summary>Creates a heap at a missing path: 1 created, 0 failed, -1 someone else created it first.</summary>
    private static int TryCreateAtPath(string path, MappedHeapOptions options, out MappedHeap? heap, out MappedHeapFailure failure)
    {
        heap = null;
        string temp = $"{path}.creating.{Environment.ProcessId}.{Random.Shared.Next():x}";
        if (!OsFile.TryOpen(temp, write: true, create: true, exclusive: true, out int fd, out OsError err))
        {
            failure = new MappedHeapFailure(MappedHeapError.OsFailure, $"cannot create {temp}: {err}", err);
            return 0;
        }
        if (!TryAttachOwned(fd, path, options, out heap, out failure))
        {
            OsFile.TryUnlink(temp, out _);
            return 0;
        }
        if (!OsFile.TryLink(temp, path, out err))
        {
            heap!.TryDetach();
            heap = null;
            OsFile.TryUnlink(temp, out _);
            if (err.Errno == Libc.EEXIST) return -1;
            failure = new MappedHeapFailure(MappedHeapError.OsFailure, $"cannot name the new heap {path}: {err}", err);
            return 0;
        }
        OsFile.TryUnlink(temp, out _);
        return 1;
    }

    /// <summary>Locks, then creates or opens the heap in <paramref name="fd"/>; closes it on failure.</summary>
    private static bool TryAttachOwned(int fd, string name, MappedHeapOptions options, out MappedHeap? heap, out MappedHeapFailure failure)
    {
        heap = null;
        bool write = !options.ReadOnly;
        // A lock held by another open is refused at once, but retried for up to ~100 ms first: when any
        // thread of a process forks (Process.Start), the child shares every descriptor until its exec
        // closes them (O_CLOEXEC), so a lock just released by detach can look held for that instant.
        OsError err = default;
        for (int attempt = 0; attempt < 100 && !OsFile.TryLock(fd, exclusive: write, out err); attempt++)
        {
            if (err.Errno != Libc.EWOULDBLOCK) break;
            Thread.Sleep(1);
        }
        if (err.IsError)
        {
            failure = err.Errno == Libc.EWOULDBLOCK
                ? new MappedHeapFailure(MappedHeapError.Locked, $"{name} is open for writing elsewhere (flock held by another open, in this or another process)", err)
                : new MappedHeapFailure(MappedHeapError.OsFailure, $"cannot lock {name}: {err}", err);
            OsFile.TryClose(fd, out _);
            return false;
        }
        if (!OsFile.TryGetSize(fd, out long size, out err))
        {
            failure = new MappedHeapFailure(MappedHeapError.OsFailure, $"cannot size {name}: {err}", err);
            OsFile.TryClose(fd, out _);
            return false;
        }
        bool ok;
        if (size == 0 && !options.CreateIfMissing)
        {
            // An empty file is not a heap: formatting it is creation, which the caller did not ask for.
            failure = new MappedHeapFailure(MappedHeapError.NotAHeap, $"{name} is empty (0 bytes): not a heap; set CreateIfMissing to create one in it");
            ok = false;
        }
        else
        {
            ok = size == 0
                ? TryCreateInFile(fd, name, options, out heap, out failure)
                : TryOpenExisting(fd, name, size, options, out heap, out failure);
        }
        if (!ok) OsFile.TryClose(fd, out _);
        return ok;
    }

    private static bool TryCreateInFile(int fd, string name, MappedHeapOptions options, out MappedHeap? heap, out MappedHeapFailure failure)
    {
        heap = null;
        if (options.ReadOnly)
        {
            failure = new MappedHeapFailure(MappedHeapError.NotAHeap, $"{name} is empty: there is no heap to open read-only");
            return false;
        }
        long max = AlignUp(options.MaxSize, PageSize);
        long initial = InitialRegion(options, max);
        if (!OsFile.TryExtend(fd, 0, initial, out OsError err))
        {
            failure = new MappedHeapFailure(MappedHeapError.OsFailure, $"cannot size {name} to {initial} bytes: {err}", err);
            return false;
        }
        if (!TryMapNew(fd, options.BaseAddress, max, out void* addr, out err))
        {
            OsFile.TryTruncate(fd, 0, out _);
            failure = new MappedHeapFailure(err.Errno == Libc.EEXIST ? MappedHeapError.AddressInUse : MappedHeapError.OsFailure,
                $"cannot map {name}: {err}", err);
            return false;
        }
        heap = new MappedHeap(fd, name, (byte*)addr, max, readOnly: false, relocated: false) { _fileSize = initial };
        heap.Initialize(initial, max, AlignUp(Math.Max(options.GrowthStep, PageSize), PageSize));
        failure = default;
        return true;
    }

    // Where new heaps go when the caller names no base: a random 1 GiB-aligned address between 16 and
    // 96 TiB. The kernel hands out mmap addresses top-down from near 128 TiB, so this zone is rarely
    // in use in any process, and a heap detached here is unlikely to find its range taken when it is
    // reopened later (a kernel-chosen address is often reused by the next mappings of the process).
    private const long ZoneStart = 16L << 40, ZoneEnd = 96L << 40, ZoneAlign = 1L << 30;

    private static bool TryMapNew(int fd, nint requested, long max, out void* addr, out OsError err)
    {
        if (requested != 0) return OsFile.TryMapShared(fd, (void*)requested, (nuint)max, write: true, out addr, out err);
        long slots = (ZoneEnd - ZoneStart - max) / ZoneAlign;
        for (int attempt = 0; slots > 0 && attempt < 8; attempt++)
        {
            long at = ZoneStart + Random.Shared.NextInt64(slots) * ZoneAlign;
            if (OsFile.TryMapShared(fd, (void*)at, (nuint)max, write: true, out addr, out err)) return true;
        }
        return OsFile.TryMapShared(fd, null, (nuint)max, write: true, out addr, out err);
    }

    /// <summary>Writes a new header and one free block over [HeaderSize, initial); the checksum is the last store.</summary>
    private void Initialize(long initial, long max, long growStep)
    {
        Word(OffVersion) = FormatVersion | ((ulong)HeaderSize << 32);
        Word(OffBase) = (ulong)_base;
        Word(OffMaxSize) = (ulong)max;
        Word(OffGrowStep) = (ulong)growStep;
        Word(OffSalt) = (ulong)Random.Shared.NextInt64() | 1;
        Word(OffCreated) = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        Word(HeaderSize) = (ulong)(initial - HeaderSize);
        Word(OffHeapEnd) = (ulong)initial;
        Word(OffState) = StateOpen;
        Word(OffOpenCount) = 1;
        MagicBytes.CopyTo(new Span<byte>(_base, 8));
        Volatile.Write(ref Word(OffChecksum), Checksum(_base));
        LoadHeaderFields();
        _wasClean = true;
        Rebuild();
    }

    private static bool TryOpenExisting(int fd, string name, long fileSize, MappedHeapOptions options, out MappedHeap? heap, out MappedHeapFailure failure)
    {
        heap = null;
        byte* h = stackalloc byte[128];
        new Span<byte>(h, 128).Clear();
        if (!OsFile.TryReadAt(fd, h, 128, 0, out int read, out OsError err))
        {
            failure = new MappedHeapFailure(MappedHeapError.OsFailure, $"cannot read {name}: {err}", err);
            return false;
        }
        if (read < 8 || !new ReadOnlySpan<byte>(h, 8).SequenceEqual(MagicBytes))
        {
            failure = new MappedHeapFailure(MappedHeapError.NotAHeap, $"{name} is not a mapped heap (no NHEAPMAP magic; a foreign file, or an interrupted creation)");
            return false;
        }
        if (read < 128 || fileSize < HeaderSize)
        {
            failure = new MappedHeapFailure(MappedHeapError.Truncated, $"{name} is truncated: {fileSize} bytes, shorter than the {HeaderSize}-byte header");
            return false;
        }
        uint version = *(uint*)(h + OffVersion);
        if (version > FormatVersion)
        {
            failure = new MappedHeapFailure(MappedHeapError.UnsupportedVersion, $"{name} has format version {version}; this library reads up to {FormatVersion}");
            return false;
        }
        ulong sum = *(ulong*)(h + OffChecksum);
        bool interruptedUpgrade = false;
        if (version == 1 && sum != Checksum(h))
        {
            // An upgrade to version 2 stores the new checksum before the new version: a header whose
            // checksum is right for version 2 is a version-1 heap whose upgrade was interrupted.
            *(uint*)(h + OffVersion) = FormatVersion;
            interruptedUpgrade = sum == Checksum(h);
            *(uint*)(h + OffVersion) = version;
        }
        if (version == 0 || (sum != Checksum(h) && !interruptedUpgrade))
        {
            failure = new MappedHeapFailure(MappedHeapError.CorruptHeader, $"{name}: header checksum mismatch (stored {sum:x16}, computed {Checksum(h):x16})");
            return false;
        }
        uint headerSize = *(uint*)(h + OffHeaderSize);
        long max = *(long*)(h + OffMaxSize), growStep = *(long*)(h + OffGrowStep);
        ulong recordedBase = *(ulong*)(h + OffBase);
        string? bad =
            headerSize != HeaderSize ? $"header size {headerSize}" :
            max < MinRegion || max > 1L << 46 || (max & (PageSize - 1)) != 0 ? $"maximum size {max}" :
            growStep < PageSize || (growStep & (PageSize - 1)) != 0 ? $"growth step {growStep}" :
            recordedBase == 0 || (recordedBase & (PageSize - 1)) != 0 ? $"base address 0x{recordedBase:x}" : null;
        if (bad != null)
        {
            failure = new MappedHeapFailure(MappedHeapError.CorruptHeader, $"{name}: header field out of range: {bad}");
            return false;
        }
        long end = *(long*)(h + OffHeapEnd);
        if (end < HeaderSize || end > max || (end & 15) != 0)
        {
            failure = new MappedHeapFailure(MappedHeapError.CorruptMetadata, $"{name}: heap end {end} outside [{HeaderSize}, {max}]");
            return false;
        }
        if (end > fileSize)
        {
            failure = new MappedHeapFailure(MappedHeapError.Truncated, $"{name} is truncated: {fileSize} bytes, but its heap ends at {end}");
            return false;
        }

        void* at = (void*)(options.BaseAddress != 0 ? (ulong)options.BaseAddress : recordedBase);
        bool relocated = (ulong)at != recordedBase;
        if (relocated && !options.AllowRelocation)
        {
            failure = new MappedHeapFailure(MappedHeapError.InvalidOptions,
                $"{name} was created at 0x{recordedBase:x}; opening it at 0x{(ulong)at:x} breaks raw pointers stored in it (set AllowRelocation if it holds only offsets)");
            return false;
        }
        if (!OsFile.TryMapShared(fd, at, (nuint)max, write: false, out void* addr, out err))
        {
            if (err.Errno != Libc.EEXIST || options.BaseAddress != 0 || !options.AllowRelocation)
            {
                failure = err.Errno == Libc.EEXIST
                    ? new MappedHeapFailure(MappedHeapError.AddressInUse,
                        $"{name} must map at its recorded base 0x{(ulong)at:x} ({max} bytes) so that raw pointers in it stay valid, but that range is taken in this process; set AllowRelocation to open it elsewhere (then use Offset<T>, not raw pointers)", err)
                    : new MappedHeapFailure(MappedHeapError.OsFailure, $"cannot map {name}: {err}", err);
                return false;
            }
            if (!OsFile.TryMapShared(fd, null, (nuint)max, write: false, out addr, out err))
            {
                failure = new MappedHeapFailure(MappedHeapError.OsFailure, $"cannot map {name}: {err}", err);
                return false;
            }
            relocated = true;
        }

        var heap1 = new MappedHeap(fd, name, (byte*)addr, max, options.ReadOnly, relocated) { _fileSize = fileSize };
        heap1.LoadHeaderFields();
        heap1._bareRoots = version < FirstChecksummedRootsVersion;
        heap1._wasClean = *(uint*)(h + OffState) == StateClosed;
        string? problem = heap1.Walk(steady: false, out _);
        if (problem != null)
        {
            heap1.Unmap();
            failure = new MappedHeapFailure(MappedHeapError.CorruptMetadata, $"{name}: {problem}");
            return false;
        }
        if (!options.ReadOnly)
        {
            if (!OsFile.TryProtect(addr, (nuint)max, write: true, out err))
            {
                heap1.Unmap();
                failure = new MappedHeapFailure(MappedHeapError.OsFailure, $"cannot make {name} writable: {err}", err);
                return false;
            }
            if (!heap1._wasClean) heap1.Word(OffUncleanOpens)++;
            heap1.Word(OffOpenCount)++;
            Volatile.Write(ref *(uint*)(heap1._base + OffState), StateOpen);
            if (heap1._bareRoots) heap1.UpgradeRoots();
            heap1.Rebuild();
        }
        heap = heap1;
        failure = default;
        return true;
    }

    /// <summary>
    /// Upgrades a version-1 heap (opened writable, walked and found sound) to version 2: every key and
    /// root word gets its check (one atomic store each; a word with its check is read correctly by
    /// both versions' rules), then the header's checksum for version 2, then the version. A crash before
    /// the version store leaves a version-1 header whose checksum is version 2's, which the open
    /// recognises as an interrupted upgrade and finishes.
    /// </summary>
    private void UpgradeRoots()
    {
        for (int k = 0; k < KeyCount; k++)
        {
            ulong word = Word(OffKeys + k * 8);
            if (word != 0 && word >> 48 == 0) Volatile.Write(ref Word(OffKeys + k * 8), RootWord((long)word, _salt, k, default));
        }
        for (int i = 0; i < NamedRootCount; i++)
        {
            byte* e = _base + OffNamedRoots + i * NamedRootSize;
            ulong word = *(ulong*)e;
            if (word != 0 && word >> 48 == 0) Volatile.Write(ref *(ulong*)e, RootWord((long)word, _salt, -1, new ReadOnlySpan<byte>(e + 9, e[8])));
        }
        CrashPoint();
        byte* copy = stackalloc byte[ChecksummedBytes];
        new ReadOnlySpan<byte>(_base, ChecksummedBytes).CopyTo(new Span<byte>(copy, ChecksummedBytes));
        *(uint*)(copy + OffVersion) = FormatVersion;
        Volatile.Write(ref Word(OffChecksum), Checksum(copy));
        CrashPoint();
        Volatile.Write(ref *(uint*)(_base + OffVersion), FormatVersion);
        _bareRoots = false;
    }

    private void LoadHeaderFields()
    {
        _salt = Word(OffSalt);
        _growStep = (long)Word(OffGrowStep);
    }

    private void Unmap()
    {
        if (_base != null) Libc.munmap(_base, (nuint)_mapSize);
        _base = null;
    }

    /// <summary>
    /// Detaches the heap (mmalloc_detach): records a clean close, unmaps it and closes the file, which
    /// releases the lock. Call <see cref="TryFlush"/> first when the data must survive a machine crash.
    /// </summary>
    /// <returns>True on success; false when already detached (LastError Detached).</returns>
    public bool TryDetach()
    {
        lock (_lock)
        {
            if (_base == null) return Fail(MappedHeapError.Detached);
            if (_writable) Volatile.Write(ref *(uint*)(_base + OffState), StateClosed);
            _writable = false;
            Unmap();
            bool ok = true;
            if (_fd >= 0)
            {
                ok = OsFile.TryClose(_fd, out OsError err);
                if (!ok) SetError(MappedHeapError.OsFailure, err);
                _fd = -1;
            }
            return ok;
        }
    }

    /// <summary>Detaches the heap (see <see cref="TryDetach"/>); does nothing when already detached.</summary>
    public void Dispose()
    {
        if (_base != null) TryDetach();
    }
}
