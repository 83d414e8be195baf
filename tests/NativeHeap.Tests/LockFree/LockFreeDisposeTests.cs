// Use after Dispose (issue 15, item 5): every public instance member of LockFreeHeap throws
// ObjectDisposedException, none touches the unmapped memory, and Dispose itself is idempotent.
using NativeHeap.LockFree;

namespace NativeHeap.Tests.LockFree;

public sealed unsafe class LockFreeDisposeTests
{
    public static TheoryData<string> Members =>
        ["Allocate", "AllocateLarge", "Free", "FreeNull", "TryFree", "EnableMmap", "IsMmapEnabled", "HeapSize", "ShardCount", "ArenaContains", "Validate"];

    [Theory]
    [MemberData(nameof(Members))]
    public void EveryMemberThrowsObjectDisposedException(string member)
    {
        var heap = new LockFreeHeap(LockFreeHeap.MinHeapSize, shards: 1);
        heap.EnableMmap();
        void* p = heap.Allocate(64);
        Assert.True(p != null);
        heap.Dispose();
        var e = Assert.Throws<ObjectDisposedException>(() => Use(heap, member, p));
        Assert.Contains(nameof(LockFreeHeap), e.Message);
        heap.Dispose(); // a second Dispose does nothing
    }

    private static void Use(LockFreeHeap heap, string member, void* p)
    {
        switch (member)
        {
            case "Allocate": heap.Allocate(16); break;
            case "AllocateLarge": heap.Allocate(1 << 20); break;
            case "Free": heap.Free(p); break;
            case "FreeNull": heap.Free(null); break;
            case "TryFree": heap.TryFree(p); break;
            case "EnableMmap": heap.EnableMmap(); break;
            case "IsMmapEnabled": _ = heap.IsMmapEnabled; break;
            case "HeapSize": _ = heap.HeapSize; break;
            case "ShardCount": _ = heap.ShardCount; break;
            case "ArenaContains": heap.ArenaContains(p); break;
            case "Validate": heap.Validate(); break;
            default: throw new ArgumentException(member);
        }
    }

    [Fact]
    public void StaticMembersAndOtherHeapsStillWork()
    {
        var gone = new LockFreeHeap(LockFreeHeap.MinHeapSize, shards: 1);
        using var alive = new LockFreeHeap(LockFreeHeap.MinHeapSize, shards: 1);
        gone.Dispose();
        void* p = alive.Allocate(100);
        Assert.True(p != null);
        Assert.True(alive.TryFree(p));
        Assert.Equal(3, LockFreeHeap.SizeClassOf(100));
        Assert.True(LockFreeHeap.IsLockFree);
    }
}
