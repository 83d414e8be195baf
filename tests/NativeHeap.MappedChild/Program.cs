// NativeHeap.MappedChild: the second process of the mapped-heap tests.
//   write-raw FILE BASE      create a heap at BASE whose key 0 points to a node holding a raw pointer
//   read-raw FILE            reopen it (no relocation) and print what the raw pointer leads to
//   try-open FILE            attach for writing and print the outcome (OK or the error code)
//   hold FILE                attach, print HELD, wait for a line on stdin, detach
//   churn FILE SEQBASE SEED  allocate/free/realloc/publish forever; prints "P slot seq" after each
//                            publication; the crash test kills it with SIGKILL at random moments
using NativeHeap.Mapped;
using NativeHeap.MappedChild;

unsafe
{
    if (args.Length < 2) { Console.Error.WriteLine("usage: see Program.cs"); return 2; }
    string file = args[1];
    switch (args[0])
    {
        case "write-raw":
        {
            var options = new MappedHeapOptions { BaseAddress = (nint)Convert.ToInt64(args[2], 16), MaxSize = 16 << 20 };
            if (!MappedHeap.TryAttach(file, options, out MappedHeap? heap, out MappedHeapFailure f)) { Console.WriteLine("FAIL " + f); return 1; }
            byte* text = (byte*)heap!.Allocate(64);
            "written by the child"u8.CopyTo(new Span<byte>(text, 64));
            text[20] = 0;
            byte** node = (byte**)heap.Allocate(16);
            node[0] = text; // a raw pointer, valid only at the recorded base
            heap.TrySetKey(0, node);
            Console.WriteLine($"OK {(nint)heap.Base:x}");
            heap.TryDetach();
            return 0;
        }
        case "read-raw":
        {
            if (!MappedHeap.TryAttach(file, new MappedHeapOptions { CreateIfMissing = false }, out MappedHeap? heap, out MappedHeapFailure f)) { Console.WriteLine("FAIL " + f.Code); return 1; }
            byte** node = (byte**)heap!.GetKey(0);
            string text = new string((sbyte*)node[0]);
            Console.WriteLine($"OK {(nint)heap.Base:x} {text}");
            heap.TryDetach();
            return 0;
        }
        case "try-open":
        {
            if (!MappedHeap.TryAttach(file, new MappedHeapOptions { CreateIfMissing = false }, out MappedHeap? heap, out MappedHeapFailure f)) { Console.WriteLine(f.Code); return 0; }
            Console.WriteLine("OK");
            heap!.TryDetach();
            return 0;
        }
        case "hold":
        {
            if (!MappedHeap.TryAttach(file, null, out MappedHeap? heap, out MappedHeapFailure f)) { Console.WriteLine("FAIL " + f); return 1; }
            Console.WriteLine("HELD");
            Console.In.ReadLine();
            heap!.TryDetach();
            return 0;
        }
        case "churn":
            return Churn.Run(file, long.Parse(args[2]), int.Parse(args[3]));
        default:
            Console.Error.WriteLine("unknown command " + args[0]);
            return 2;
    }
}
