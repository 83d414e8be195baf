/*
 * nativeheap.h: the standard allocation calls of libnativeheap.so under the nh_ prefix.
 *
 * NativeHeap's general heap (the one behind mallocx & co.) as malloc/free-style calls. They are
 * prefixed so that loading libnativeheap.so never replaces glibc's malloc for the whole process.
 * Memory from these calls and from mallocx/rallocx/mmalloc(NULL, ...) is one heap: any of nh_free,
 * dallocx, sdallocx, mfree(NULL, p) frees it. Never pass it to glibc's free(), nor glibc's memory to nh_free.
 *
 * errno: nh_malloc, nh_calloc, nh_realloc, nh_aligned_alloc, nh_memalign, nh_valloc set ENOMEM on
 * failure (EINVAL for an alignment that is not a power of two) and leave errno alone on success.
 * nh_posix_memalign returns 0, EINVAL or ENOMEM and never changes errno. nh_free of a pointer that
 * NativeHeap does not own prints a message on stderr and aborts.
 *
 * Define NATIVEHEAP_REPLACE_STD before including this header to make the unprefixed names in the
 * including source file (malloc, calloc, realloc, free, posix_memalign, aligned_alloc, memalign,
 * valloc, malloc_usable_size) call the nh_ functions: useful for jemalloc sources that mix free()
 * with the *allocx calls. It renames calls in that source only; nothing else in the process changes,
 * so memory that libc allocates for the program (strdup, asprintf, getline, realpath, ...) is still
 * glibc's and must not reach the renamed free() (nh_free aborts on it): free it with (free)(p) or
 * compile such code in another file.
 */
#ifndef NATIVEHEAP_H
#define NATIVEHEAP_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void *nh_malloc(size_t size);
void *nh_calloc(size_t count, size_t size);
void *nh_realloc(void *ptr, size_t size);
void nh_free(void *ptr);
int nh_posix_memalign(void **memptr, size_t alignment, size_t size);
void *nh_aligned_alloc(size_t alignment, size_t size);
void *nh_memalign(size_t alignment, size_t size);
void *nh_valloc(size_t size);
size_t nh_malloc_usable_size(void *ptr);

/* "NativeHeap <major>.<minor>": a static string. */
const char *nh_version(void);

/* Does nothing: its cost is the C-to-.NET call transition alone (for benchmarks). */
void nh_abi_nop(void);

#ifdef NATIVEHEAP_REPLACE_STD
#  include <stdlib.h>
#  include <malloc.h>
#  define malloc(size) nh_malloc(size)
#  define calloc(count, size) nh_calloc(count, size)
#  define realloc(ptr, size) nh_realloc(ptr, size)
#  define free(ptr) nh_free(ptr)
#  define posix_memalign(memptr, alignment, size) nh_posix_memalign(memptr, alignment, size)
#  define aligned_alloc(alignment, size) nh_aligned_alloc(alignment, size)
#  define memalign(alignment, size) nh_memalign(alignment, size)
#  define valloc(size) nh_valloc(size)
#  define malloc_usable_size(ptr) nh_malloc_usable_size(ptr)
#endif

#ifdef __cplusplus
}
#endif

#endif /* NATIVEHEAP_H */
