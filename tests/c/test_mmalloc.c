/*
 * test_mmalloc.c: GNU mmalloc's interface through libnativeheap.so.
 *  - A heap file created by one process (a linked list of strings, its head under key 0) is
 *    reattached by a second process at the same address with every pointer still valid; the second
 *    process adds to it, and this process reattaches it again and sees both.
 *  - An anonymous heap (fd -1): mmalloc, mrealloc, mcalloc, mvalloc, mmemalign, mfree, keys,
 *    mmalloc_errno after bad frees, impossible sizes and bad keys; detach and use after detach.
 *  - Attach errors as errno: address taken (EEXIST), a file that is not a heap (EINVAL), a file
 *    another writer holds (EAGAIN). A NULL descriptor is the general heap.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <mmalloc.h>
#include <nativeheap.h>
#include "check.h"

struct node {
    struct node *next;
    int value;
    char *text;
};

static void *attach_path(const char *path, int *fd_out)
{
    int fd = open(path, O_RDWR | O_CREAT, 0600);
    if (fd < 0) return NULL;
    void *md = mmalloc_attach(fd, NULL);
    if (fd_out) *fd_out = fd;
    else close(fd); /* the heap keeps its own descriptor */
    return md;
}

/* Child 1: creates the heap with 100 nodes. Prints the descriptor. */
static int child_create(const char *path)
{
    void *md = attach_path(path, NULL);
    if (md == NULL) { printf("attach failed: errno %d\n", errno); return 1; }
    struct node *head = NULL;
    for (int i = 0; i < 100; i++) {
        struct node *n = mmalloc(md, sizeof *n);
        n->value = i;
        n->text = mmalloc(md, 32);
        snprintf(n->text, 32, "node %d", i);
        n->next = head;
        head = n;
    }
    if (mmalloc_setkey(md, 0, head) != 1) return 2;
    printf("md %p\n", md);
    return mmalloc_detach(md) == NULL ? 0 : 3;
}

/* Walks the list under key 0: 1 when it holds 100 nodes with the right values and texts. */
static int list_ok(void *md)
{
    int count = 0;
    for (struct node *n = mmalloc_getkey(md, 0); n != NULL; n = n->next, count++) {
        char expect[32];
        snprintf(expect, sizeof expect, "node %d", 99 - count);
        if (n->value != 99 - count || strcmp(n->text, expect) != 0) return 0;
    }
    return count == 100;
}

/* Child 2: reattaches, checks the list, adds a second root. Prints the descriptor. */
static int child_reopen(const char *path)
{
    void *md = attach_path(path, NULL);
    if (md == NULL) { printf("attach failed: errno %d\n", errno); return 1; }
    printf("md %p\n", md);
    if (!list_ok(md)) return 2;
    char *s = mmalloc(md, 64);
    strcpy(s, "written by the second process");
    if (mmalloc_setkey(md, 1, s) != 1) return 3;
    return mmalloc_detach(md) == NULL ? 0 : 4;
}

