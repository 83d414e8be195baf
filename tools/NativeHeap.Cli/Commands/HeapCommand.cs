using System.CommandLine;
using NativeHeap.Mapped;

namespace NativeHeap.Cli.Commands;

/// <summary>
/// <c>nheap heap info FILE</c> and <c>nheap heap check FILE</c>: inspect a mapped-heap file read-only
/// (shared lock, read-only mapping, relocation allowed since nothing is dereferenced).
/// Exit codes: 0 fine, 1 inconsistent, 2 the file cannot be opened as a heap, 3 locked by a writer.
/// </summary>
internal static unsafe class HeapCommand
{
    internal static Command Create()
    {
        var command = new Command("heap", "Inspect mapped-heap files (NativeHeap.Mapped)");
        command.Subcommands.Add(Info());
        command.Subcommands.Add(Check());
        return command;
    }

    private static Command Info()
    {
        var file = new Argument<string>("FILE") { Description = "the heap file" };
        var command = new Command("info", "Print a heap file's size, used and free bytes, fragmentation and roots") { file };
        command.SetAction(result =>
        {
            string path = result.GetValue(file)!;
            if (!TryOpen(path, out MappedHeap? heap, out int code)) return code;
            using (heap)
            {
                MappedHeapStats s = heap!.GetStats();
                Console.WriteLine($"file:            {path}");
                Console.WriteLine($"file size:       {s.FileSize:N0} bytes");
                Console.WriteLine($"region:          {s.RegionSize:N0} of at most {s.MaxSize:N0} bytes");
                Console.WriteLine($"used:            {s.UsedBytes:N0} bytes in {s.AllocatedBlocks:N0} blocks");
                Console.WriteLine($"free:            {s.FreeBytes:N0} bytes in {s.FreeBlocks:N0} blocks (largest {s.LargestFree:N0})");
                Console.WriteLine($"fragmentation:   {s.Fragmentation:P1}");
                Console.WriteLine($"recorded base:   0x{s.RecordedBase:x}");
                Console.WriteLine($"state:           {(s.WasClean ? "closed cleanly" : "unclean (a writer died; the next writable attach recovers it)")}, {s.UncleanOpens} recoveries so far");
                Console.WriteLine($"numbered keys:   {s.KeysSet} of {MappedHeap.KeyCount} set");
                for (int k = 0; k < MappedHeap.KeyCount; k++)
                {
                    void* p = heap.GetKey(k);
                    if (p != null) Console.WriteLine($"  key {k,2}        +0x{heap.OffsetOf(p):x}");
                }
                Console.WriteLine($"named roots:     {s.NamedRoots}");
                foreach (KeyValuePair<string, long> root in heap.GetRoots())
                    Console.WriteLine($"  {root.Key,-14} +0x{root.Value:x}");
            }
            return 0;
        });
        return command;
    }

    private static Command Check()
    {
        var file = new Argument<string>("FILE") { Description = "the heap file" };
        var command = new Command("check", "Walk every block of a heap file and report the first inconsistency") { file };
        command.SetAction(result =>
        {
            string path = result.GetValue(file)!;
            if (!TryOpen(path, out MappedHeap? heap, out int code)) return code;
            using (heap)
            {
                if (!heap!.Check(out string? problem))
                {
                    Console.WriteLine($"{path}: INCONSISTENT: {problem}");
                    return 1;
                }
                MappedHeapStats s = heap.GetStats();
                string scope = s.WasClean ? "blocks, roots and free lists" : "blocks and roots (free lists are rebuilt by the next writable attach after this unclean shutdown)";
                Console.WriteLine($"{path}: OK: {s.AllocatedBlocks + s.FreeBlocks:N0} blocks; checked {scope}");
                return 0;
            }
        });
        return command;
    }

    private static bool TryOpen(string path, out MappedHeap? heap, out int exitCode)
    {
        var options = new MappedHeapOptions { ReadOnly = true, AllowRelocation = true, CreateIfMissing = false };
        if (MappedHeap.TryAttach(path, options, out heap, out MappedHeapFailure failure))
        {
            exitCode = 0;
            return true;
        }
        Console.Error.WriteLine($"{path}: {failure}");
        exitCode = failure.Code == MappedHeapError.Locked ? 3 : 2;
        return false;
    }
}
