// EchoServer: a line-protocol echo server and its clients on 127.0.0.1, over System.IO.Pipelines. The
// server's PipeReader / PipeWriter (and the clients') take their buffers from the pool under test.
// Every loop is bounded: each client sends a fixed number of lines and reads back exactly the bytes
// it sent; the server stops when the client closes its side.
using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;

namespace NativeHeap.EchoServer;

internal static class EchoServer
{
    /// <summary>Runs <paramref name="clients"/> clients against one server; returns the bytes echoed (both checked).</summary>
    public static async Task<long> RunAsync(MemoryPool<byte> pool, int clients, byte[] lines, int repeats, int bufferSize)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(clients);
        var endPoint = (IPEndPoint)listener.LocalEndPoint!;

        var serverTasks = new Task[clients];
        Task accept = Task.Run(async () =>
        {
            for (int i = 0; i < clients; i++)
            {
                Socket s = await listener.AcceptAsync();
                serverTasks[i] = Task.Run(() => ServeAsync(s, pool, bufferSize));
            }
        });
        var clientTasks = new Task<long>[clients];
        for (int i = 0; i < clients; i++) clientTasks[i] = Task.Run(() => ClientAsync(endPoint, pool, lines, repeats, bufferSize));
        long[] echoed = await Task.WhenAll(clientTasks);
        await accept;
        await Task.WhenAll(serverTasks);
        return echoed.Sum();
    }

    /// <summary>Echoes every complete line back until the peer shuts its side down.</summary>
    private static async Task ServeAsync(Socket socket, MemoryPool<byte> pool, int bufferSize)
    {
        using (socket)
        await using (var stream = new NetworkStream(socket, ownsSocket: false))
        {
            PipeReader reader = PipeReader.Create(stream, new StreamPipeReaderOptions(pool: pool, bufferSize: bufferSize, leaveOpen: true));
            PipeWriter writer = PipeWriter.Create(stream, new StreamPipeWriterOptions(pool: pool, minimumBufferSize: bufferSize, leaveOpen: true));
            while (true)
            {
                ReadResult result = await reader.ReadAsync();
                ReadOnlySequence<byte> buffer = result.Buffer;
                SequencePosition consumed = buffer.Start;
                var sequence = new SequenceReader<byte>(buffer);
                while (sequence.TryReadTo(out ReadOnlySequence<byte> line, (byte)'\n'))
                {
                    foreach (ReadOnlyMemory<byte> segment in line) writer.Write(segment.Span);
                    writer.Write("\n"u8);
                    consumed = sequence.Position;
                }
                reader.AdvanceTo(consumed, buffer.End);
                await writer.FlushAsync();
                if (result.IsCompleted) break;
            }
            await reader.CompleteAsync();
            await writer.CompleteAsync();
            socket.Shutdown(SocketShutdown.Send);
        }
    }

    /// <summary>Sends <paramref name="lines"/> <paramref name="repeats"/> times while reading the echo; checks length and checksum.</summary>
    private static async Task<long> ClientAsync(IPEndPoint server, MemoryPool<byte> pool, byte[] lines, int repeats, int bufferSize)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(server);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        PipeWriter writer = PipeWriter.Create(stream, new StreamPipeWriterOptions(pool: pool, minimumBufferSize: bufferSize, leaveOpen: true));
        PipeReader reader = PipeReader.Create(stream, new StreamPipeReaderOptions(pool: pool, bufferSize: bufferSize, leaveOpen: true));
        long expected = (long)lines.Length * repeats;
        ulong expectedSum = Checksum(lines) * (ulong)repeats;

        Task send = Task.Run(async () =>
        {
            for (int r = 0; r < repeats; r++)
            {
                for (int at = 0; at < lines.Length; at += 8192)
                {
                    int n = Math.Min(8192, lines.Length - at);
                    lines.AsSpan(at, n).CopyTo(writer.GetSpan(n));
                    writer.Advance(n);
                    await writer.FlushAsync();
                }
            }
            await writer.CompleteAsync();
            socket.Shutdown(SocketShutdown.Send);
        });

        long received = 0;
        ulong sum = 0;
        while (true)
        {
            ReadResult result = await reader.ReadAsync();
            foreach (ReadOnlyMemory<byte> segment in result.Buffer)
            {
                sum += Checksum(segment.Span);
                received += segment.Length;
            }
            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted) break;
        }
        await reader.CompleteAsync();
        await send;
        if (received != expected || sum != expectedSum)
            throw new InvalidOperationException($"echo mismatch: {received} bytes (sum {sum}), expected {expected} (sum {expectedSum})");
        return received;
    }

    private static ulong Checksum(ReadOnlySpan<byte> data)
    {
        ulong s = 0;
        foreach (byte b in data) s += b;
        return s;
    }
}
