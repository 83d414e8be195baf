// LockFreeLayout: the memory format of a lock-free heap, shared by the C# code (LockFreeCore) and the
// C path native/nh_ao_malloc.c (which has the same structs and constants; LockFreeLayoutTests compares
// the two views through the table nh_ao_layout that the C file exports).
//
// Terms
//   unit        16 KiB (1 << UnitShift) of the heap's memory: what the pool hands out. A unit is either
//               free, a superblock, the head of a run, or a later unit of a run.
//   superblock  one unit cut into blocks of one size class c < SuperblockClassCount (16 B .. 8 KiB).
//   run         1, 2 or 4 contiguous units (aligned to their length) holding one object of a class
//               above 8 KiB (16, 32 or 64 KiB blocks). Runs need no anchor protocol: one owner each.
//   zone        where units live: the arena (ArenaUnits units, global unit indexes 0..ArenaUnits-1) and
//               up to MaxChunks mapped chunks of ChunkUnits units each (global indexes from ChunkUnitBase
//               = ArenaUnits rounded up to 64; chunk k holds ChunkUnitBase + k*ChunkUnits + j). Chunks
//               are mapped 2 MiB aligned, only after EnableMmap, and never unmapped while the heap lives.
//   pool        the bitmap (one bit per global unit, 1 = in use): the shared lock-free pool of units.
//               A word is changed only by CAS; runs never straddle a word.
//   descriptor  64 bytes per global unit (Descriptor): its anchor, partial-list link and what the unit is.
//   anchor      a superblock's 64-bit state word, changed only by CAS: avail (index of the first free
//               block, 11 bits), count (free blocks not reserved by credits, 11 bits), state (2 bits),
//               tag (40 bits, +1 on every CAS).
//   active      per processor row and class, a word (unit + 1) | (credits - 1) << 32, or 0: the
//               superblock that row allocates from, with blocks already reserved from its anchor
//               (Michael's credits). A non-zero active word always holds at least one credit.
//   partial     per class, a Treiber stack of superblock descriptors in state PARTIAL (or EMPTY, lazily
//               removed) whose head is a tagged word (unit + 1, 32-bit tag).
// The mapping of a C# heap: [HeapHeader][actives][partial heads][chunk table][chunk hash][bitmap]
// [descriptors] then, at a 16 KiB boundary, the arena. The C static heap holds the same parts in static
// arrays whose addresses its header names.
using System.Runtime.InteropServices;

namespace NativeHeap.LockFree;

/// <summary>Constants of the format (mirrored in native/nh_ao_malloc.c).</summary>
internal static class LockFreeLayout
{
    internal const ulong Magic = 0x4C46_4D49_4348_0002UL; // "LFMICH" 2

    internal const int UnitShift = 14;
    internal const int UnitSize = 1 << UnitShift;
    internal const int SuperblockClassCount = 10;          // 16 B .. 8 KiB
    internal const int MaxCredits = 64;
    internal const int ChunkShift = 21;                    // 2 MiB chunks
    internal const int ChunkUnits = 1 << (ChunkShift - UnitShift);
    internal const int MaxChunks = 512;                    // 1 GiB of mapped superblocks beyond the arena
    internal const int ChunkHashSlots = 2 * MaxChunks;
    internal const int ActiveRowWords = 16;                // one row per processor: 128 bytes
    internal const int PartialStrideWords = 8;             // one partial head per cache line

    // Anchor fields.
    internal const int AvailBits = 11;
    internal const ulong AvailMask = (1UL << AvailBits) - 1;
    internal const int CountShift = 11;
    internal const ulong CountMask = ((1UL << 11) - 1) << CountShift;
    internal const ulong CountOne = 1UL << CountShift;
    internal const int StateShift = 22;
    internal const ulong StateMask = 3UL << StateShift;
    internal const int TagShift = 24;
    internal const ulong TagOne = 1UL << TagShift;

    // Anchor states (also used for runs: Full = live, Empty = freed).
    internal const ulong Active = 0, Full = 1, Partial = 2, Empty = 3;

    // Descriptor kinds.
    internal const uint KindFree = 0, KindSuperblock = 1, KindRun = 2, KindRunContinuation = 3;

    internal static uint Avail(ulong a) => (uint)(a & AvailMask);
    internal static uint Count(ulong a) => (uint)((a & CountMask) >> CountShift);
    internal static ulong State(ulong a) => (a & StateMask) >> StateShift;
    internal static ulong WithState(ulong a, ulong s) => (a & ~StateMask) | (s << StateShift);
    internal static ulong WithAvail(ulong a, uint avail) => (a & ~AvailMask) | (avail & AvailMask);
}

/// <summary>The header of one heap (256 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 256)]
internal unsafe struct HeapHeader
{
    [FieldOffset(0)] internal ulong Magic;
    [FieldOffset(8)] internal byte* Arena;
    [FieldOffset(16)] internal Descriptor* Descs;
    [FieldOffset(24)] internal ulong* Bitmap;
    [FieldOffset(32)] internal ulong* Actives;
    [FieldOffset(40)] internal ulong* Partial;
    [FieldOffset(48)] internal byte** Chunks;
    [FieldOffset(56)] internal ulong* ChunkHash;
    [FieldOffset(64)] internal uint ArenaUnits;
    [FieldOffset(68)] internal uint ChunkUnitBase;
    [FieldOffset(72)] internal uint MaxChunks;
    [FieldOffset(76)] internal uint RowMask;
    /// <summary>Chunk slots reserved so far (a slot whose Chunks entry is still null is being mapped).</summary>
    [FieldOffset(80)] internal int ChunkCount;
    [FieldOffset(84)] internal int MmapEnabled;
    [FieldOffset(88)] internal long LargeCount;
    [FieldOffset(96)] internal long LargeBytes;
    [FieldOffset(104)] internal long RejectedFrees;
    /// <summary>Bytes of the C# mapping that holds this header (0 for the C static heap).</summary>
    [FieldOffset(112)] internal ulong MappingSize;
    [FieldOffset(120)] internal ulong ArenaSize;
}

/// <summary>The descriptor of one unit (64 bytes: one cache line).</summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
internal struct Descriptor
{
    [FieldOffset(0)] internal ulong Anchor;
    /// <summary>Partial-list link: unit + 1 of the next descriptor, 0 at the end.</summary>
    [FieldOffset(8)] internal uint Next;
    [FieldOffset(12)] internal uint Kind;
    [FieldOffset(16)] internal uint SizeClass;
    [FieldOffset(20)] internal uint BlockSize;
    [FieldOffset(24)] internal uint MaxCount;
    /// <summary>Units of a run (1, 2 or 4); 0 otherwise.</summary>
    [FieldOffset(28)] internal uint Units;
}
