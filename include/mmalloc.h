/*
 * mmalloc.h for libnativeheap.so: GNU mmalloc's interface with its names and signatures, so that
 * source written for mmalloc compiles unchanged against NativeHeap (link with -lnativeheap).
 *
 * A descriptor (md) is the heap's base address. mmalloc_attach(fd, baseaddr) attaches the heap kept
 * in the open file fd (an empty file gets a new heap; fd < 0 gives an anonymous heap that does not
 * persist) at baseaddr, or, for NULL, at the heap's recorded address (a new heap: an address
 * NativeHeap chooses). Pointers stored in the heap stay valid when it is reattached at the same
 * address, in this process or another. A NULL descriptor means the general heap (nh_malloc's).
 * Also GNU mmalloc's mmcheck/mmcheckf, mmtrace, mmstats and mmalloc_findbase, and NativeHeap's
 * mmalloc_attach_flags (MMALLOC_ALLOW_RELOCATION). docs/c-abi.md has the full contract (errno
 * values, keys).
 */
#ifndef MMALLOC_H
#define MMALLOC_H 1

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Number of keys per heap (mmalloc_setkey / mmalloc_getkey). */
#define MMALLOC_KEYS 32

void *mmalloc_attach(int fd, void *baseaddr);  /* descriptor, or NULL with errno set */
void *mmalloc_detach(void *md);                /* NULL on success, md on failure */
int mmalloc_errno(void *md);                   /* errno of md's most recent failure, 0 if none */
int mmalloc_setkey(void *md, int keynum, void *key); /* 1 on success, 0 on failure */
void *mmalloc_getkey(void *md, int keynum);

void *mmalloc(void *md, size_t size);
void *mrealloc(void *md, void *ptr, size_t size);
void *mcalloc(void *md, size_t nmemb, size_t size);
void *mvalloc(void *md, size_t size);
void *mmemalign(void *md, size_t alignment, size_t size);
void mfree(void *md, void *ptr);

/* Heap statistics (mmstats): sizes in bytes, counts of blocks. */
struct mstats {
    size_t bytes_total;  /* the region in use */
    size_t chunks_used;  /* allocated blocks */
    size_t bytes_used;   /* bytes in allocated blocks */
    size_t chunks_free;  /* free blocks */
    size_t bytes_free;   /* bytes in free blocks */
};

/* From now on a bad mfree/mrealloc on md calls func (abort with a message when NULL). 1 when
   installed; 0 when md already holds blocks (mmcheckf with force != 0 installs anyway) or is unknown. */
int mmcheck(void *md, void (*func)(void));
int mmcheckf(void *md, void (*func)(void), int force);
/* Appends a line per mmalloc-family call on mapped heaps to the file named by MALLOC_TRACE; 1 when on. */
int mmtrace(void);
struct mstats mmstats(void *md);
/* An address where size bytes are free now (for mmalloc_attach's baseaddr), or NULL. */
void *mmalloc_findbase(int size);

/* NativeHeap: mmalloc_attach with flags. MMALLOC_ALLOW_RELOCATION opens an existing heap at another
   address than its recorded one (its raw pointers are then wrong; keys follow the heap). */
#define MMALLOC_ALLOW_RELOCATION 1
void *mmalloc_attach_flags(int fd, void *baseaddr, int flags);

#ifdef __cplusplus
}
#endif

#endif /* MMALLOC_H */
