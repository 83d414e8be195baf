// NativeHeap sample: exercises the general heap from several threads — small, large and huge blocks,
// cross-thread frees, realloc, aligned and zeroed allocation — then prints what it did, validates the
// heap, purges, and prints the heap's statistics.
using System.Diagnostics;
using NativeHeap;

unsafe
{
    int threads = Math.Max(2, Environment.ProcessorCount);
    const int OpsPerThread = 2_000_000;
    Console.WriteLine($"NativeHeap sample: {threads} threads × {OpsPerThread:N0} operations, {Heap.AutomaticArenaCount} automatic arenas");

    // Handoff queues for cross-thread frees: thread t frees what thread t-1 allocated.
    var handoff = new System.Collections.Concurrent.ConcurrentQueue<nint>[threads];
    for (int i = 0; i < threads; i++) handoff[i] = new();
    long totalBytes = 0, crossFrees = 0;
    var sw = Stopwatch.StartNew();
    var workers = new Thread[threads];
    for (int t = 0; t < threads; t++)
    {
        int id = t;
        workers[t] = new Thread(() =>
        {
            var rng = new Random(1234 + id);
            var live = new nint[1024];
            long bytes = 0, cross = 0;
            for (int op = 0; op < OpsPerThread; op++)
            {
                int slot = rng.Next(live.Length);
                if (live[slot] != 0)
                {
                    byte* old = (byte*)live[slot];
                    if (old[0] != (byte)slot) throw new InvalidOperationException("content lost");
                    if ((op & 15) == 0) handoff[(id + 1) % threads].Enqueue(live[slot]);
                    else Heap.Free(old);
                    live[slot] = 0;
                }
                int r = rng.Next(1000);
                nuint size = r < 900 ? (nuint)rng.Next(1, 1024) : r < 995 ? (nuint)rng.Next(1024, 64 * 1024) : (nuint)rng.Next(64 * 1024, 4 << 20);
                byte* p = (byte*)Heap.Malloc(size);
                p[size - 1] = 1;
                p[0] = (byte)slot;
                bytes += (long)size;
                live[slot] = (nint)p;
                while (handoff[id].TryDequeue(out nint q))
                {
                    Heap.Free((void*)q);
                    cross++;
                }
            }
            foreach (nint p in live) Heap.Free((void*)p);
            Interlocked.Add(ref totalBytes, bytes);
            Interlocked.Add(ref crossFrees, cross);
        });
        workers[t].Start();
    }
    foreach (Thread w in workers) w.Join();
    foreach (var q in handoff) while (q.TryDequeue(out nint p)) Heap.Free((void*)p);
    sw.Stop();
    long ops = (long)threads * OpsPerThread;
    Console.WriteLine($"done: {ops:N0} allocations ({totalBytes / (1 << 20):N0} MiB), {crossFrees:N0} freed by another thread, " +
                      $"in {sw.Elapsed.TotalSeconds:F2} s ({ops / sw.Elapsed.TotalSeconds / 1e6:F1} M alloc+free/s)");

    // A few of the other calls.
    byte* a = (byte*)Heap.AlignedAlloc(1 << 16, 1000);
    byte* z = (byte*)Heap.Calloc(100, 100);
    byte* g = (byte*)Heap.Realloc(Heap.Malloc(100), 1 << 20);
    Console.WriteLine($"aligned(64 KiB) ok: {((nuint)a & 0xffff) == 0}, calloc usable {Heap.UsableSize(z)}, realloc to 1 MiB usable {Heap.UsableSize(g)}, nallocx(100) = {Heap.NallocX(100, 0)}");
    Heap.Free(a);
    Heap.Free(z);
    Heap.Free(g);

    Heap.Validate();
    Console.WriteLine("Validate: heap consistent");
    HeapStats before = Heap.GetStats();
    Heap.Purge();
    HeapStats after = Heap.GetStats();
    Console.WriteLine($"purge: resident estimate {before.Resident / 1024:N0} KiB -> {after.Resident / 1024:N0} KiB");
    Console.Write(after);
}
