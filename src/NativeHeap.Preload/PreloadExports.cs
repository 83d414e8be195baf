// PreloadExports: the C# entry points of libnativeheap-preload.so. The bootstrap shim
// (native/preload/shim.c) owns the public malloc symbols and calls these only when the runtime is up
// and the calling thread is not already inside it; everything else (pre-start calls, calls made by the
// runtime itself, pointers glibc owns) the shim routes to glibc without entering C#.
//
// Terms: "ours" = a pointer whose 4 MiB granule is mapped in NativeHeap's page map; the shim tests
// that itself with the table address nhp_start returns. Every pointer passed to nhp_free, nhp_realloc
// and nhp_usable_size is ours (the shim guarantees it), so Heap never sees a foreign pointer here.
// A misuse inside our own blocks (double free in checked mode, interior pointer) still throws
// HeapMisuseException, which the runtime turns into a fail-fast with the message: an abort, like
// glibc's "free(): invalid pointer".
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using NativeHeap.Core;

namespace NativeHeap.Preload;

internal static unsafe class PreloadExports
{
    private static int s_exitDone;

    /// <summary>
    /// Starts the heap (the program's malloc_conf <paramref name="conf"/> first when it defines one,
    /// then NATIVEHEAP_CONF on top, jemalloc's order) and returns the page map's table, which the shim
    /// reads to decide who owns a pointer. Called once, from the shim's library constructor.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "nhp_start")]
    private static void** Start(byte* conf)
    {
        string? text = conf == null ? null : Marshal.PtrToStringUTF8((nint)conf);
        // The drop-in keeps jemalloc's tcache_max (32 KiB) unless malloc_conf / NATIVEHEAP_CONF raise it:
        // with the heap's 1 MiB default the fork test (ForkWhileThreadsAllocate) saw a child hang in the
        // post-fork handler in 3 of 63 runs (see docs/preload.md, "Limits"); cause not found yet.
        var options = new HeapOptions { ThreadCacheMax = 32 * 1024 };
        if (!string.IsNullOrEmpty(text))
            options.Apply(text, message => Console.Error.WriteLine(message.Replace("<nativeheap>: ", "<nativeheap>: malloc_conf: ")));
        try
        {
            Heap.Configure(options);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"<nativeheap>: malloc_conf \"{text}\" ignored: {e.Message}");
            Heap.Configure(new HeapOptions { ThreadCacheMax = 32 * 1024 });
        }
        _ = Heap.Options;                     // initialises the heap and applies NATIVEHEAP_CONF
        Heap.Free(Heap.Malloc(1));            // creates this thread's cache while we are in control
        return PageMap.s_map;
    }

    /// <summary>Number of entries in the page map (granules of 2^<see cref="PageMap.LgGranule"/> bytes).</summary>
    [UnmanagedCallersOnly(EntryPoint = "nhp_page_map_entries")]
    private static nuint PageMapEntries() => PageMap.Entries;

    /// <summary>log2 of the page map's granule.</summary>
    [UnmanagedCallersOnly(EntryPoint = "nhp_page_map_shift")]
    private static int PageMapShift() => PageMap.LgGranule;

    /// <summary>pthread_atfork prepare: takes every heap lock so the child never inherits one held mid-operation.</summary>
    [UnmanagedCallersOnly(EntryPoint = "nhp_fork_prepare")]
    private static void ForkPrepare() => Heap.LockAllForFork();

    /// <summary>pthread_atfork parent and child: releases the locks taken before fork.</summary>
    [UnmanagedCallersOnly(EntryPoint = "nhp_fork_release")]
    private static void ForkRelease() => Heap.UnlockAllAfterFork();

    [UnmanagedCallersOnly(EntryPoint = "nhp_malloc")]
    private static void* Malloc(nuint size) => Heap.Malloc(size);

    [UnmanagedCallersOnly(EntryPoint = "nhp_calloc")]
    private static void* Calloc(nuint count, nuint size) => Heap.Calloc(count, size);

    /// <summary>realloc of a pointer that is ours (or null); size 0 is handled by the shim.</summary>
    [UnmanagedCallersOnly(EntryPoint = "nhp_realloc")]
    private static void* Realloc(void* ptr, nuint size) => Heap.Realloc(ptr, size);

    [UnmanagedCallersOnly(EntryPoint = "nhp_free")]
    private static void Free(void* ptr) => Heap.Free(ptr);

    /// <summary>Frees a chain of our blocks linked through their first word (frees the shim had to defer).</summary>
    [UnmanagedCallersOnly(EntryPoint = "nhp_free_chain")]
    private static void FreeChain(void* head)
    {
        while (head != null)
        {
            void* next = *(void**)head;
            Heap.Free(head);
            head = next;
        }
    }

    /// <summary>Aligned allocation; the alignment is a power of two (the shim checks).</summary>
    [UnmanagedCallersOnly(EntryPoint = "nhp_aligned_alloc")]
    private static void* AlignedAlloc(nuint alignment, nuint size) => Heap.AlignedAlloc(alignment, size);

    [UnmanagedCallersOnly(EntryPoint = "nhp_usable_size")]
    private static nuint UsableSize(void* ptr) => Heap.UsableSize(ptr);

    /// <summary>1 when NATIVEHEAP_CONF asked for statistics at exit (stats_print), else 0.</summary>
    [UnmanagedCallersOnly(EntryPoint = "nhp_stats_print")]
    private static int StatsPrint() => Heap.Options.StatsPrint ? 1 : 0;

    /// <summary>
    /// Called once at process exit (the shim's destructor): writes the statistics to
    /// <paramref name="fd"/>, the shim's duplicate of the stderr the program started with (coreutils
    /// close stderr before exiting). Does nothing unless stats_print is on.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "nhp_exit")]
    private static void Exit(int fd)
    {
        if (Interlocked.Exchange(ref s_exitDone, 1) != 0 || fd < 0 || !Heap.Options.StatsPrint) return;
        try
        {
            using var stream = new FileStream(new SafeFileHandle(fd, ownsHandle: false), FileAccess.Write, 1);
            stream.Write(Encoding.UTF8.GetBytes(Heap.GetStats().ToString()));
        }
        catch (IOException)
        {
            // The descriptor is gone or not writable: nowhere to print.
        }
    }
}
