// SlabHeap: a bin's non-full slabs as a pairing heap keyed by address, so the bin always refills
// from the lowest-addressed slab with room (as jemalloc does). Live blocks concentrate in low slabs
// and high slabs drain completely and go back to the arena, which keeps fragmentation and RSS down.
//
// Links live in the slab's PageDesc: Child (first child), Next (next sibling), Prev (parent when
// the node is a first child, else the left sibling). Insert and meld are O(1); removing the minimum
// or an arbitrary slab is O(log n) amortised. All operations run under the bin's lock.
// Invariant: every node's address is at least its parent's; the root's Prev and Next are null.
namespace NativeHeap.General;

internal static unsafe class SlabHeap
{
    private static PageDesc* Meld(PageDesc* a, PageDesc* b)
    {
        if (b < a)
        {
            PageDesc* t = a;
            a = b;
            b = t;
        }
        b->Prev = a;
        b->Next = a->Child;
        if (a->Child != null) a->Child->Prev = b;
        a->Child = b;
        return a;
    }

    internal static void Insert(PageDesc** root, PageDesc* x)
    {
        x->Child = x->Next = x->Prev = null;
        *root = *root == null ? x : Meld(*root, x);
    }

    /// <summary>Removes and returns the lowest-addressed slab, or null.</summary>
    internal static PageDesc* PopMin(PageDesc** root)
    {
        PageDesc* min = *root;
        if (min == null) return null;
        *root = MergePairs(min->Child);
        min->Child = min->Next = min->Prev = null;
        return min;
    }

    /// <summary>Removes <paramref name="x"/>, which must be in the heap.</summary>
    internal static void Remove(PageDesc** root, PageDesc* x)
    {
        if (x == *root)
        {
            PopMin(root);
            return;
        }
        if (x->Prev->Child == x) x->Prev->Child = x->Next; else x->Prev->Next = x->Next;
        if (x->Next != null) x->Next->Prev = x->Prev;
        PageDesc* sub = MergePairs(x->Child);
        x->Child = x->Next = x->Prev = null;
        if (sub != null) *root = Meld(*root, sub);
    }

    // Two-pass pairing of a sibling list: meld pairs left to right, then fold the results right to left.
    private static PageDesc* MergePairs(PageDesc* first)
    {
        PageDesc* acc = null;
        while (first != null)
        {
            PageDesc* a = first, b = a->Next;
            if (b == null)
            {
                a->Prev = null;
                a->Next = acc;
                acc = a;
                break;
            }
            first = b->Next;
            a->Next = b->Next = a->Prev = b->Prev = null;
            PageDesc* m = Meld(a, b);
            m->Next = acc;
            acc = m;
        }
        PageDesc* result = null;
        while (acc != null)
        {
            PageDesc* next = acc->Next;
            acc->Next = null;
            acc->Prev = null;
            result = result == null ? acc : Meld(result, acc);
            acc = next;
        }
        return result;
    }

    /// <summary>Visits every slab in the heap (validation); returns false when <paramref name="visit"/> does.</summary>
    internal static bool ForEach(PageDesc* root, Func<nint, bool> visit, int limit)
    {
        var stack = new Stack<nint>();
        if (root != null) stack.Push((nint)root);
        int seen = 0;
        while (stack.Count > 0)
        {
            PageDesc* d = (PageDesc*)stack.Pop();
            if (++seen > limit || !visit((nint)d)) return false;
            if (d->Child != null)
            {
                if (d->Child < d || d->Child->Prev != d) return false;
                stack.Push((nint)d->Child);
            }
            if (d->Next != null)
            {
                if (d->Next->Prev != d) return false;
                stack.Push((nint)d->Next);
            }
        }
        return true;
    }
}
