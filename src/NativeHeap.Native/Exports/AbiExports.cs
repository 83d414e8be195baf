// AbiExports: exports about the library itself rather than an allocator: its version, and an empty
// function whose only cost is the reverse P/Invoke transition (measured by bench/c/nh_bench.c).
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NativeHeap.Native.Exports;

/// <summary>C exports describing the library.</summary>
internal static unsafe class AbiExports
{
    /// <summary>const char *nh_version(void): "NativeHeap &lt;major.minor&gt;", a static string.</summary>
    [UnmanagedCallersOnly(EntryPoint = "nh_version")]
    internal static byte* Version()
    {
        // A UTF-8 literal lives in the image's read-only data: never moved, never freed.
        ReadOnlySpan<byte> text = "NativeHeap 1.0\0"u8;
        return (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(text));
    }

    /// <summary>void nh_abi_nop(void): does nothing; C callers time it to see the transition cost alone.</summary>
    [UnmanagedCallersOnly(EntryPoint = "nh_abi_nop")]
    internal static void Nop()
    {
    }
}
