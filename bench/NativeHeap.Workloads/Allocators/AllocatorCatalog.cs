// AllocatorCatalog: the allocators the harness can measure, by name: NativeHeap first (when it is
// built in) and then the peers. A missing peer is reported with the apt-get line that brings it.
namespace NativeHeap.Workloads.Allocators;

/// <summary>Finds and loads allocators by name.</summary>
public static partial class AllocatorCatalog
{
    /// <summary>The name of NativeHeap's general heap in tables and on the command line.</summary>
    public const string NativeHeapName = "nativeheap";

    /// <summary>NativeHeap's general heap with core v2 (free-list sharding) behind its plain calls: a process started with NATIVEHEAP_CONF=core:sharded.</summary>
    public const string NativeHeapV2Name = "nativeheap-v2";

    /// <summary>The NATIVEHEAP_CONF pair a process measuring <see cref="NativeHeapV2Name"/> must start with.</summary>
    public const string NativeHeapV2Conf = "core:sharded";

    /// <summary>Every allocator name the harness knows, in table order.</summary>
    public static IReadOnlyList<string> Names { get; } =
        [NativeHeapName, NativeHeapV2Name, .. PeerDefinition.All.Select(p => p.Name)];

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
            bool v2 = string.Equals(name, NativeHeapV2Name, StringComparison.OrdinalIgnoreCase);
            if (v2 || string.Equals(name, NativeHeapName, StringComparison.OrdinalIgnoreCase))
            {
                AllocatorBinding? heap = null;
                CreateNativeHeap(ref heap, v2, out reason);
                if (heap is null && reason.Length != 0) return false;
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

    /// <summary>NativeHeap's binding (AllocatorCatalog.NativeHeap.cs); null with a reason when this process runs the other core.</summary>
    private static partial void CreateNativeHeap(ref AllocatorBinding? binding, bool coreV2, out string reason);
}
