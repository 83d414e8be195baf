// Offset<T>: a position-independent pointer into a mapped heap, stored as the distance from the
// heap's base. It stays valid when the heap reopens at another address (relocation), unlike a raw T*.
using System.Runtime.CompilerServices;

namespace NativeHeap.Mapped;

/// <summary>A typed relative pointer into a <see cref="MappedHeap"/>: 8 bytes, safe to store inside the heap, valid at any base address.</summary>
/// <typeparam name="T">The pointed-to unmanaged type.</typeparam>
public readonly unsafe struct Offset<T> : IEquatable<Offset<T>> where T : unmanaged
{
    /// <summary>The distance from the heap's base in bytes; 0 is null.</summary>
    public long Value { get; }

    /// <summary>Wraps a raw offset (0 is null).</summary>
    public Offset(long value) => Value = value;

    /// <summary>True when this is the null offset.</summary>
    public bool IsNull => Value == 0;

    /// <summary>The raw pointer for this offset in <paramref name="heap"/>'s current mapping (null for the null offset).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T* In(MappedHeap heap) => Value == 0 ? null : (T*)(heap.Base + Value);

    /// <summary>The offset of <paramref name="pointer"/> inside <paramref name="heap"/> (null stays null); the pointer must lie inside the heap.</summary>
    public static Offset<T> Of(MappedHeap heap, T* pointer) => new(heap.OffsetOf(pointer));

    /// <inheritdoc />
    public bool Equals(Offset<T> other) => Value == other.Value;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is Offset<T> o && Equals(o);

    /// <inheritdoc />
    public override int GetHashCode() => Value.GetHashCode();

    /// <summary>Equality of offsets.</summary>
    public static bool operator ==(Offset<T> a, Offset<T> b) => a.Value == b.Value;

    /// <summary>Inequality of offsets.</summary>
    public static bool operator !=(Offset<T> a, Offset<T> b) => a.Value != b.Value;

    /// <inheritdoc />
    public override string ToString() => Value == 0 ? "null" : $"+0x{Value:x}";
}
