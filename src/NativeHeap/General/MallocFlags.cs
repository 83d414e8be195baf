// MallocFlags: the int flags of jemalloc's extended API with jemalloc's bit layout, so a C ABI can
// pass its callers' flags through unchanged:
//   bits 0-5   lg(alignment) (0: no alignment requirement)    MALLOCX_LG_ALIGN(la), MALLOCX_ALIGN(a)
//   bit  6     zero the memory                                 MALLOCX_ZERO = 0x40
//   bits 8-19  thread cache: 0 default, 1 none, n+2 explicit   MALLOCX_TCACHE(tc), MALLOCX_TCACHE_NONE
//   bits 20-31 arena index + 1 (0: the thread's arena)         MALLOCX_ARENA(a)
using System.Numerics;

namespace NativeHeap;

/// <summary>Flags for the extended calls (<c>mallocx</c> family), bit-compatible with jemalloc's.</summary>
public readonly struct MallocFlags : IEquatable<MallocFlags>
{
    /// <summary>The raw int, as jemalloc's C API takes it.</summary>
    public int Value { get; }

    /// <summary>Wraps a raw flags int.</summary>
    public MallocFlags(int value) => Value = value;

    /// <summary>No flags: default alignment, no zeroing, the thread's cache and arena.</summary>
    public static MallocFlags None => default;

    /// <summary>Zero the memory (MALLOCX_ZERO).</summary>
    public static MallocFlags Zero => new(0x40);

    /// <summary>Bypass thread caches (MALLOCX_TCACHE_NONE).</summary>
    public static MallocFlags NoThreadCache => new(1 << 8);

    /// <summary>Alignment given as its base-2 logarithm (MALLOCX_LG_ALIGN).</summary>
    public static MallocFlags LgAlign(int lgAlignment)
    {
        if ((uint)lgAlignment > 63) throw new ArgumentOutOfRangeException(nameof(lgAlignment));
        return new(lgAlignment);
    }

    /// <summary>Alignment, a power of two (MALLOCX_ALIGN).</summary>
    public static MallocFlags Align(nuint alignment)
    {
        if (alignment == 0 || !BitOperations.IsPow2(alignment)) throw new ArgumentException("alignment must be a power of two", nameof(alignment));
        return new(BitOperations.TrailingZeroCount(alignment));
    }

    /// <summary>Use the explicit thread cache <paramref name="id"/> from <see cref="Heap.CreateThreadCache"/> (MALLOCX_TCACHE).</summary>
    public static MallocFlags ThreadCache(int id)
    {
        if ((uint)id > 4093) throw new ArgumentOutOfRangeException(nameof(id));
        return new((id + 2) << 8);
    }

    /// <summary>Allocate from arena <paramref name="index"/> (MALLOCX_ARENA).</summary>
    public static MallocFlags Arena(int index)
    {
        if ((uint)index > 4094) throw new ArgumentOutOfRangeException(nameof(index));
        return new((index + 1) << 20);
    }

    /// <summary>lg(alignment), or 0 when no alignment was asked for.</summary>
    public int LgAlignment => Value & 0x3f;

    /// <summary>The alignment asked for (1 when none).</summary>
    public nuint Alignment => LgAlignment == 0 ? 1 : (nuint)1 << LgAlignment;

    /// <summary>True when zeroed memory was asked for.</summary>
    public bool IsZero => (Value & 0x40) != 0;

    /// <summary>-1: the thread's cache; -2: none; otherwise an explicit cache id.</summary>
    public int ThreadCacheId
    {
        get
        {
            int bits = (Value >> 8) & 0xfff;
            return bits == 0 ? -1 : bits == 1 ? -2 : bits - 2;
        }
    }

    /// <summary>The arena asked for, or -1 for the thread's arena.</summary>
    public int ArenaIndex => ((int)((uint)Value >> 20)) - 1;

    /// <summary>Combines flags.</summary>
    public static MallocFlags operator |(MallocFlags a, MallocFlags b) => new(a.Value | b.Value);

    /// <summary>Converts a raw int.</summary>
    public static implicit operator MallocFlags(int value) => new(value);

    /// <inheritdoc />
    public bool Equals(MallocFlags other) => Value == other.Value;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is MallocFlags f && Equals(f);

    /// <inheritdoc />
    public override int GetHashCode() => Value;

    /// <inheritdoc />
    public override string ToString() => $"0x{Value:x}";

    /// <summary>Equality.</summary>
    public static bool operator ==(MallocFlags a, MallocFlags b) => a.Value == b.Value;

    /// <summary>Inequality.</summary>
    public static bool operator !=(MallocFlags a, MallocFlags b) => a.Value != b.Value;
}
