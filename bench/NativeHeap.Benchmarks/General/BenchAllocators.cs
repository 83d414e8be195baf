// BenchAllocators: the allocators the micro-benchmarks compare (NativeHeap when built in, NativeMemory,
// glibc, jemalloc, mimalloc, tcmalloc: whichever load here) and their bindings.
using NativeHeap.Workloads.Allocators;

namespace NativeHeap.Benchmarks.General;

/// <summary>Allocator names for [ParamsSource] and job dispatch.</summary>
public static class BenchAllocators
{
    /// <summary>The .NET NativeMemory baseline's name.</summary>
    public const string NativeMemoryName = "nativememory";

    /// <summary>Every allocator that loads in this process, NativeMemory included.</summary>
    public static IEnumerable<string> All() => Loadable(includeNativeMemory: true);

    /// <summary>Every allocator that loads here and has aligned allocation with plain free (not NativeMemory).</summary>
    public static IEnumerable<string> WithAlignedAlloc() => Loadable(includeNativeMemory: false);

    private static IEnumerable<string> Loadable(bool includeNativeMemory)
    {
        foreach (string name in AllocatorCatalog.Names)
        {
            if (AllocatorCatalog.TryGet(name, out _, out string reason))
            {
                yield return name;
            }
            else
            {
                Console.Error.WriteLine($"// {name} not benchmarked: {reason}");
            }
            if (includeNativeMemory && name == AllocatorCatalog.NativeHeapName)
            {
                yield return NativeMemoryName;
            }
        }
    }

    /// <summary>The binding of the allocator called <paramref name="name"/> (NativeMemory included).</summary>
    public static AllocatorBinding Get(string name)
    {
        if (name == NativeMemoryName)
        {
            return new NativeMemoryBinding();
        }
        if (!AllocatorCatalog.TryGet(name, out AllocatorBinding? binding, out string reason))
        {
            throw new InvalidOperationException(reason);
        }
        return binding!;
    }
}
