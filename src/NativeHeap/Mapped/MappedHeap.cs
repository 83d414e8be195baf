// MappedHeap: mmalloc's persistent, re-attachable heap in C#: a heap that lives in a file (or in
// anonymous memory), with all of its metadata inside the mapped region as offsets.
//
// Terms: "attach" maps a heap file (creating the heap when the file is empty), "detach" unmaps it;
// "base" is where the region is mapped in this process, "recorded base" where it was created (a
// reopen maps there so raw pointers stored in the heap stay valid); "relocated" means it was mapped
// elsewhere, where only offsets (Offset<T>) are meaningful. "Keys" are mmalloc's numbered roots,
// "named roots" map a string to a block. A block pointer is the payload address Allocate returned.
//
// Error convention: TryX returns true on success; an allocation returns null on failure; either way
// the reason is in LastError (mmalloc_errno), which keeps the most recent failure and is per heap.
// Thread safety: every call takes the heap's lock (System.Threading.Lock); across processes the
// file's flock lets one writer (or several readers) in.
//
// Layout and crash rules: HeapLayout.cs (format), MappedHeap.Blocks.cs (store ordering),
// MappedHeap.Check.cs (walker and rebuild), MappedHeap.Attach.cs (open and validation).
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text;
using NativeHeap.Os;
using static NativeHeap.Mapped.HeapLayout;

namespace NativeHeap.Mapped;

/// <summary>
/// A persistent heap in a memory-mapped file (after GNU mmalloc): allocate, reallocate, free and
/// publish roots; detach and re-attach later, in this or another process, and find the data again.
/// Thread-safe. Survives a killed process: an unclean shutdown is detected and repaired on the next attach.
/// </summary>
/// <remarks>
/// Failures return false / null with <see cref="LastError"/> set. After <see cref="Dispose"/> (or
/// <see cref="TryDetach"/>) every member but <see cref="TryDetach"/>, <see cref="Dispose"/> and the
/// properties throws <see cref="ObjectDisposedException"/>.
/// </remarks>
public sealed unsafe partial class MappedHeap : IDisposable
{
    /// <summary>Number of numbered root keys (mmalloc_setkey / mmalloc_getkey).</summary>
    public const int KeyCount = HeapLayout.KeyCount;

    /// <summary>The longest root name, in UTF-8 bytes.</summary>
    public const int MaxRootNameBytes = MaxNameBytes;

    /// <summary>How many named roots a heap can hold.</summary>
    public const int NamedRootCapacity = NamedRootCount;

    /// <summary>Bytes of per-block overhead (the block header before each payload).</summary>
    public const int BlockOverhead = (int)BlockHeader;

    private readonly Lock _lock = new();
    private byte* _base;
    private int _fd;
    private readonly long _mapSize;
    private readonly long _maxSize;
    private long _fileSize;
    private long _growStep;
    private ulong _salt;
    private bool _writable;
    private bool _wasClean;
    private bool _bareRoots;   // key and root words may lack their check (a version-1 heap opened read-only)
    private MappedHeapError _lastError;
    private OsError _lastOsError;

    private MappedHeap(int fd, string name, byte* mapped, long max, bool readOnly, bool relocated)
    {
        _fd = fd;
        Name = name;
        _base = mapped;
        _mapSize = max;
        _maxSize = max;
        _writable = !readOnly;
        IsReadOnly = readOnly;
        IsRelocated = relocated;
    }

    /// <summary>Where the heap is mapped in this process (null after detach).</summary>
    public byte* Base => _base;

    /// <summary>The file's path, or a description of the descriptor or anonymous memory.</summary>
    public string Name { get; }

    /// <summary>The base address recorded in the heap when it was created.</summary>
    public nint RecordedBase => _base == null ? 0 : (nint)Word(OffBase);

    /// <summary>True when the heap is mapped somewhere other than its recorded base: raw pointers stored in it are invalid, offsets are not.</summary>
    public bool IsRelocated { get; }

    /// <summary>True when attached read-only.</summary>
    public bool IsReadOnly { get; }

    /// <summary>False when this attach found an unclean shutdown (a killed writer) and recovered from it.</summary>
    public bool WasCleanlyClosed => _wasClean;

    /// <summary>The most recent failure's reason (mmalloc_errno); success does not reset it.</summary>
    public MappedHeapError LastError => _lastError;

    /// <summary>The OS error behind the most recent <see cref="MappedHeapError.OsFailure"/> or <see cref="MappedHeapError.HeapFull"/>, if any.</summary>
    public OsError LastOsError => _lastOsError;

