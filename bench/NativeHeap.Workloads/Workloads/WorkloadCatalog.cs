// WorkloadCatalog: the mimalloc-bench workloads in the order of its result tables, by name.
namespace NativeHeap.Workloads.Workloads;

/// <summary>Creates the workloads by name at a size.</summary>
public static class WorkloadCatalog
{
    /// <summary>Every workload name, in table order.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. All(BenchSize.Tiny).Select(w => w.Name)];

    /// <summary>All workloads at <paramref name="size"/>.</summary>
    public static IReadOnlyList<Workload> All(BenchSize size) =>
    [
        new Larson(size, sized: false),
        new Larson(size, sized: true),
        new MStress(size),
        new RpTest(size),
        new XMallocTest(size),
        new CacheLocality(size, scratch: true, multiThreaded: false),
        new CacheLocality(size, scratch: true, multiThreaded: true),
        new CacheLocality(size, scratch: false, multiThreaded: false),
        new CacheLocality(size, scratch: false, multiThreaded: true),
        new GlibcSimple(size),
        new GlibcThread(size),
        new AllocTest(size, multiThreaded: false),
        new AllocTest(size, multiThreaded: true),
        new MallocLarge(size),
        new MallocLargeHuge(size),
        new MLeak(size, hundred: false),
        new MLeak(size, hundred: true),
    ];

    /// <summary>The workload called <paramref name="name"/> at <paramref name="size"/>, or null.</summary>
    public static Workload? Find(string name, BenchSize size) =>
        All(size).FirstOrDefault(w => string.Equals(w.Name, name, StringComparison.OrdinalIgnoreCase));
}
