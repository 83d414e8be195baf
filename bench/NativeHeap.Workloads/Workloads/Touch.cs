// Touch: the memory-touching loops of the workloads, kept out of line (NoInlining, not generic) so
// every allocator runs literally the same machine code for them. Inlined into a workload's
// specialised method they would be compiled next to that allocator's inlined fast paths, and
// register allocation around them would differ from allocator to allocator.
using System.Runtime.CompilerServices;

namespace NativeHeap.Workloads.Workloads;

/// <summary>Shared, out-of-line memory touching.</summary>
internal static unsafe class Touch
{
    /// <summary>cache-scratch/thrash: write each byte then read it back, <paramref name="repetitions"/> times; returns a checksum.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static long WriteReadBytes(byte* obj, int size, int repetitions)
    {
        long check = 0;
        for (int j = 0; j < repetitions; j++)
        {
            for (int k = 0; k < size; k++)
            {
                obj[k] = (byte)k;
                byte ch = Volatile.Read(ref obj[k]);
                ch++;
                check += ch;
            }
        }
        return check;
    }

    /// <summary>glibc-thread: p[i] = (byte)i for every byte.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void IndexBytes(byte* p, uint size)
    {
        for (uint i = 0; i < size; i++)
        {
            p[i] = (byte)i;
        }
    }

    /// <summary>glibc-simple: p[g] = g for every int.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void IndexInts(int* p, int count)
    {
        for (int g = 0; g < count; g++)
        {
            p[g] = g;
        }
    }

    /// <summary>mstress: word i holds (items − i) xor cookie.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void FillCookie(ulong* p, ulong items, ulong cookie)
    {
        for (ulong i = 0; i < items; i++)
        {
            p[i] = (items - i) ^ cookie;
        }
    }

    /// <summary>mstress: false at the first word that does not hold its pattern.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static bool CheckCookie(ulong* p, ulong cookie, out ulong badWord)
    {
        ulong items = p[0] ^ cookie;
        for (ulong i = 0; i < items; i++)
        {
            if ((p[i] ^ cookie) != items - i)
            {
                badWord = i;
                return false;
            }
        }
        badWord = 0;
        return true;
    }
}
