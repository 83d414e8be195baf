// AllocatorCatalog: the allocators the harness can measure, by name: NativeHeap first (when it is
// built in) and then the peers. A missing peer is reported with the apt-get line that brings it.
namespace NativeHeap.Workloads.Allocators;

/// <summary>Finds and loads allocators by name.</summary>
public static partial class AllocatorCatalog
{
    /// <summary>The name of NativeHeap's general heap in tables and on the command line.</summary>
    public const string NativeHeapName = "nativeheap";

    /// <summary>Every allocator name the harness knows, in table order.</summary>
    public static IReadOnlyList<string> Names { get; } =
        [NativeHeapName, .. PeerDefinition.All.Select(p => p.Name)];

    private static readonly Dictionary<string, AllocatorBinding> s_loaded = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Loads the allocator called <paramref name="name"/>; on failure <paramref name="reason"/> says why.</summary>
    public static bool TryGet(string name, out AllocatorBinding? binding, out string reason)
    {
        lock (s_loaded)
        {
            if (s_loaded.TryGetValue(name, out binding))
            {
                reason = "";
                return true;
            }
            if (string.Equals(name, NativeHeapName, StringComparison.OrdinalIgnoreCase))
            {
                AllocatorBinding? heap = null;
                CreateNativeHeap(ref heap);
                if (heap is null)
                {
                    reason = "NativeHeap's general heap (NativeHeap.Heap) is not built into this harness yet";
                    return false;
                }
                binding = heap;
            }
            else
            {
                PeerDefinition? definition = PeerDefinition.All.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));
                if (definition is null)
                {
                    reason = $"unknown allocator '{name}' (known: {string.Join(", ", Names)})";
                    return false;
                }
                if (!PeerBinding.TryLoad(definition, out PeerBinding? peer, out reason))
                {
                    return false;
                }
                binding = peer!;
            }
            s_loaded[name] = binding;
            reason = "";
            return true;
        }
    }

    /// <summary>Filled in by NativeHeapAllocator.cs when the general heap is compiled in.</summary>
    static partial void CreateNativeHeap(ref AllocatorBinding? binding);
}
