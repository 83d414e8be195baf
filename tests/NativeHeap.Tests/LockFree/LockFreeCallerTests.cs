// The lock-free heap called from places where locks are not allowed: a native thread created with
// pthread_create whose start routine is an UnmanagedCallersOnly C# function, and a
// PosixSignalRegistration handler (which .NET runs on its signal-handling thread, racing the
// interrupted code), each while managed threads use the same heap.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NativeHeap.LockFree;
using NativeHeap.Os;

namespace NativeHeap.Tests.LockFree;

public sealed unsafe class LockFreeCallerTests
{
    private struct NativeJob
    {
        public nint Stress;        // GCHandle of the LockFreeStress
        public LockFreeStress.Worker* Worker;
        public long Operations;
        public long ManagedBytes;  // managed bytes the native thread allocated while running
        public int Tid;
        public int FacadeOk;
    }

    [UnmanagedCallersOnly]
    private static void* NativeThreadMain(void* arg)
    {
        var job = (NativeJob*)arg;
        job->Tid = OsThread.CurrentThreadId();
        var stress = (LockFreeStress)GCHandle.FromIntPtr(job->Stress).Target!;
        long before = GC.GetAllocatedBytesForCurrentThread();
        stress.Run(job->Worker, job->Operations);
        // The AO_malloc-style facade from the native thread too.
        byte* p = (byte*)LockFreeMalloc.Malloc(48);
        if (p != null)
        {
            p[47] = 7;
            job->FacadeOk = LockFreeHeap.Default.ArenaContains(p) && p[47] == 7 ? 1 : 0;
            LockFreeMalloc.Free(p);
        }
        job->ManagedBytes = GC.GetAllocatedBytesForCurrentThread() - before;
        return (void*)0x600D;
    }

    [Fact]
    public void NativeThreadsThroughUnmanagedCallersOnly()
    {
        // The process-wide heap's managed instance is created on first use; create it here, not inside
        // the native threads' measured window (when this test runs alone, nothing else has yet).
        LockFreeMalloc.Free(LockFreeMalloc.Malloc(16));
        using var heap = new LockFreeHeap();
        var stress = new LockFreeStress(heap, largeObjects: false);
        GCHandle handle = GCHandle.Alloc(stress);
        const int Natives = 2;
        var workers = new LockFreeStress.Worker*[Natives + 1];
        var jobs = (NativeJob*)NativeMemory.AllocZeroed((nuint)(Natives * sizeof(NativeJob)));
        try
        {
            for (int i = 0; i < workers.Length; i++)
            {
                workers[i] = (LockFreeStress.Worker*)NativeMemory.AllocZeroed((nuint)sizeof(LockFreeStress.Worker));
                workers[i]->Id = 100 + i;
                workers[i]->Seed = 0xC0FFEEUL * (ulong)(i + 1) | 1;
            }
            var threads = new ulong[Natives];
            for (int i = 0; i < Natives; i++)
            {
                jobs[i].Stress = GCHandle.ToIntPtr(handle);
                jobs[i].Worker = workers[i];
                jobs[i].Operations = 500_000;
                Assert.True(OsNativeThread.TryStart(&NativeThreadMain, &jobs[i], out threads[i], out OsError error), error.ToString());
            }
            // A managed thread shares the heap (and the exchange) with the native ones meanwhile.
            stress.Run(workers[Natives], 500_000);
            for (int i = 0; i < Natives; i++)
            {
                Assert.True(OsNativeThread.TryJoin(threads[i], out void* result, out OsError error), error.ToString());
                Assert.Equal(0x600D, (nint)result);
                Assert.NotEqual(0, jobs[i].Tid);
                Assert.NotEqual(OsThread.CurrentThreadId(), jobs[i].Tid);
                Assert.Equal(1, jobs[i].FacadeOk);
                Assert.Equal(0, jobs[i].ManagedBytes);
                Assert.Equal(500_000, workers[i]->Ops);
            }
            Assert.True(stress.Failures == 0, stress.FirstFailure);
            stress.FreeAll(workers);
            Assert.True(stress.Failures == 0, stress.FirstFailure);
            LockFreeHeapStats stats = heap.Validate();
            for (int c = 0; c < LockFreeHeap.SizeClassCount; c++) Assert.Equal(0, stats.LiveBlocks(c));
        }
        finally
        {
            handle.Free();
            foreach (LockFreeStress.Worker* w in workers) NativeMemory.Free(w);
            NativeMemory.Free(jobs);
        }
    }

