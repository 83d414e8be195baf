// NativeHeap.MappedKv: a persistent key-value map kept in a mapped-heap file across runs.
//   dotnet run --project samples/NativeHeap.MappedKv -- FILE put KEY VALUE
//   dotnet run --project samples/NativeHeap.MappedKv -- FILE get KEY
//   dotnet run --project samples/NativeHeap.MappedKv -- FILE del KEY
//   dotnet run --project samples/NativeHeap.MappedKv -- FILE list
// Each run attaches the heap (creating the file the first time), finds the map through a named
// root, does its one operation, and detaches. `nheap heap info FILE` shows the heap afterwards.
using NativeHeap.Mapped;
using NativeHeap.MappedKv;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: MappedKv FILE put KEY VALUE | get KEY | del KEY | list");
    return 2;
}
var options = new MappedHeapOptions { MaxSize = 64L << 20, InitialSize = 256 << 10, AllowRelocation = true };
if (!MappedHeap.TryAttach(args[0], options, out MappedHeap? heap, out MappedHeapFailure failure))
{
    Console.Error.WriteLine($"cannot open {args[0]}: {failure}");
    return 1;
}
using (heap)
{
    if (!heap!.WasCleanlyClosed) Console.Error.WriteLine("note: the last writer did not detach cleanly; the heap was recovered");
    PersistentMap? map = PersistentMap.Open(heap);
    if (map == null)
    {
        Console.Error.WriteLine($"cannot create the map: {heap.LastError}");
        return 1;
    }
    map.Runs++;
    switch (args[1])
    {
        case "put" when args.Length == 4:
            if (!map.Put(args[2], args[3])) { Console.Error.WriteLine($"put failed: {heap.LastError}"); return 1; }
            Console.WriteLine($"{args[2]} = {args[3]} ({map.Count} keys, run {map.Runs})");
            return 0;
        case "get" when args.Length == 3:
            string? value = map.Get(args[2]);
            Console.WriteLine(value ?? "(not found)");
            return value == null ? 1 : 0;
        case "del" when args.Length == 3:
            bool removed = map.Remove(args[2]);
            Console.WriteLine(removed ? "removed" : "(not found)");
            return removed ? 0 : 1;
        case "list":
            foreach (var pair in map.All()) Console.WriteLine($"{pair.Key} = {pair.Value}");
            Console.WriteLine($"({map.Count} keys, run {map.Runs})");
            return 0;
        default:
            Console.Error.WriteLine("usage: MappedKv FILE put KEY VALUE | get KEY | del KEY | list");
            return 2;
    }
}
