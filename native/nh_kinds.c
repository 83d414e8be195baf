/*
 * nh_kinds.c: memkind's predefined kinds as the data symbols memkind.h declares
 * (extern memkind_t MEMKIND_DEFAULT; ...). NativeAOT exports only functions, so these objects live in
 * C, are linked into libnativeheap.so like nh_init.c, and are made global by native/kinds.map.
 *
 * A handle is a `struct memkind` (the layout of include/memkind/internal/memkind_arena.h and of
 * MemkindHandle in src/NativeHeap.Native/Exports/MemkindHandles.cs): a code — negative for a
 * predefined kind (-1 - its index in nh_predefined below, the order of MemkindHandles.s_names), a
 * NativeHeap MemoryKind id (>= 1) for kinds created at run time, 0 for an ops kind without arenas —,
 * flags, the kind's operations (NULL here), its name and a word for the operations. All logic is in
 * C# (MemkindExports.cs); this file only gives the predefined handles addresses, and
 * nh_memkind_predefined() lets C# find them.
 */
#include <stddef.h>

struct memkind_ops;
struct memkind {
    int nh_code;
    int nh_flags;
    struct memkind_ops *ops;
    char name[64];
    void *priv;
};
typedef struct memkind *memkind_t;

enum { NH_PREDEFINED = 26 };

#define NH_KIND(code, text) { code, 0, NULL, text, NULL }
static struct memkind nh_predefined[NH_PREDEFINED] = {
    NH_KIND(-1, "memkind_regular"), NH_KIND(-2, "memkind_default"), NH_KIND(-3, "memkind_hugetlb"),
    NH_KIND(-4, "memkind_hbw"), NH_KIND(-5, "memkind_hbw_all"), NH_KIND(-6, "memkind_hbw_preferred"),
    NH_KIND(-7, "memkind_hbw_hugetlb"), NH_KIND(-8, "memkind_hbw_all_hugetlb"),
    NH_KIND(-9, "memkind_hbw_preferred_hugetlb"), NH_KIND(-10, "memkind_hbw_interleave"),
    NH_KIND(-11, "memkind_interleave"), NH_KIND(-12, "memkind_dax_kmem"), NH_KIND(-13, "memkind_dax_kmem_all"),
    NH_KIND(-14, "memkind_dax_kmem_preferred"), NH_KIND(-15, "memkind_dax_kmem_interleave"),
    NH_KIND(-16, "memkind_highest_capacity"), NH_KIND(-17, "memkind_highest_capacity_preferred"),
    NH_KIND(-18, "memkind_highest_capacity_local"), NH_KIND(-19, "memkind_highest_capacity_local_preferred"),
    NH_KIND(-20, "memkind_lowest_latency_local"), NH_KIND(-21, "memkind_lowest_latency_local_preferred"),
    NH_KIND(-22, "memkind_highest_bandwidth_local"), NH_KIND(-23, "memkind_highest_bandwidth_local_preferred"),
    NH_KIND(-24, "memkind_gbtlb"), NH_KIND(-25, "memkind_hbw_gbtlb"), NH_KIND(-26, "memkind_hbw_preferred_gbtlb"),
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
memkind_t MEMKIND_HIGHEST_CAPACITY = &nh_predefined[15];
memkind_t MEMKIND_HIGHEST_CAPACITY_PREFERRED = &nh_predefined[16];
memkind_t MEMKIND_HIGHEST_CAPACITY_LOCAL = &nh_predefined[17];
memkind_t MEMKIND_HIGHEST_CAPACITY_LOCAL_PREFERRED = &nh_predefined[18];
memkind_t MEMKIND_LOWEST_LATENCY_LOCAL = &nh_predefined[19];
memkind_t MEMKIND_LOWEST_LATENCY_LOCAL_PREFERRED = &nh_predefined[20];
memkind_t MEMKIND_HIGHEST_BANDWIDTH_LOCAL = &nh_predefined[21];
memkind_t MEMKIND_HIGHEST_BANDWIDTH_LOCAL_PREFERRED = &nh_predefined[22];
memkind_t MEMKIND_GBTLB = &nh_predefined[23];
memkind_t MEMKIND_HBW_GBTLB = &nh_predefined[24];
memkind_t MEMKIND_HBW_PREFERRED_GBTLB = &nh_predefined[25];

/* The handle of predefined kind `index` (0..25, the order above), or NULL. Called from C#. */
memkind_t nh_memkind_predefined(int index)
{
    return index >= 0 && index < NH_PREDEFINED ? &nh_predefined[index] : NULL;
}

/* Whether a kind's get_arena operation is memkind_bijective_get_arena (one arena per kind). The
   comparison is made here, in C, against the symbol's canonical address (the one the program's ops
   table holds), which a C# function-pointer comparison cannot promise. */
extern int memkind_bijective_get_arena(struct memkind *kind, unsigned int *arena, size_t size);

int nh_memkind_is_bijective(const void *get_arena)
{
    return get_arena != NULL && get_arena == (const void *)&memkind_bijective_get_arena;
}
