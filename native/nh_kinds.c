/*
 * nh_kinds.c: memkind's predefined kinds as the data symbols memkind.h declares
 * (extern memkind_t MEMKIND_DEFAULT; ...). NativeAOT exports only functions, so these objects live in
 * C, are linked into libnativeheap.so like nh_init.c, and are made global by native/kinds.map.
 *
 * A handle is a `struct memkind` whose only field is a code: negative for a predefined kind
 * (-1 - its index in nh_predefined below, the order of memkind.h), and a NativeHeap MemoryKind id
 * (>= 1) for kinds created at run time (memkind_create_pmem; those handles are allocated by the C#
 * side). All logic is in C# (src/NativeHeap.Native/Exports/MemkindExports.cs); this file only
 * gives the predefined handles addresses, and nh_memkind_predefined() lets C# find them.
 */
#include <stddef.h>

struct memkind { int nh_code; };
typedef struct memkind *memkind_t;

enum { NH_PREDEFINED = 15 };

static struct memkind nh_predefined[NH_PREDEFINED] = {
    {-1}, {-2}, {-3}, {-4}, {-5}, {-6}, {-7}, {-8}, {-9}, {-10}, {-11}, {-12}, {-13}, {-14}, {-15},
};

memkind_t MEMKIND_REGULAR = &nh_predefined[0];
memkind_t MEMKIND_DEFAULT = &nh_predefined[1];
memkind_t MEMKIND_HUGETLB = &nh_predefined[2];
memkind_t MEMKIND_HBW = &nh_predefined[3];
memkind_t MEMKIND_HBW_ALL = &nh_predefined[4];
memkind_t MEMKIND_HBW_PREFERRED = &nh_predefined[5];
memkind_t MEMKIND_HBW_HUGETLB = &nh_predefined[6];
memkind_t MEMKIND_HBW_ALL_HUGETLB = &nh_predefined[7];
memkind_t MEMKIND_HBW_PREFERRED_HUGETLB = &nh_predefined[8];
memkind_t MEMKIND_HBW_INTERLEAVE = &nh_predefined[9];
memkind_t MEMKIND_INTERLEAVE = &nh_predefined[10];
memkind_t MEMKIND_DAX_KMEM = &nh_predefined[11];
memkind_t MEMKIND_DAX_KMEM_ALL = &nh_predefined[12];
memkind_t MEMKIND_DAX_KMEM_PREFERRED = &nh_predefined[13];
memkind_t MEMKIND_DAX_KMEM_INTERLEAVE = &nh_predefined[14];

/* The handle of predefined kind `index` (0..14, memkind.h's order), or NULL. Called from C#. */
memkind_t nh_memkind_predefined(int index)
{
    return index >= 0 && index < NH_PREDEFINED ? &nh_predefined[index] : NULL;
}
