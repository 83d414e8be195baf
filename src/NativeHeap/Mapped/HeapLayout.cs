// HeapLayout: the on-disk format of a mapped heap, in one place.
//
// Terms
//  - region: the bytes of the heap file, mapped at the heap's base address; every position inside it
//    is an *offset* from the base (offset 0 is the header, so offset 0 also means "null").
//  - block: a 16-byte aligned piece of the region after the header; blocks tile [HeapStart, HeapEnd)
//    with no gaps. The chain of block headers is the heap's only primary metadata.
//  - payload: what the user gets: the bytes after a block's 16-byte block header.
//  - derived data: free lists, bin bitmap, footers, PREV_FREE bits and the tail flag. They are
//    rebuilt from a walk of the chain on every writable open, so they never need crash ordering.
//
// Header (offset 0, HeaderSize = 64 KiB, page aligned):
//    0 u64 magic "NHEAPMAP"            8 u32 format version          12 u32 header size
//   16 u64 recorded base address       24 u64 maximum region size    32 u64 growth step
//   40 u64 salt (random per heap)      48 i64 creation time (ms)     56 u64 checksum of bytes [0,56)
//   --- mutable, validated on open rather than checksummed ---
//   64 u64 HeapEnd (offset)            72 u32 state (0 closed, 1 open for writing)
//   80 u64 open count                  88 u64 unclean opens (crash recoveries)
//   96 u64 tail PREV_FREE flag (derived: is the last block free)
//  104 u64[2] bin bitmap (derived)    128 u64[32] numbered keys (offsets, 0 = none)
//  512 u64[128] bin heads (derived)  2048 named roots: 992 entries of 64 bytes
//        entry: u64 root word (0 = empty slot), u8 name length (1..55), 55 bytes UTF-8 name
//  Key and root words (format version 2): bits 0..47 the payload offset of an allocated block,
//  bits 48..63 RootCheck(offset, salt, key number or name), never 0. One atomic store publishes
//  offset and check together. Version 1 stored the bare offset (check bits 0); a version-1 file is
//  upgraded word by word when opened writable, then the header says version 2 (checksum stored before
//  the version, so an interrupted upgrade is recognised: see MappedHeap.Attach.cs).
//
// Block (at offset o, size S, a multiple of 16, at least 32):
//   o+0  u64 header word: S | ALLOC (bit 0) | PREV_FREE (bit 1, derived: the block before is free)
//   o+8  u64 allocated: cookie(o) = f(o, salt), which catches wrong pointers and double frees;
//            free: next free block in the bin (offset, 0 = end)
//   o+16 u64 free: previous free block in the bin (offset, 0 = this is the head)
//   o+S-8 u64 free: footer = S (lets the next block find this one when it is freed)
//
// Invariants
//  - Chain: from HeapStart, o += S reaches exactly HeapEnd; every S >= 32, S % 16 == 0; every
//    allocated block carries its cookie. Every single store the allocator makes leaves the chain
//    valid (see MappedHeap.Blocks.cs): a kill between any two stores leaves a walkable heap.
//  - Steady state (not after a crash until the open rebuilds): no two adjacent free blocks; every
//    free block is in exactly the bin of its size; PREV_FREE bits, footers, tail flag are exact.
//  - HeapEnd <= file size <= maximum region size; the region is mapped over the whole maximum, and
//    nothing at or beyond the file's end is ever touched.
using System.Numerics;
using System.Runtime.CompilerServices;

namespace NativeHeap.Mapped;

internal static class HeapLayout
{
    internal static ReadOnlySpan<byte> MagicBytes => "NHEAPMAP"u8;
    internal const uint FormatVersion = 2;
    internal const uint FirstChecksummedRootsVersion = 2;
    internal const ulong RootOffsetMask = (1UL << 48) - 1;
    internal const int HeaderSize = 64 * 1024;
    internal const int PageSize = 4096;

    // Header field offsets.
    internal const int OffMagic = 0, OffVersion = 8, OffHeaderSize = 12, OffBase = 16, OffMaxSize = 24,
        OffGrowStep = 32, OffSalt = 40, OffCreated = 48, OffChecksum = 56, ChecksummedBytes = 56;
    internal const int OffHeapEnd = 64, OffState = 72, OffOpenCount = 80, OffUncleanOpens = 88,
        OffTailPrevFree = 96, OffBitmap = 104, OffKeys = 128, OffBinHeads = 512, OffNamedRoots = 2048;

