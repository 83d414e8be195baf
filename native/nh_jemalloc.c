/*
 * nh_jemalloc.c: jemalloc's two public variables, linked into libnativeheap.so like nh_kinds.c and
 * exported by native/kinds.map.
 *
 *  - malloc_conf: the options string a program may define itself (`const char *malloc_conf =
 *    "narenas:2";`). The library's own definition is weak and NULL; a program's definition interposes
 *    it (the executable comes first in symbol lookup), so the library reads the program's string. It is
 *    read once, when the library starts (Exports/LibraryInitializer.cs), and applied before
 *    NATIVEHEAP_CONF, which overrides it key by key (jemalloc's order: malloc_conf, then MALLOC_CONF).
 *  - malloc_message: the hook a program may set to receive the library's messages (warnings about
 *    options, malloc_stats_print output without a write callback, stats at exit). NULL: stderr.
 * The C# side reads both through the accessors below (direct calls bound at link time).
 */
#include <stddef.h>

__attribute__((weak)) const char *malloc_conf = NULL;
void (*malloc_message)(void *cbopaque, const char *s) = NULL;

/* The options string in force: the program's malloc_conf, or NULL. */
const char *nh_malloc_conf_value(void)
{
    return malloc_conf;
}

/* The address of malloc_message, so C# reads the hook at each use. */
void (**nh_malloc_message_slot(void))(void *, const char *)
{
    return &malloc_message;
}
