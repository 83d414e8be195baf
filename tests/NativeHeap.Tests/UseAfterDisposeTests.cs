using NativeHeap.General;
using NativeHeap.Kinds;
using NativeHeap.Mapped;

namespace NativeHeap.Tests;

/// <summary>
/// Issue 15: every heap type but LockFreeHeap (see its own tests) raises ObjectDisposedException when
/// used after Dispose / detach / destroy, member by member, and never crashes.
/// </summary>
public unsafe class UseAfterDisposeTests
{
    public static TheoryData<string> MappedMembers() =>
    [
        "Allocate", "AllocatePageAligned", "TryFree", "Reallocate", "UsableSize", "TrySetKey", "GetKey", "TrySetRoot",
        "GetRoot", "TryRemoveRoot", "GetRoots", "OffsetOf", "PointerAt", "TryFlush", "TryTrim", "GetStats", "Check",
    ];

    [Theory]
    [MemberData(nameof(MappedMembers))]
    public void MappedHeapMemberAfterDispose(string member)
    {
        Assert.True(MappedHeap.TryAttachAnonymous(new MappedHeapOptions { MaxSize = 4 << 20 }, out MappedHeap? heap, out MappedHeapFailure f), f.ToString());
        byte* p = (byte*)heap!.Allocate(100);
        Assert.True(heap.TrySetKey(0, p));
        heap.Dispose();
        Action call = member switch
        {
            "Allocate" => () => heap.Allocate(10),
            "AllocatePageAligned" => () => heap.AllocatePageAligned(10),
            "TryFree" => () => heap.TryFree(p),
            "Reallocate" => () => heap.Reallocate(p, 200),
            "UsableSize" => () => heap.UsableSize(p),
            "TrySetKey" => () => heap.TrySetKey(1, p),
            "GetKey" => () => heap.GetKey(0),
            "TrySetRoot" => () => heap.TrySetRoot("r", p),
            "GetRoot" => () => heap.GetRoot("r"),
            "TryRemoveRoot" => () => heap.TryRemoveRoot("r"),
            "GetRoots" => () => heap.GetRoots(),
            "OffsetOf" => () => heap.OffsetOf(p),
            "PointerAt" => () => heap.PointerAt(65_536 + 16),
            "TryFlush" => () => heap.TryFlush(),
            "TryTrim" => () => heap.TryTrim(out _),
            "GetStats" => () => heap.GetStats(),
            "Check" => () => heap.Check(out _),
            _ => throw new ArgumentException(member),
        };
        Assert.Throws<ObjectDisposedException>(call);
        // Dispose again and TryDetach are the documented no-op / Try forms.
        heap.Dispose();
        Assert.False(heap.TryDetach());
        Assert.Equal(MappedHeapError.Detached, heap.LastError);
    }

    public static TheoryData<string> KindMembers() =>
    [
        "Malloc", "MallocCached", "Calloc", "AlignedAlloc", "PosixMemalign", "Realloc", "FreeBlock", "SetUsagePolicy",
        "SetDecay", "Purge", "GetStats",
    ];

    [Theory]
    [MemberData(nameof(KindMembers))]
    public void MemoryKindMemberAfterDestroy(string member)
    {
        Assert.True(MemoryKind.TryCreate("disposed-" + member, OsMemorySource.Instance, null, out MemoryKind? kind, out string error), error);
        // Fill this thread's cache of the kind, so a cached pop after the destroy would hand out released memory.
        var blocks = new List<nint>();
        for (int i = 0; i < 50; i++) blocks.Add((nint)kind!.Malloc(100));
        foreach (nint b in blocks) MemoryKind.Free((void*)b);
        void* live = kind!.Malloc(100);
        Assert.True(kind.TryDestroy(out error), error);
        Action call = member switch
        {
            "Malloc" => () => kind.Malloc(20_000_000),
            "MallocCached" => () => kind.Malloc(100),
            "Calloc" => () => kind.Calloc(10, 10),
            "AlignedAlloc" => () => kind.AlignedAlloc(64, 100),
            "PosixMemalign" => () => kind.PosixMemalign(out _, 64, 100),
            "Realloc" => () => kind.Realloc(live, 1000),
            "FreeBlock" => () => kind.FreeBlock(live),
            "SetUsagePolicy" => () => kind.SetUsagePolicy(MemoryUsagePolicy.Conservative),
            "SetDecay" => () => kind.SetDecay(0, 0),
            "Purge" => () => kind.Purge(),
            "GetStats" => () => kind.GetStats(),
            _ => throw new ArgumentException(member),
        };
        Assert.Throws<ObjectDisposedException>(call);
        Assert.False(kind.CheckAvailable(out string reason));
        Assert.Contains("destroyed", reason);
        Assert.False(kind.TryDestroy(out _));
        Heap.Validate();
    }
}
