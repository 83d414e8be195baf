using NativeHeap.General;
using NativeHeap.Kinds;
using NativeHeap.LockFree;
using NativeHeap.Mapped;

namespace NativeHeap.Tests.Safe;

/// <summary>One heap of each front end, created fresh (so a test may dispose it), as INativeHeap.</summary>
internal static class SafeTestHeaps
{
    public static readonly TheoryData<string> Names = new() { "general", "kind", "mapped", "lockfree" };

    private static int s_kinds;

    /// <summary>A new heap of the named front end; the general heap is the shared one (never disposed).</summary>
    public static INativeHeap Create(string name)
    {
        switch (name)
        {
            case "general":
                return GeneralHeap.Instance;
            case "kind":
                Assert.True(MemoryKind.TryCreate($"safe-{Interlocked.Increment(ref s_kinds)}", OsMemorySource.Instance,
                    new KindOptions { ArenaPolicy = KindArenaPolicy.Single }, out MemoryKind? kind, out string error), error);
                return kind!;
            case "mapped":
                Assert.True(MappedHeap.TryAttachAnonymous(new MappedHeapOptions { MaxSize = 64 << 20 }, out MappedHeap? mapped, out MappedHeapFailure f), f.ToString());
                return mapped!;
            case "lockfree":
                var lf = new LockFreeHeap(4 << 20);
                lf.EnableMmap();
                return lf;
            default:
                throw new ArgumentException(name);
        }
    }

    /// <summary>Disposes a heap made by <see cref="Create"/> (the general heap stays).</summary>
    public static void Dispose(INativeHeap heap)
    {
        switch (heap)
        {
            case MemoryKind k:
                if (!k.IsDestroyed) Assert.True(k.TryDestroy(out string error), error);
                break;
            case IDisposable d:
                d.Dispose();
                break;
        }
    }

    /// <summary>True for heaps that can be disposed (all but the general heap).</summary>
    public static bool Disposable(string name) => name != "general";
}
