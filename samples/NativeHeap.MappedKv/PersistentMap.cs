// PersistentMap: a string → string hash map that lives entirely inside a MappedHeap, found again
// through the named root "kv-map" on every run. All links are Offset<T>, so the file also works if it
// has to be opened at another address. Every change becomes visible with one 8-byte store (a bucket
// head or a next link), so a crash leaves either the old or the new map, never a torn one.
using NativeHeap.Mapped;
using System.Text;

namespace NativeHeap.MappedKv;

internal unsafe struct MapHeader
{
    public long Count;
    public long Runs;
    public int BucketCount;
    public int Padding; // keeps the bucket heads 8-byte aligned
    // followed by BucketCount Offset<Entry> heads
}

internal unsafe struct Entry
{
    public Offset<Entry> Next;
    public uint Hash;
    public int KeyLength;
    public int ValueLength;
    public int Padding; // keeps the key bytes 8-byte aligned
    // followed by key bytes, then value bytes
}

internal sealed unsafe class PersistentMap
{
    private const string RootName = "kv-map";
    private const int Buckets = 1024;
    private readonly MappedHeap _heap;
    private readonly MapHeader* _header;

    private PersistentMap(MappedHeap heap, MapHeader* header)
    {
        _heap = heap;
        _header = header;
    }

    /// <summary>Finds the map in the heap, or creates it on the first run.</summary>
    internal static PersistentMap? Open(MappedHeap heap)
    {
        var header = (MapHeader*)heap.GetRoot(RootName);
        if (header == null)
        {
            nuint size = (nuint)(sizeof(MapHeader) + Buckets * sizeof(Offset<Entry>));
            header = (MapHeader*)heap.Allocate(size);
            if (header == null) return null;
            new Span<byte>(header, (int)size).Clear();
            header->BucketCount = Buckets;
            header->Padding = 0;
            if (!heap.TrySetRoot(RootName, header)) return null; // publish only when fully initialised
        }
        return new PersistentMap(heap, header);
    }

    internal long Count => _header->Count;

    internal long Runs { get => _header->Runs; set => _header->Runs = value; }

    private Offset<Entry>* Heads => (Offset<Entry>*)(_header + 1);

    private static uint HashOf(ReadOnlySpan<byte> key)
    {
        uint h = 2166136261;
        foreach (byte b in key) h = (h ^ b) * 16777619;
        return h;
    }

    private static ReadOnlySpan<byte> KeyOf(Entry* e) => new((byte*)(e + 1), e->KeyLength);

    private static string ValueOf(Entry* e) => Encoding.UTF8.GetString((byte*)(e + 1) + e->KeyLength, e->ValueLength);

    internal string? Get(string key)
    {
        byte[] k = Encoding.UTF8.GetBytes(key);
        uint h = HashOf(k);
        for (Entry* e = Heads[h % (uint)_header->BucketCount].In(_heap); e != null; e = e->Next.In(_heap))
            if (e->Hash == h && KeyOf(e).SequenceEqual(k)) return ValueOf(e);
        return null;
    }

    /// <summary>Inserts or replaces; false when the heap is full (see the heap's LastError).</summary>
    internal bool Put(string key, string value)
    {
        byte[] k = Encoding.UTF8.GetBytes(key), v = Encoding.UTF8.GetBytes(value);
        uint h = HashOf(k);
        var e = (Entry*)_heap.Allocate((nuint)(sizeof(Entry) + k.Length + v.Length));
        if (e == null) return false;
        e->Hash = h;
        e->KeyLength = k.Length;
        e->ValueLength = v.Length;
        e->Padding = 0;
        k.CopyTo(new Span<byte>(e + 1, k.Length));
        v.CopyTo(new Span<byte>((byte*)(e + 1) + k.Length, v.Length));
        Entry* old = Unlink(k, h);
        Offset<Entry>* head = &Heads[h % (uint)_header->BucketCount];
        e->Next = *head;
        Volatile.Write(ref *(long*)head, Offset<Entry>.Of(_heap, e).Value); // publish
        if (old != null) _heap.TryFree(old);
        else _header->Count++;
        return true;
    }

    internal bool Remove(string key)
    {
        byte[] k = Encoding.UTF8.GetBytes(key);
        Entry* old = Unlink(k, HashOf(k));
        if (old == null) return false;
        _header->Count--;
        _heap.TryFree(old);
        return true;
    }

    private Entry* Unlink(byte[] k, uint h)
    {
        Offset<Entry>* link = &Heads[h % (uint)_header->BucketCount];
        for (Entry* e = link->In(_heap); e != null; link = &e->Next, e = link->In(_heap))
        {
            if (e->Hash == h && KeyOf(e).SequenceEqual(k))
            {
                Volatile.Write(ref *(long*)link, e->Next.Value); // one store removes it
                return e;
            }
        }
        return null;
    }

    internal IEnumerable<KeyValuePair<string, string>> All()
    {
        var list = new List<KeyValuePair<string, string>>();
        for (int b = 0; b < _header->BucketCount; b++)
            for (Entry* e = Heads[b].In(_heap); e != null; e = e->Next.In(_heap))
                list.Add(new(Encoding.UTF8.GetString(KeyOf(e)), ValueOf(e)));
        return list.OrderBy(p => p.Key, StringComparer.Ordinal);
    }
}