    private sealed class SignalState
    {
        public LockFreeHeap Heap = null!;
        public int Handled;
        public int Failures;
        public int LastThread;
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void PosixSignalHandlerAllocatesWhileTheInterruptedThreadDoesToo()
    {
        using var heap = new LockFreeHeap(LockFreeHeap.DefaultHeapSize);
        var state = new SignalState { Heap = heap };
        const int Signals = 50;
        using var registration = PosixSignalRegistration.Create(PosixSignal.SIGWINCH, ctx =>
        {
            ctx.Cancel = true;
            if (!HandlerWork(state.Heap)) Interlocked.Increment(ref state.Failures);
            Volatile.Write(ref state.LastThread, OsThread.CurrentThreadId());
            Interlocked.Increment(ref state.Handled);
        });

        int mainTid = OsThread.CurrentThreadId();
        var ptrs = new nint[128];
        ulong x = 0x51C_4A11;
        int sent = 0;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (Volatile.Read(ref state.Handled) < Signals && DateTime.UtcNow < deadline)
        {
            if (sent < Signals && sent <= Volatile.Read(ref state.Handled))
            {
                Assert.True(OsNativeThread.TrySignalSelf(Libc.SIGWINCH, out OsError error), error.ToString());
                sent++;
            }
            // Keep this thread inside the heap while the handler runs.
            for (int i = 0; i < 1000; i++)
            {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                int j = (int)(x % 128);
                if (ptrs[j] != 0)
                {
                    Assert.Equal((long)j, *(long*)ptrs[j]);
                    heap.Free((void*)ptrs[j]);
                    ptrs[j] = 0;
                }
                else
                {
                    ptrs[j] = (nint)heap.Allocate((nuint)(16 + (int)(x >> 50) % 2000));
                    Assert.True(ptrs[j] != 0);
                    *(long*)ptrs[j] = j;
                }
            }
        }
        Assert.Equal(Signals, Volatile.Read(ref state.Handled));
        Assert.Equal(0, state.Failures);
        Assert.NotEqual(mainTid, state.LastThread);
        foreach (nint p in ptrs) heap.Free((void*)p);
        LockFreeHeapStats stats = heap.Validate();
        for (int c = 0; c < LockFreeHeap.SizeClassCount; c++) Assert.Equal(0, stats.LiveBlocks(c));
    }

    /// <summary>What a signal handler does: allocate blocks of every class, fill, check, free. No managed allocation.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool HandlerWork(LockFreeHeap heap)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        nint* ptrs = stackalloc nint[LockFreeHeap.SizeClassCount];
        bool ok = true;
        for (int c = 0; c < LockFreeHeap.SizeClassCount; c++)
        {
            nuint size = Math.Min(LockFreeHeap.SizeClassBlockSize(c), LockFreeHeap.MaxSmallSize);
            byte* p = (byte*)heap.Allocate(size);
            if (p == null) return false;
            new Span<byte>(p, (int)size).Fill((byte)(c + 1));
            ptrs[c] = (nint)p;
        }
        for (int c = 0; c < LockFreeHeap.SizeClassCount; c++)
        {
            nuint size = Math.Min(LockFreeHeap.SizeClassBlockSize(c), LockFreeHeap.MaxSmallSize);
            ok &= new Span<byte>((void*)ptrs[c], (int)size).IndexOfAnyExcept((byte)(c + 1)) < 0;
            heap.Free((void*)ptrs[c]);
        }
        return ok && GC.GetAllocatedBytesForCurrentThread() == before;
    }
}
