using NativeHeap.Safe;

namespace NativeHeap.Tests.Safe;

/// <summary>
/// The convention all four heaps share through INativeHeap: same verbs, TryX returns bool, Free throws
/// HeapMisuseException where TryFree returns false, ObjectDisposedException after Dispose.
/// </summary>
public unsafe class HeapConventionTests
{
    [Theory]
    [MemberData(nameof(SafeTestHeaps.Names), MemberType = typeof(SafeTestHeaps))]
    public void SameVerbsOnEveryHeap(string name)
    {
        INativeHeap heap = SafeTestHeaps.Create(name);
        try
        {
            Assert.False(heap.IsDisposed);
            Assert.False(string.IsNullOrEmpty(heap.Name));
            byte* p = (byte*)heap.Allocate(100);
            Assert.True(p != null);
            new Span<byte>(p, 100).Fill(0x5A);
            Assert.True(heap.TryAllocate(200, out void* q));
            Assert.True(q != null);
            byte* z = (byte*)heap.AllocateZeroed(300);
            Assert.True(new Span<byte>(z, 300).IndexOfAnyExcept((byte)0) < 0);
            Assert.True(heap.TryFree(z));
            Assert.True(heap.TryFree(null));
            heap.Free(null);

            if (name != "lockfree")
            {
                Assert.True(heap.UsableSize(p) >= 100);
                byte* r = (byte*)heap.Reallocate(p, 5000);
                Assert.True(r != null);
                Assert.True(new Span<byte>(r, 100).IndexOfAnyExcept((byte)0x5A) < 0);
                p = r;
            }
            else
            {
                Assert.Throws<NotSupportedException>(() => heap.Reallocate(p, 5000));
                Assert.False(heap.TryResizeInPlace(p, 5000, 0, out _));
            }

            // A pointer the heap never handed out: TryFree refuses and changes nothing, Free throws.
            void* foreign = System.Runtime.InteropServices.NativeMemory.AlignedAlloc(4096, 4096);
            try
            {
                Assert.False(heap.TryFree((byte*)foreign + 64));
                Assert.Throws<HeapMisuseException>(() => heap.Free((byte*)foreign + 64));
            }
            finally
            {
                System.Runtime.InteropServices.NativeMemory.AlignedFree(foreign);
            }
            heap.Free(p);
            heap.Free(q);
        }
        finally
        {
            SafeTestHeaps.Dispose(heap);
        }
    }

    [Theory]
    [MemberData(nameof(SafeTestHeaps.Names), MemberType = typeof(SafeTestHeaps))]
    public void EveryMemberThrowsObjectDisposedAfterDispose(string name)
    {
        if (!SafeTestHeaps.Disposable(name)) return;       // the general heap lives as long as the process
        INativeHeap heap = SafeTestHeaps.Create(name);
        void* p = heap.Allocate(64);
        Assert.True(p != null);
        SafeTestHeaps.Dispose(heap);
        Assert.True(heap.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => heap.Allocate(64));
        Assert.Throws<ObjectDisposedException>(() => heap.AllocateZeroed(64));
        Assert.Throws<ObjectDisposedException>(() => heap.TryAllocate(64, out _));
        Assert.Throws<ObjectDisposedException>(() => heap.TryFree(p));
        Assert.Throws<ObjectDisposedException>(() => heap.Free(p));
        Assert.Throws<ObjectDisposedException>(() => heap.Reallocate(p, 128));
        Assert.Throws<ObjectDisposedException>(() => heap.UsableSize(p));
        Assert.Throws<ObjectDisposedException>(() => heap.TryResizeInPlace(p, 128, 0, out _));
    }

    [Fact]
    public void TheGeneralHeapHasTheSharedVerbsStatically()
    {
        byte* p = (byte*)Heap.Allocate(64 << 10);
        Assert.True(p != null);
        Assert.True(Heap.TryResizeInPlace(p, 32 << 10, 0, out nuint usable));      // already large enough
        Assert.True(usable >= 32 << 10);
        byte* r = (byte*)Heap.Reallocate(p, 1 << 20);
        Assert.True(r != null);
        Assert.True(Heap.TryFree(r));
        void* foreign = System.Runtime.InteropServices.NativeMemory.Alloc(64);
        Assert.False(Heap.TryFree(foreign));
        System.Runtime.InteropServices.NativeMemory.Free(foreign);
        Assert.Same(GeneralHeap.Instance, Heap.Instance);
    }

    [Fact]
    public void AKindRefusesBlocksOfAnotherKind()
    {
        INativeHeap kind = SafeTestHeaps.Create("kind");
        try
        {
            void* general = Heap.Malloc(64);
            Assert.False(kind.TryFree(general));                 // a general-heap block is not this kind's
            Assert.Equal((nuint)0, kind.UsableSize(general));
            Heap.Free(general);
        }
        finally
        {
            SafeTestHeaps.Dispose(kind);
        }
    }

    [Fact]
    public void ABufferOfADisposedHeapThrowsInsteadOfReadingUnmappedMemory()
    {
        INativeHeap heap = SafeTestHeaps.Create("mapped");
        NativeBuffer<byte> b = NativeBuffer.Allocate<byte>(1000, heap);
        b.Span.Fill(1);
        SafeTestHeaps.Dispose(heap);
        Assert.Throws<ObjectDisposedException>(() => b.Span.Length);
        Assert.Throws<ObjectDisposedException>(() => b.Memory.Span.Length);
        Assert.Throws<ObjectDisposedException>(() => b.Pin());
        ((IDisposable)b).Dispose();                                 // frees nothing: the block went with the heap
        Assert.True(b.IsDisposed);
    }
}
