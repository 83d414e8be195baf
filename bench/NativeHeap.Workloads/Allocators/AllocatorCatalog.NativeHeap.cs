// AllocatorCatalog.NativeHeap: plugs NativeHeap's binding into the catalog's partial hook.
using NativeHeap;

namespace NativeHeap.Workloads.Allocators;

/// <summary>Hooks NativeHeap into the catalog.</summary>
public static partial class AllocatorCatalog
{
    private static partial void CreateNativeHeap(ref AllocatorBinding? binding, bool coreV2, out string reason)
    {
        reason = "";
        bool sharded = Heap.ActiveCore == HeapCore.Sharded;
        if (coreV2 != sharded)
        {
            reason = coreV2
                ? $"{NativeHeapV2Name} needs the process to start with NATIVEHEAP_CONF={NativeHeapV2Conf} (nheap bench sets it for its child processes)"
                : $"{NativeHeapName} (the jemalloc core) cannot be measured in a process started with {NativeHeapV2Conf}";
            return;
        }
        binding = new NativeHeapBinding(coreV2 ? NativeHeapV2Name : NativeHeapName);
    }
}
