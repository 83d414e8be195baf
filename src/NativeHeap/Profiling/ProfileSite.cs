// ProfileSite and StackKey: one interned allocation site of the heap profiler and its hash key.
//
// Terms: a StackKey is the identity of a call stack — for managed stacks (method handle, IL
// offset) pairs, for native stacks return addresses — plus the thread's prof name. Its hash is
// computed once, so finding a hot site is one dictionary lookup. A ProfileSite accumulates weighted
// counts (Sampler's weights: estimated blocks and bytes) under Sampler's lock.
using System.Reflection;

namespace NativeHeap.Profiling;

internal sealed class StackKey : IEquatable<StackKey>
{
    public StackKey(nint[] ids, MethodBase?[]? methods, string? thread)
    {
        Ids = ids;
        Methods = methods;
        Thread = thread;
        var h = new HashCode();
        foreach (nint id in ids) h.Add(id);
        h.Add(thread);
        _hash = h.ToHashCode();
    }

    private readonly int _hash;

    /// <summary>Frame identities, innermost first (managed: pairs of method handle and IL offset; native: return addresses).</summary>
    public nint[] Ids { get; }

    /// <summary>The managed frames' methods (null for native stacks).</summary>
    public MethodBase?[]? Methods { get; }

    /// <summary>thread.prof.name of the allocating thread.</summary>
    public string? Thread { get; }

    public bool Equals(StackKey? other)
        => other != null && other._hash == _hash && other.Thread == Thread && other.Ids.AsSpan().SequenceEqual(Ids);

    public override bool Equals(object? obj) => Equals(obj as StackKey);

    public override int GetHashCode() => _hash;
}

internal sealed class ProfileSite(StackKey key, HeapProfileFrame[] frames)
{
    public StackKey Key { get; } = key;
    public HeapProfileFrame[] Frames { get; } = frames;
    public long LiveSamples;
    public double LiveObjects, LiveBytes, AllocObjects, AllocBytes;

    public void AddLive(double objects, nuint size)
    {
        LiveSamples++;
        LiveObjects += objects;
        LiveBytes += objects * size;
        AllocObjects += objects;
        AllocBytes += objects * size;
    }

    public void RemoveLive(double objects, nuint size)
    {
        LiveSamples--;
        LiveObjects -= objects;
        LiveBytes -= objects * size;
        if (LiveSamples == 0)
        {
            LiveObjects = 0;      // no rounding residue once nothing lives
            LiveBytes = 0;
        }
    }

    public HeapProfileSite ToPublic()
        => new(Frames, Key.Thread, (long)Math.Round(LiveBytes), (long)Math.Round(LiveObjects),
            (long)Math.Round(AllocBytes), (long)Math.Round(AllocObjects), LiveSamples);
}
