// ArrayPoolMemoryPool: ArrayPool<byte>.Shared as a MemoryPool<byte> (the baseline a pipeline gets
// when its buffers come from pooled managed arrays). Each rent takes an array from the pool and a
// small owner object that returns it on Dispose.
using System.Buffers;

namespace NativeHeap.EchoServer;

/// <summary>A MemoryPool over ArrayPool&lt;byte&gt;.Shared.</summary>
internal sealed class ArrayPoolMemoryPool : MemoryPool<byte>
{
    public static readonly ArrayPoolMemoryPool Instance = new();

    public override int MaxBufferSize => Array.MaxLength;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
        => new Owner(ArrayPool<byte>.Shared.Rent(minBufferSize < 0 ? 4096 : minBufferSize));

    protected override void Dispose(bool disposing) { }

    private sealed class Owner(byte[] array) : IMemoryOwner<byte>
    {
        private byte[]? _array = array;

        public Memory<byte> Memory => _array ?? throw new ObjectDisposedException(nameof(Owner));

        public void Dispose()
        {
            byte[]? a = Interlocked.Exchange(ref _array, null);
            if (a != null) ArrayPool<byte>.Shared.Return(a);
        }
    }
}
