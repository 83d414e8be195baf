/*
 * atomic_ops_malloc.h for libnativeheap.so: libatomic_ops' AO_malloc interface with its names and
 * signatures (link with -lnativeheap instead of -latomic_ops_gpl).
 *
 * NativeHeap's lock-free heap takes no lock and makes no blocking call, but every call enters .NET
 * code (a reverse P/Invoke transition), and that transition can wait while the runtime's garbage
 * collector has threads stopped, and must not be re-entered on one thread. So AO_MALLOC_IS_LOCK_FREE
 * is NOT defined, and the seed's rules apply: a signal handler may call AO_malloc/AO_free only if it
 * cannot interrupt another call of this library on the same thread. Without AO_malloc_enable_mmap()
 * the heap is a fixed 2 MiB area and requests of just under 64 KiB or more return NULL, as in
 * libatomic_ops. AO_free(NULL) does nothing; AO_free ignores a pointer it does not recognise.
 */
#ifndef AO_MALLOC_H
#define AO_MALLOC_H

#include <stddef.h>

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
