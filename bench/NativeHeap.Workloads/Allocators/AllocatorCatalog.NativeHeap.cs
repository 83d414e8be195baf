// AllocatorCatalog.NativeHeap: plugs NativeHeap's binding into the catalog's partial hook.
namespace NativeHeap.Workloads.Allocators;

/// <summary>Hooks NativeHeap into the catalog.</summary>
public static partial class AllocatorCatalog
{
    static partial void CreateNativeHeap(ref AllocatorBinding? binding) => binding = new NativeHeapBinding();
}
