// LibraryInitializer: work done once when the library's runtime starts, which native/nh_init.c makes
// happen at load time with the caller's errno saved around it.
//
// The static constructors of the heap's types map memory through libc (StaticMemory, the page map's
// reservation), and their .NET stubs clear errno. The exports' thread-cache paths touch those types
// without any errno handling (CBoundary), so the constructors must not run inside such a call: they
// run here instead, before any export is called.
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using NativeHeap.Core;

namespace NativeHeap.Native.Exports;

internal static class LibraryInitializer
{
    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255:The 'ModuleInitializer' attribute should not be used in libraries",
        Justification = "A NativeAOT C library: this runs when the runtime starts, from the library's ELF constructor.")]
    internal static void RunStaticConstructors()
    {
        RuntimeHelpers.RunClassConstructor(typeof(Heap).TypeHandle);
        RuntimeHelpers.RunClassConstructor(typeof(PageMap).TypeHandle);
        RuntimeHelpers.RunClassConstructor(typeof(SizeClasses).TypeHandle);
    }
}
