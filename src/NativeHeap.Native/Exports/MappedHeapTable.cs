// MappedHeapTable: the mapped heaps attached through the C ABI, keyed by their malloc descriptor.
//
// Terms: a "descriptor" (mmalloc's md) is the heap's base address in this process, as in GNU mmalloc,
// where the descriptor points at the region's header. C only ever holds that address, never a GCHandle:
// the table holds the MappedHeap objects, and removing an entry is all detaching needs to do on our
// side. Invariants: no two live entries share a descriptor (an entry whose heap is already unmapped
// is dropped when a new heap lands at its address); readers see an immutable array snapshot, so
// lookups take no lock; writers copy under s_lock.
using NativeHeap.Mapped;

namespace NativeHeap.Native.Exports;

/// <summary>Attached mapped heaps by descriptor (base address).</summary>
internal static unsafe class MappedHeapTable
{
    private readonly record struct Entry(nint Descriptor, MappedHeap Heap);

    private static readonly Lock s_lock = new();
    private static Entry[] s_entries = [];

    /// <summary>Registers a freshly attached heap; returns its descriptor.</summary>
    internal static void* Add(MappedHeap heap)
    {
        nint md = (nint)heap.Base;
        lock (s_lock)
        {
            var list = new List<Entry>(s_entries.Length + 1);
            foreach (Entry e in s_entries)
                if (!(e.Descriptor == md && e.Heap.Base == null)) list.Add(e);
            System.Diagnostics.Debug.Assert(list.TrueForAll(e => e.Descriptor != md), "two attached heaps at one address");
            list.Add(new Entry(md, heap));
            Volatile.Write(ref s_entries, list.ToArray());
        }
        return (void*)md;
    }

    /// <summary>The heap with descriptor <paramref name="md"/>, or null when none is registered.</summary>
    internal static MappedHeap? Find(void* md)
    {
        Entry[] entries = Volatile.Read(ref s_entries);
        for (int i = 0; i < entries.Length; i++)
            if (entries[i].Descriptor == (nint)md) return entries[i].Heap;
        return null;
    }

    /// <summary>Forgets <paramref name="heap"/> (after it has been detached).</summary>
    internal static void Remove(MappedHeap heap)
    {
        lock (s_lock)
            Volatile.Write(ref s_entries, Array.FindAll(s_entries, e => !ReferenceEquals(e.Heap, heap)));
    }
}
