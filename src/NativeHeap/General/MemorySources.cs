// MemorySources: the registry that lets native chunk headers name their managed IMemorySource by a
// small integer (a chunk cannot hold a managed reference). Id 0 is the OS source.
namespace NativeHeap.General;

internal static class MemorySources
{
    private static IMemorySource[] s_sources = [OsMemorySource.Instance];
    private static readonly Lock s_lock = new();

    internal static IMemorySource Get(int id) => Volatile.Read(ref s_sources)[id];

    internal static int Register(IMemorySource source)
    {
        lock (s_lock)
        {
            IMemorySource[] old = s_sources;
            int existing = Array.IndexOf(old, source);
            if (existing >= 0) return existing;
            var grown = new IMemorySource[old.Length + 1];
            old.CopyTo(grown, 0);
            grown[old.Length] = source;
            Volatile.Write(ref s_sources, grown);
            return old.Length;
        }
    }
}