    /// <summary>The most a region may grow to, in bytes (header included).</summary>
    public long MaxSize => _maxSize;

    // ---- allocation (mmalloc, mrealloc, mvalloc, mfree) ----

    /// <summary>Allocates <paramref name="size"/> bytes, 16-byte aligned (mmalloc); null on failure (see <see cref="LastError"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void* Allocate(nuint size)
    {
        long need = BlockSizeFor(size, _maxSize);
        if (need < 0 || !_writable) return AllocateRejected(need);
        lock (_lock)
        {
            if (!_writable) return AllocateRejected(need);
            long o = AllocBlock(need);
            return o == 0 ? null : _base + o + BlockHeader;
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void* AllocateRejected(long need)
    {
        ThrowIfDetached();
        SetError(need < 0 ? MappedHeapError.InvalidSize : WriteBlocker());
        return null;
    }

    /// <summary>Allocates <paramref name="size"/> bytes starting on a page boundary (mvalloc); null on failure.</summary>
    public void* AllocatePageAligned(nuint size)
    {
        long need = BlockSizeFor(size, _maxSize);
        if (need < 0 || !_writable) return AllocateRejected(need);
        lock (_lock)
        {
            if (!_writable) return AllocateRejected(need);
            long o = AllocPageAligned(need);
            Debug.Assert(o == 0 || ((nuint)(_base + o + BlockHeader) & (PageSize - 1)) == 0);
            return o == 0 ? null : _base + o + BlockHeader;
        }
    }

    /// <summary>
    /// Frees a block (mfree). Null is accepted and does nothing. Returns false, changing nothing, for
    /// a pointer that is not an allocated block of this heap (InvalidPointer) or was already freed (DoubleFree).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryFree(void* pointer)
    {
        if (pointer == null) return true;
        lock (_lock)
        {
            if (!_writable) return Fail(WriteBlocker());
            long o = BlockOf(pointer);
            if (o == 0) return false;
            FreeBlock(o);
            return true;
        }
    }

    /// <summary>
    /// Resizes a block (mrealloc), in place when it can, else by moving the contents to a new block.
    /// Null <paramref name="pointer"/> allocates; size 0 frees and returns null with LastError None.
    /// On failure returns null and the old block is unchanged.
    /// </summary>
    public void* Reallocate(void* pointer, nuint size)
    {
        if (pointer == null) return Allocate(size);
        lock (_lock)
        {
            if (!_writable) return AllocateRejected(0);
            long o = BlockOf(pointer);
            if (o == 0) return null;
            if (size == 0)
            {
                FreeBlock(o);
                _lastError = MappedHeapError.None;
                return null;
            }
            long need = BlockSizeFor(size, _maxSize);
            if (need < 0) return AllocateRejected(need);
            if (ResizeInPlace(o, need)) return pointer;
            long oldPayload = SizeAt(o) - BlockHeader;
            long n = AllocBlock(need);
            if (n == 0) return null;
            Buffer.MemoryCopy(pointer, _base + n + BlockHeader, need - BlockHeader, Math.Min(oldPayload, need - BlockHeader));
            CrashPoint();
            FreeBlock(o);
            return _base + n + BlockHeader;
        }
    }

    /// <summary>The usable bytes of an allocated block (at least what was asked for); 0 for an invalid pointer.</summary>
    public nuint UsableSize(void* pointer)
    {
        lock (_lock)
        {
            long o = BlockOf(pointer);
            return o == 0 ? 0 : (nuint)(SizeAt(o) - BlockHeader);
        }
    }

    /// <summary>The block offset of an allocated block's payload pointer, or 0 with LastError set. Reads only: bounds, alignment, size, ALLOC bit and cookie are checked before anything else is trusted.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long BlockOf(void* pointer)
    {
        if (_base == null) ThrowDetached();
        long o = (long)((byte*)pointer - _base) - BlockHeader;
        long end = HeapEnd;
        if (o < HeaderSize || o > end - MinBlock || (o & 15) != 0) return BadPointer(MappedHeapError.InvalidPointer);
        ulong h = Word(o);
        long size = (long)(h & ~FlagMask);
        if (size < MinBlock || size > end - o) return BadPointer(MappedHeapError.InvalidPointer);
        if ((h & Alloc) == 0) return BadPointer(MappedHeapError.DoubleFree);
        if (Word(o + 8) != Cookie(o, _salt)) return BadPointer(MappedHeapError.InvalidPointer);
        return o;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private long BadPointer(MappedHeapError error)
    {
        SetError(error);
        return 0;
    }

    // ---- roots (mmalloc_setkey / mmalloc_getkey, and named roots) ----

    /// <summary>Stores a pointer into the heap (or null) under numbered key <paramref name="key"/> (mmalloc_setkey); one atomic store.</summary>
    public bool TrySetKey(int key, void* pointer)
    {
        lock (_lock)
        {
            if (!_writable) return Fail(WriteBlocker());
            if ((uint)key >= KeyCount) return Fail(MappedHeapError.InvalidKey);
            if (!TryRootOffset(pointer, out long off)) return false;
            Volatile.Write(ref Word(OffKeys + key * 8), RootWord(off, _salt, key, default));
            return true;
        }
    }

    /// <summary>The pointer stored under numbered key <paramref name="key"/> (mmalloc_getkey), at this mapping's address; null when unset or invalid.</summary>
    public void* GetKey(int key)
    {
        lock (_lock)
        {
            ThrowIfDetached();
            if ((uint)key >= KeyCount) { SetError(MappedHeapError.InvalidKey); return null; }
            if (!TryDecodeRoot(Word(OffKeys + key * 8), _salt, key, default, _bareRoots, out long off))
            {
                SetError(MappedHeapError.CorruptMetadata);
                return null;
            }
            return off == 0 ? null : _base + off;
        }
    }

    /// <summary>Publishes <paramref name="pointer"/> (or removes the root, with null) under <paramref name="name"/>; the publication is one atomic store.</summary>
    public bool TrySetRoot(string name, void* pointer)
    {
        Span<byte> utf8 = stackalloc byte[MaxNameBytes];
        lock (_lock)
        {
            if (!_writable) return Fail(WriteBlocker());
            if (!TryEncodeName(name, utf8, out int len)) return Fail(MappedHeapError.InvalidName);
            if (!TryRootOffset(pointer, out long off)) return false;
            int slot = FindRoot(utf8[..len]);
            if (slot >= 0)
            {
                Volatile.Write(ref Word(OffNamedRoots + slot * NamedRootSize), RootWord(off, _salt, -1, utf8[..len]));
                return true;
            }
            if (off == 0) return true;
            for (int i = 0; i < NamedRootCount; i++)
            {
                byte* e = _base + OffNamedRoots + i * NamedRootSize;
                if (*(long*)e != 0) continue;
                e[8] = (byte)len;                           // the slot is empty (offset 0): invisible
                CrashPoint();
                utf8[..len].CopyTo(new Span<byte>(e + 9, MaxNameBytes));
                CrashPoint();
                Volatile.Write(ref *(ulong*)e, RootWord(off, _salt, -1, utf8[..len])); // commit
                return true;
            }
            return Fail(MappedHeapError.RootTableFull);
        }
    }

    /// <summary>The block published under <paramref name="name"/>, or null.</summary>
    public void* GetRoot(string name)
    {
        Span<byte> utf8 = stackalloc byte[MaxNameBytes];
        lock (_lock)
        {
            ThrowIfDetached();
            if (!TryEncodeName(name, utf8, out int len)) { SetError(MappedHeapError.InvalidName); return null; }
            int slot = FindRoot(utf8[..len]);
            if (slot < 0) return null;
            if (!TryDecodeRoot(Word(OffNamedRoots + slot * NamedRootSize), _salt, -1, utf8[..len], _bareRoots, out long off))
            {
                SetError(MappedHeapError.CorruptMetadata);
                return null;
            }
            return _base + off;
        }
    }

    /// <summary>Removes the named root (the block itself is not freed).</summary>
    public bool TryRemoveRoot(string name) => TrySetRoot(name, null);

    /// <summary>All named roots with their offsets from the base.</summary>
    public IReadOnlyList<KeyValuePair<string, long>> GetRoots()
    {
        var list = new List<KeyValuePair<string, long>>();
        lock (_lock)
        {
            ThrowIfDetached();
            for (int i = 0; i < NamedRootCount; i++)
            {
                byte* e = _base + OffNamedRoots + i * NamedRootSize;
                ulong word = *(ulong*)e;
                if (word == 0 || e[8] == 0 || e[8] > MaxNameBytes) continue;
                if (!TryDecodeRoot(word, _salt, -1, new ReadOnlySpan<byte>(e + 9, e[8]), _bareRoots, out long off)) continue;   // corrupt: Check reports it
                list.Add(new(Encoding.UTF8.GetString(e + 9, e[8]), off));
            }
        }
        return list;
    }

    private int FindRoot(ReadOnlySpan<byte> name)
    {
        for (int i = 0; i < NamedRootCount; i++)
        {
            byte* e = _base + OffNamedRoots + i * NamedRootSize;
            if (*(long*)e != 0 && e[8] == name.Length && new ReadOnlySpan<byte>(e + 9, name.Length).SequenceEqual(name)) return i;
        }
        return -1;
    }

    private static bool TryEncodeName(string name, Span<byte> utf8, out int length)
    {
        length = 0;
        if (string.IsNullOrEmpty(name) || Encoding.UTF8.GetByteCount(name) > MaxNameBytes) return false;
        length = Encoding.UTF8.GetBytes(name, utf8);
        return true;
    }

    /// <summary>A key or root must be null or the start of an allocated block (what Check verifies): its payload offset.</summary>
    private bool TryRootOffset(void* pointer, out long offset)
    {
        offset = 0;
        if (pointer == null) return true;
        long o = BlockOf(pointer);
        if (o == 0) return Fail(MappedHeapError.InvalidPointer);
        offset = o + BlockHeader;
        return true;
    }

    private void ThrowIfDetached()
    {
        if (_base == null) ThrowDetached();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    [DoesNotReturn]
    private void ThrowDetached() => throw DetachedException();

    private ObjectDisposedException DetachedException() => new(Name, $"NativeHeap: the mapped heap {Name} was detached (disposed)");

    // ---- offsets ----

    /// <summary>The offset of <paramref name="pointer"/> from the base (0 for null). Throws for a pointer outside the heap.</summary>
    public long OffsetOf(void* pointer)
    {
        if (pointer == null) return 0;
        ThrowIfDetached();
        long o = (long)((byte*)pointer - _base);
        if (o < HeaderSize || o >= _maxSize) throw new ArgumentOutOfRangeException(nameof(pointer), "the pointer is not inside this heap");
        return o;
    }

    /// <summary>The pointer at <paramref name="offset"/> from the base in this mapping (null for 0).</summary>
    public void* PointerAt(long offset)
    {
        if (offset == 0) return null;
        ThrowIfDetached();
        return _base + offset;
    }

    // ---- maintenance ----

    /// <summary>Makes everything written so far durable (msync MS_SYNC + fdatasync): it survives a machine crash. No-op for anonymous heaps.</summary>
    public bool TryFlush()
    {
        lock (_lock)
        {
            ThrowIfDetached();
            if (_fd < 0 || IsReadOnly) return true;
            if (!OsFile.TrySync(_base, (nuint)AlignUp(HeapEnd, PageSize), _fd, out OsError err))
                return Fail(MappedHeapError.OsFailure, err);
            return true;
        }
    }

    /// <summary>Returns free space at the end of the heap to the file system (the file shrinks); true with the bytes released.</summary>
    public bool TryTrim(out long released)
    {
        released = 0;
        lock (_lock)
        {
            if (!_writable) return Fail(WriteBlocker());
            released = TrimTail(out bool ok);
            return ok;
        }
    }

    /// <summary>Sizes, counts and fragmentation, from a walk of every block.</summary>
    public MappedHeapStats GetStats()
    {
        lock (_lock)
        {
            ThrowIfDetached();
            Walk(steady: false, out MappedHeapStats stats);
            return stats;
        }
    }

    /// <summary>
    /// Checks the whole heap: the block chain, cookies, roots, and (unless the heap was opened
    /// read-only after a crash, when they are not yet rebuilt) free lists, footers and bits.
    /// </summary>
    /// <param name="problem">The first inconsistency found, or null.</param>
    /// <returns>True when the heap is consistent.</returns>
    public bool Check(out string? problem)
    {
        lock (_lock)
        {
            ThrowIfDetached();
            bool steady = !IsReadOnly || _wasClean;
            problem = Walk(steady, out _);
            if (problem != null) SetError(MappedHeapError.CorruptMetadata);
            return problem == null;
        }
    }

    // ---- errors ----

    private MappedHeapError WriteBlocker()
    {
        ThrowIfDetached();
        return IsReadOnly ? MappedHeapError.ReadOnly : MappedHeapError.None;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void SetError(MappedHeapError error, OsError os = default)
    {
        _lastError = error;
        _lastOsError = os;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool Fail(MappedHeapError error, OsError os = default)
    {
        SetError(error, os);
        return false;
    }
}
