/*
 * atomic_ops_malloc.h for libnativeheap.so: libatomic_ops' AO_malloc interface with its names and
 * signatures (link with -lnativeheap instead of -latomic_ops_gpl).
 *
 * AO_malloc, AO_free and AO_malloc_enable_mmap are C code (native/nh_ao_malloc.c) that never enters
 * the .NET runtime: Maged Michael's lock-free allocator over the heap format NativeHeap's C#
 * LockFreeHeap defines (docs/lockfree.md). They take no lock, never wait for another thread, and make
 * no system call except mmap/munmap (for mapped chunks and large objects, after AO_malloc_enable_mmap),
 * so they may be called from any thread, from a signal handler (also one that interrupts AO_malloc or
 * AO_free on the same thread), and while the runtime is stopped for a garbage collection:
 * AO_MALLOC_IS_LOCK_FREE is defined. Without AO_malloc_enable_mmap() the heap is a fixed 2 MiB area
 * and requests of more than 65,520 bytes return NULL, as in libatomic_ops. errno is never changed.
 * AO_free(NULL) does nothing; AO_free ignores (and counts) a pointer it recognises as not a live block.
 */
#ifndef AO_MALLOC_H
#define AO_MALLOC_H

#include <stddef.h>

/* Every call is lock-free (not merely 1-lock-free) and safe in signal handlers. */
#define AO_MALLOC_IS_LOCK_FREE

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#  define AO_ATTR_MALLOC __attribute__((__malloc__))
#  define AO_ATTR_ALLOC_SIZE(argnum) __attribute__((__alloc_size__(argnum)))
#else
#  define AO_ATTR_MALLOC
#  define AO_ATTR_ALLOC_SIZE(argnum)
#endif

void AO_free(void *);

AO_ATTR_MALLOC AO_ATTR_ALLOC_SIZE(1)
void *AO_malloc(size_t);

/* Allow use of mmap to serve requests the fixed heap cannot. */
void AO_malloc_enable_mmap(void);

#ifdef __cplusplus
}
#endif

#endif /* !AO_MALLOC_H */
