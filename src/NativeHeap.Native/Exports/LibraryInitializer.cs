// LibraryInitializer: work done once when the library's runtime starts, which native/nh_init.c makes
// happen at load time with the caller's errno saved around it.
//
// The static constructors of the heap's types map memory through libc (StaticMemory, the page map's
// reservation), and their .NET stubs clear errno. The exports' thread-cache paths touch those types
// without any errno handling (CBoundary), so the constructors must not run inside such a call: they
// run here instead, before any export is called.
//
// jemalloc's variables (native/nh_jemalloc.c): the program's malloc_conf string is applied here, before
// the heap's first use, as the base options NATIVEHEAP_CONF then overrides (jemalloc reads
// malloc_conf before MALLOC_CONF); the heap's messages are routed to malloc_message when the program
// sets it (read at each message).
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NativeHeap.Core;
using NativeHeap.General;

namespace NativeHeap.Native.Exports;

internal static unsafe class LibraryInitializer
{
    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255:The 'ModuleInitializer' attribute should not be used in libraries",
        Justification = "A NativeAOT C library: this runs when the runtime starts, from the library's ELF constructor.")]
    internal static void RunStaticConstructors()
    {
        HeapMessages.Sink = text => StatsOutput.Write(text, null, null);
        ApplyMallocConf(StatsOutput.nh_malloc_conf_value());
        RuntimeHelpers.RunClassConstructor(typeof(Heap).TypeHandle);
        RuntimeHelpers.RunClassConstructor(typeof(PageMap).TypeHandle);
        RuntimeHelpers.RunClassConstructor(typeof(SizeClasses).TypeHandle);
    }

    /// <summary>Makes the program's malloc_conf the heap's base options (bad pairs are reported and skipped).</summary>
    internal static void ApplyMallocConf(byte* conf)
    {
        if (conf == null) return;
        string text = Marshal.PtrToStringUTF8((nint)conf) ?? "";
        if (text.Length == 0) return;
        var options = new HeapOptions();
        options.Apply(text, message => HeapMessages.Write(message.Replace("<nativeheap>: ", "<nativeheap>: malloc_conf: ") + "\n"));
        try
        {
            Heap.Configure(options);
        }
        catch (ArgumentException e)
        {
            HeapMessages.Write($"<nativeheap>: malloc_conf \"{text}\" ignored: {e.Message}\n");
        }
    }
}