static int run_child(const char *self, const char *mode, const char *path, char *out, size_t outlen)
{
    char *const argv[] = {(char *)self, (char *)mode, (char *)path, NULL};
    int status = nh_spawn(argv, 1, NH_KEEP_ENV, out, outlen);
    if (status < 0) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_two_processes(const char *self, const char *dir)
{
    char path[1100], out1[256], out2[256];
    snprintf(path, sizeof path, "%s/list.heap", dir);
    int rc1 = run_child(self, "create", path, out1, sizeof out1);
    CHECK_MSG(rc1 == 0, "create: rc %d, output %s", rc1, out1);
    int rc2 = run_child(self, "reopen", path, out2, sizeof out2);
    CHECK_MSG(rc2 == 0, "reopen: rc %d, output %s", rc2, out2);
    CHECK_MSG(strncmp(out1, "md 0x", 5) == 0 && strcmp(out1, out2) == 0, "descriptors differ: %s / %s", out1, out2);

    int fd;
    void *md = attach_path(path, &fd);
    CHECK(md != NULL);
    if (md == NULL) return;
    CHECK(list_ok(md));
    char *s = mmalloc_getkey(md, 1);
    CHECK(s != NULL && strcmp(s, "written by the second process") == 0);

    /* A second writer (another open file description) is refused while this one is attached. */
    int fd2 = open(path, O_RDWR);
    errno = 0;
    CHECK(mmalloc_attach(fd2, NULL) == NULL && errno == EAGAIN);
    close(fd2);
    CHECK(mmalloc_detach(md) == NULL);
    close(fd);
}

static void test_anonymous(void)
{
    void *md = mmalloc_attach(-1, NULL);
    CHECK(md != NULL);
    if (md == NULL) return;

    errno = 321;
    char *a = mmalloc(md, 100);
    CHECK(a != NULL && ((uintptr_t)a & 15) == 0 && errno == 321);
    memset(a, 'a', 100);
    char *b = mrealloc(md, a, 10000);
    CHECK(b != NULL && b[0] == 'a' && b[99] == 'a' && errno == 321);
    CHECK(mrealloc(md, b, 0) == NULL && errno == 321); /* frees */

    unsigned char *c = mcalloc(md, 64, 64);
    int zero = c != NULL;
    for (int i = 0; c != NULL && i < 4096; i++) zero &= c[i] == 0;
    CHECK(zero);
    void *v = mvalloc(md, 5000);
    CHECK(v != NULL && ((uintptr_t)v & 4095) == 0);
    void *m = mmemalign(md, 256, 100);
    CHECK(m != NULL && ((uintptr_t)m & 255) == 0);
    CHECK(mmemalign(md, 3, 100) == NULL && errno == EINVAL);
    CHECK(mmemalign(md, 8192, 100) == NULL && errno == EINVAL);

    /* Keys: 1 on success, 0 on failure; only NULL or pointers into the heap. */
    CHECK(mmalloc_getkey(md, 5) == NULL);
    CHECK(mmalloc_setkey(md, 5, c) == 1 && mmalloc_getkey(md, 5) == c);
    CHECK(mmalloc_setkey(md, 5, NULL) == 1 && mmalloc_getkey(md, 5) == NULL);
    CHECK(mmalloc_setkey(md, MMALLOC_KEYS, c) == 0 && mmalloc_errno(md) == EINVAL);
    CHECK(mmalloc_setkey(md, -1, c) == 0);
    int local;
    CHECK(mmalloc_setkey(md, 0, &local) == 0);
    CHECK(mmalloc_getkey(md, MMALLOC_KEYS) == NULL);

    /* Bad frees change nothing and are reported by mmalloc_errno. */
    errno = 321;
    mfree(md, &local);
    CHECK(mmalloc_errno(md) == EINVAL && errno == 321);
    mfree(md, c);
    mfree(md, c); /* double free */
    CHECK(mmalloc_errno(md) == EINVAL);
    mfree(md, NULL);

    /* Larger than the heap can ever be (256 MiB by default). */
    CHECK(mmalloc(md, (size_t)1 << 30) == NULL && errno == ENOMEM && mmalloc_errno(md) == ENOMEM);

    mfree(md, v);
    mfree(md, m);
    CHECK(mmalloc_detach(md) == NULL);
    /* After detach the descriptor is unknown. */
    CHECK(mmalloc(md, 10) == NULL && errno == ENOMEM);
    CHECK(mmalloc_errno(md) == EBADF);
    CHECK(mmalloc_detach(md) == md);
}

static void test_base_address_and_errors(const char *dir)
{
    void *want = (void *)(uintptr_t)0x300000000000ull; /* 48 TiB: far from the kernel's choices */
    void *md = mmalloc_attach(-1, want);
    CHECK_MSG(md == want, "md %p", md);
    errno = 0;
    CHECK(mmalloc_attach(-1, want) == NULL && errno == EEXIST);
    CHECK(mmalloc_attach(-1, (char *)want + 100) == NULL && errno == EINVAL); /* not page aligned */
    if (md != NULL) CHECK(mmalloc_detach(md) == NULL);

    char path[1100];
    snprintf(path, sizeof path, "%s/not-a-heap", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    char junk[8192];
    memset(junk, 'x', sizeof junk);
    CHECK(write(fd, junk, sizeof junk) == (ssize_t)sizeof junk);
    errno = 0;
    CHECK(mmalloc_attach(fd, NULL) == NULL && errno == EINVAL);
    close(fd);

    /* A NULL descriptor is the general heap, as mmalloc's default region. */
    void *p = mmalloc(NULL, 100);
    CHECK(p != NULL && nh_malloc_usable_size(p) >= 100);
    p = mrealloc(NULL, p, 1000);
    CHECK(p != NULL && nh_malloc_usable_size(p) >= 1000);
    mfree(NULL, p);
    unsigned char *dirty = mmalloc(NULL, 256);
    memset(dirty, 0xab, 256);
    mfree(NULL, dirty);
    unsigned char *zc = mcalloc(NULL, 16, 16); /* likely the same block: must come back zeroed */
    int zeroed = zc != NULL;
    for (int i = 0; zc != NULL && i < 256; i++) zeroed &= zc[i] == 0;
    CHECK(zeroed);
    mfree(NULL, zc);
    void *pv = mvalloc(NULL, 10);
    CHECK(pv != NULL && ((uintptr_t)pv & 4095) == 0);
    nh_free(pv);
    CHECK(mmalloc_setkey(NULL, 0, NULL) == 0 && mmalloc_getkey(NULL, 0) == NULL && mmalloc_errno(NULL) == 0);
    CHECK(mmalloc_detach(NULL) == NULL);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "create") == 0) return child_create(argv[2]);
    if (argc == 3 && strcmp(argv[1], "reopen") == 0) return child_reopen(argv[2]);

    const char *tmp = getenv("TMPDIR");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/nh-mmalloc-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) { perror("mkdtemp"); return 1; }

    test_two_processes(argv[0], dir);
    test_anonymous();
    test_base_address_and_errors(dir);

    char cmd[1100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("could not remove %s\n", dir);
    return nh_finish("mmalloc");
}
