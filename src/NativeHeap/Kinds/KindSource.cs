// KindSource: the memory source registered (once, for the process's lifetime) for one kind slot. It
// forwards to the kind's real source (Inner) and counts what passes through it. Because every slot
// has exactly one KindSource, and every chunk and huge-block header records the id of the source
// that mapped it (Chunk.SourceId), a pointer's kind is found with one page-map load and one table
// index: source id → slot → kind. A destroyed kind's slot keeps its KindSource, which the next kind
// created in that slot reuses with a new Inner, so source ids never run out.
// Invariants: Bytes = bytes currently obtained from Inner and not released (whole Allocate ranges;
// sources that allow splits release parts, which are subtracted as given).
using NativeHeap.General;

namespace NativeHeap.Kinds;

internal sealed unsafe class KindSource : IMemorySource
{
    private IMemorySource _inner = OsMemorySource.Instance;
    private long _bytes, _allocations, _failures, _releases, _purges;
    private string? _lastError;

    internal KindSource(int slot) => Slot = slot;

    internal int Slot { get; }

    /// <summary>The kind's source; replaced when the slot gets a new kind.</summary>
    internal IMemorySource Inner
    {
        get => Volatile.Read(ref _inner);
        set
        {
            Volatile.Write(ref _inner, value);
            _bytes = _allocations = _failures = _releases = _purges = 0;
            _lastError = null;
        }
    }

    internal long Bytes => Volatile.Read(ref _bytes);
    internal long Allocations => Volatile.Read(ref _allocations);
    internal long Failures => Volatile.Read(ref _failures);
    internal long Releases => Volatile.Read(ref _releases);
    internal long Purges => Volatile.Read(ref _purges);

    /// <summary>The last allocation failure, as the inner source explains it.</summary>
    internal string? LastError => Volatile.Read(ref _lastError);

    public void* Allocate(void* at, nuint size, nuint alignment, out bool zeroed)
    {
        IMemorySource inner = Inner;
        void* p;
        try
        {
            p = inner.Allocate(at, size, alignment, out zeroed);
        }
        catch (Exception e)
        {
            // A user source that throws must not unwind through the arena with its lock state mid-change.
            Volatile.Write(ref _lastError, $"memory source {inner.GetType().Name} threw {e.GetType().Name}: {e.Message}");
            Interlocked.Increment(ref _failures);
            zeroed = false;
            return null;
        }
        if (p == null)
        {
            if (at == null)
            {
                Interlocked.Increment(ref _failures);
                Volatile.Write(ref _lastError, (inner as IKindSourceDiagnostics)?.LastError
                    ?? $"memory source {inner.GetType().Name} returned no memory for {size} bytes");
            }
            return null;
        }
        Interlocked.Increment(ref _allocations);
        Interlocked.Add(ref _bytes, (long)size);
        return p;
    }

    public bool TryRelease(void* address, nuint size)
    {
        bool ok = Inner.TryRelease(address, size);
        Interlocked.Increment(ref _releases);
        Interlocked.Add(ref _bytes, -(long)size);
        return ok;
    }

    public bool TryCommit(void* address, nuint size) => Inner.TryCommit(address, size);

    public bool TryDecommit(void* address, nuint size) => Inner.TryDecommit(address, size);

    public bool TryPurgeLazy(void* address, nuint size)
    {
        Interlocked.Increment(ref _purges);
        return Inner.TryPurgeLazy(address, size);
    }

    public bool TryPurgeForced(void* address, nuint size)
    {
        Interlocked.Increment(ref _purges);
        return Inner.TryPurgeForced(address, size);
    }

    public bool TrySplit(void* address, nuint size, nuint firstSize) => Inner.TrySplit(address, size, firstSize);

    public bool TryMerge(void* first, nuint firstSize, void* second, nuint secondSize) => Inner.TryMerge(first, firstSize, second, secondSize);
}
