// TaggedWord: the 64-bit words that the lock-free heap compares and swaps.
//
// A tagged word packs a 32-bit *offset* (in 16-byte granules from the heap's mapping base; 0 means
// "empty") in the low half and a 32-bit *tag* in the high half. Every successful compare-and-swap
// on a tagged word adds one to the tag, so a word that changed from A to B and back to A between a
// thread's read and its CAS no longer compares equal (the ABA problem), unless exactly 2^32
// successful swaps happened in between, which would take a preempted thread more than ten seconds
// of uninterrupted swaps on one head at today's ~9 ns per CAS. .NET has no 128-bit CAS, and
// offsets instead of pointers are what make a 64-bit word large enough.
using System.Runtime.CompilerServices;

namespace NativeHeap.LockFree;

internal static class TaggedWord
{
    /// <summary>One unit of tag, in the high half of the word.</summary>
    internal const ulong TagOne = 1UL << 32;

    /// <summary>Mask of the tag half.</summary>
    internal const ulong TagMask = 0xFFFF_FFFF_0000_0000UL;

    /// <summary>The offset half of a tagged word.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static uint Offset(ulong word) => (uint)word;

    /// <summary>The tag half of a tagged word.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static uint Tag(ulong word) => (uint)(word >> 32);

    /// <summary>The successor of <paramref name="old"/> that holds <paramref name="offset"/>: tag + 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong Next(ulong old, uint offset) => ((old + TagOne) & TagMask) | offset;
}