    internal const int KeyCount = 32;
    internal const int BinCount = 128;
    internal const int NamedRootSize = 64;
    internal const int NamedRootCount = (HeaderSize - OffNamedRoots) / NamedRootSize; // 992
    internal const int MaxNameBytes = NamedRootSize - 9; // 55

    internal const uint StateClosed = 0, StateOpen = 1;

    // Block format.
    internal const ulong Alloc = 1, PrevFree = 2, FlagMask = 15;
    internal const long BlockHeader = 16;
    internal const long MinBlock = 32;
    internal const int ExactBins = 64; // sizes 32 .. 1040 in steps of 16
    internal const long MaxExactSize = MinBlock + (ExactBins - 1) * 16;

    /// <summary>The smallest region a heap may be configured with: header plus one page of blocks.</summary>
    internal const long MinRegion = HeaderSize + PageSize;

    /// <summary>The block size that holds <paramref name="payload"/> bytes, or -1 when impossible.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static long BlockSizeFor(nuint payload, long maxRegion)
    {
        if (payload > (nuint)maxRegion) return -1;
        long s = ((long)payload + BlockHeader + 15) & ~15L;
        return s < MinBlock ? MinBlock : s;
    }

    /// <summary>The bin of a free block of size <paramref name="size"/>: exact bins up to 1040 bytes, then four per power of two.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int BinOf(long size)
    {
        if (size <= MaxExactSize) return (int)((size - MinBlock) >> 4);
        int lg = 63 - BitOperations.LeadingZeroCount((ulong)size); // >= 10
        int sub = (int)(size >> (lg - 2)) & 3;
        int bin = ExactBins + (lg - 10) * 4 + sub;
        return bin < BinCount ? bin : BinCount - 1;
    }

    /// <summary>The allocated-block cookie for a block at offset <paramref name="offset"/>; never 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong Cookie(long offset, ulong salt) => (((ulong)offset * 0x9E3779B97F4A7C15UL) ^ salt) | 1UL << 63;

    /// <summary>FNV-1a 64 over the header's immutable fields.</summary>
    internal static unsafe ulong Checksum(byte* header)
    {
        ulong h = 0xCBF29CE484222325UL;
        for (int i = 0; i < ChecksummedBytes; i++)
        {
            h = (h ^ header[i]) * 0x100000001B3UL;
        }
        return h;
    }

    /// <summary>The 16-bit check of a key or root word (FNV-1a over offset, salt and the key number or name); never 0.</summary>
    internal static ulong RootCheck(long offset, ulong salt, int key, ReadOnlySpan<byte> name)
    {
        ulong h = 0xCBF29CE484222325UL;
        ulong o = (ulong)offset ^ salt;
        for (int i = 0; i < 8; i++) h = (h ^ (byte)(o >> (i * 8))) * 0x100000001B3UL;
        h = (h ^ (uint)key) * 0x100000001B3UL;
        foreach (byte b in name) h = (h ^ b) * 0x100000001B3UL;
        ulong folded = (h ^ (h >> 16) ^ (h >> 32) ^ (h >> 48)) & 0xFFFF;
        return folded == 0 ? 1 : folded;
    }

    /// <summary>The version-2 word for a key or root: the offset with its check in the top 16 bits (0 stays 0).</summary>
    internal static ulong RootWord(long offset, ulong salt, int key, ReadOnlySpan<byte> name)
        => offset == 0 ? 0 : (ulong)offset | RootCheck(offset, salt, key, name) << 48;

    /// <summary>
    /// Decodes a key or root word: its offset, and whether its check holds. A word without check bits is
    /// accepted only when <paramref name="bareAllowed"/> (a version-1 heap, or one whose upgrade was interrupted).
    /// </summary>
    internal static bool TryDecodeRoot(ulong word, ulong salt, int key, ReadOnlySpan<byte> name, bool bareAllowed, out long offset)
    {
        offset = (long)(word & RootOffsetMask);
        ulong check = word >> 48;
        if (check == 0) return bareAllowed;
        return check == RootCheck(offset, salt, key, name);
    }

    internal static long AlignUp(long value, long alignment) => (value + alignment - 1) & ~(alignment - 1);
}
