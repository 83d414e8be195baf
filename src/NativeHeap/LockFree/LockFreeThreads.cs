// LockFreeThreads: the process-wide thread records behind the lock-free heap's per-thread caches
// (LockFreeThreadCache). A record gives a thread a slot number (the index of its cache in every heap)
// and tells other threads, without any lock, whether that thread is still alive.
//
// Terms
//   record   64 bytes per slot in a table mapped once per process: a state word and an exit semaphore.
//   slot     1 .. MaxSlots-1 (slot 0 means "no record"); a thread keeps its slot until it exits, then
//            the slot is reused by a later thread.
//   gen      the record's generation: +1 every time a thread claims the record.
//   key      gen << SlotBits | slot: names one thread (one claim of one record). t_key holds the calling
//            thread's key, 0 before its first claim. Keys are >= 1 << SlotBits, never 0 or 1.
//   word     a record's state word: gen << 2 | state, state Free (never claimed), Live or Exited.
// Exit detection: a claiming thread registers the record's semaphore as its value of one pthread key
// whose destructor is libc's sem_post (OsThread.TryCreateExitKey): the dying thread posts it and runs
// no managed code. ScanExits (slow paths only) finds posted semaphores with sem_trywait (no system call
// while the value is 0; the one caller whose trywait succeeds moves the record Live -> Exited).
// Invariants
//   T1  A record's word is Live with generation g exactly while the thread that claimed it as g has not
//       been seen exited; so IsAlive(key) false means that thread has exited, or is exiting and will
//       call nothing more (it ran its pthread key destructors).
//   T2  A word changes only by CAS (Free/Exited -> Live with gen + 1 by a claiming thread, Live ->
//       Exited by the scanner whose sem_trywait took the post), except that the claimer of a fresh
//       slot (s_high + 1, won by CAS) writes its first Live word. Every semaphore is initialised when
//       the table is made; its value is 0 whenever the record is Live and its thread alive.
//   T3  The table and the key are made once (first use, by the thread that wins a CAS on s_state);
//       until then, and when they cannot be made, callers get no key and bypass the caches.
using System.Runtime.CompilerServices;
using NativeHeap.Os;

namespace NativeHeap.LockFree;

internal static unsafe class LockFreeThreads
{
    internal const int SlotBits = 10;
    /// <summary>Slots per process (slot 0 unused): threads alive at once beyond this get no cache.</summary>
    internal const int MaxSlots = 1 << SlotBits;
    internal const ulong SlotMask = MaxSlots - 1;

    private const int RecordBytes = 64;
    private const int SemaphoreOffset = 32;
    private const ulong StateFree = 0, StateLive = 1, StateExited = 2;

    /// <summary>The calling thread's key (gen &lt;&lt; SlotBits | slot), 0 before its first claim.</summary>
    [ThreadStatic] internal static ulong t_key;

    private static byte* s_records;
    private static int s_high;          // slots handed out so far: 1 .. s_high
    private static int s_state;         // 0 not made, 1 being made, 2 ready, 3 failed
    private static uint s_exitKey;

    /// <summary>Slots ever handed out (1 .. HighSlot).</summary>
    internal static int HighSlot => Volatile.Read(ref s_high);

    private static ulong* Word(int slot) => (ulong*)(s_records + slot * RecordBytes);

    private static void* Semaphore(int slot) => s_records + slot * RecordBytes + SemaphoreOffset;

    /// <summary>True while the thread named by <paramref name="key"/> has not been seen exited (T1).</summary>
    internal static bool IsAlive(ulong key)
    {
        if (s_records == null || key < MaxSlots) return false;
        int slot = (int)(key & SlotMask);
        return Volatile.Read(ref *Word(slot)) == ((key >> SlotBits) << 2 | StateLive);
    }

    /// <summary>
    /// The calling thread's key, claiming a record on its first call; 0 when there is none (the table
    /// is being made by another thread, could not be made, or every slot is held by a live thread).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static ulong CurrentKey()
    {
        ulong key = t_key;
        if (key != 0) return key;
        if (!EnsureReady()) return 0;
        ScanExits();
        int slot = 0;
        ulong word = 0;
        int high = Volatile.Read(ref s_high);
        for (int i = 1; i <= high && slot == 0; i++)
        {
            ulong w = Volatile.Read(ref *Word(i));
            if ((w & 3) != StateExited) continue;
            word = (((w >> 2) + 1) << 2) | StateLive;
            if (Interlocked.CompareExchange(ref *Word(i), word, w) == w) slot = i;
        }
        while (slot == 0)
        {
            if (high + 1 >= MaxSlots) return 0;
            int seen = Interlocked.CompareExchange(ref s_high, high + 1, high);
            if (seen != high)
            {
                high = seen;
                continue;
            }
            slot = high + 1;
            word = (1UL << 2) | StateLive;
            Volatile.Write(ref *Word(slot), word);
        }
        OsThread.SetKeyValue(s_exitKey, Semaphore(slot));
        key = (word >> 2) << SlotBits | (uint)slot;
        t_key = key;
        return key;
    }

    /// <summary>Marks the records of threads whose exit semaphore was posted Exited (T2).</summary>
    internal static void ScanExits()
    {
        if (Volatile.Read(ref s_state) != 2) return;
        int own = (int)(t_key & SlotMask);
        int high = Volatile.Read(ref s_high);
        for (int i = 1; i <= high; i++)
        {
            ulong w = Volatile.Read(ref *Word(i));
            if ((w & 3) != StateLive || i == own) continue;
            if (OsThread.HasExited(Semaphore(i))) Interlocked.CompareExchange(ref *Word(i), (w & ~3UL) | StateExited, w);
        }
    }

    private static bool EnsureReady()
    {
        int state = Volatile.Read(ref s_state);
        if (state == 2) return true;
        if (state != 0 || Interlocked.CompareExchange(ref s_state, 1, 0) != 0) return false;
        bool ok = OsMemory.TryMapAligned((nuint)(MaxSlots * RecordBytes), OsMemory.PageSize, out void* table, out _)
            && OsThread.TryCreateExitKey(out s_exitKey, out _);
        // Every semaphore is made here, once (T2), and sem_trywait and pthread_setspecific are called once
        // (sem_trywait on slot 0's semaphore, never used): binding a P/Invoke on its first call in the process allocates managed memory, which
        // must not happen later inside a heap operation (on whichever thread first scans).
        for (int i = 0; ok && i < MaxSlots; i++) ok = OsThread.TryInitExitSemaphore((byte*)table + i * RecordBytes + SemaphoreOffset, out _);
        if (ok)
        {
            _ = OsThread.HasExited((byte*)table + SemaphoreOffset);
            OsThread.SetKeyValue(s_exitKey, null); // binds pthread_setspecific too (the claim sets the real value)
        }
        if (ok) s_records = (byte*)table;
        Volatile.Write(ref s_state, ok ? 2 : 3);
        return ok;
    }
}
