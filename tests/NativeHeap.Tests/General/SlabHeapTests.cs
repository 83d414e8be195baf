using System.Runtime.InteropServices;
using NativeHeap.General;

namespace NativeHeap.Tests.General;

public unsafe class SlabHeapTests
{
    [Fact]
    public void PopsInAddressOrderWithArbitraryRemovals()
    {
        const int N = 2000;
        PageDesc* nodes = (PageDesc*)NativeMemory.AllocZeroed(N, (nuint)sizeof(PageDesc));
        try
        {
            var rng = new Random(5);
            PageDesc* root = null;
            var inHeap = new SortedSet<int>();
            for (int step = 0; step < 200_000; step++)
            {
                int op = rng.Next(3);
                int i = rng.Next(N);
                if (op == 0 && !inHeap.Contains(i))
                {
                    SlabHeap.Insert(&root, nodes + i);
                    inHeap.Add(i);
                }
                else if (op == 1 && inHeap.Count > 0)
                {
                    PageDesc* min = SlabHeap.PopMin(&root);
                    Assert.Equal(inHeap.Min, (int)(min - nodes));
                    inHeap.Remove(inHeap.Min);
                }
                else if (op == 2 && inHeap.Contains(i))
                {
                    SlabHeap.Remove(&root, nodes + i);
                    inHeap.Remove(i);
                }
                if (step % 10_000 == 0)
                {
                    int count = 0;
                    Assert.True(SlabHeap.ForEach(root, _ => ++count > 0, N + 1), "heap order or links broken");
                    Assert.Equal(inHeap.Count, count);
                }
            }
            while (inHeap.Count > 0)
            {
                Assert.Equal(inHeap.Min, (int)(SlabHeap.PopMin(&root) - nodes));
                inHeap.Remove(inHeap.Min);
            }
            Assert.True(root == null);
        }
        finally
        {
            NativeMemory.Free(nodes);
        }
    }
}
