// PreRuntimeThreadTests: threads that exist before the drop-in has started the .NET runtime. The
// program links a library (DT_NEEDED) whose ELF constructor starts four threads; ld.so runs the
// constructors of a program's own libraries before those of LD_PRELOAD libraries (initialisation in
// reverse load order, and preloaded libraries load first), so the threads are running — and calling
// malloc/free, served by glibc while the runtime is not up — when libnativeheap-preload.so's
// constructor starts it. They keep going across the start and are then served by NativeHeap
// (foreign threads attached on their first call), freeing blocks from both allocators.
// The constructor prints how many threads the process had when it ran: 1 plus its own four is the
// same with and without the preload only when it ran before the runtime (which adds a thread).
namespace NativeHeap.Tests.Preload;

public sealed class PreRuntimeThreadTests
{
    private const string LibrarySource = """
        #define _GNU_SOURCE
        #include <dirent.h>
        #include <dlfcn.h>
        #include <pthread.h>
        #include <stdatomic.h>
        #include <stdint.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>

        atomic_int prethreads_go;
        static pthread_t threads[4];
        static unsigned long sums[4];
        static int failures[4];
        static int served[4];   /* 1: this thread's phase-2 bytes show in NativeHeap's thread.allocated */

        static int tasks(void)
        {
            DIR *d = opendir("/proc/self/task");
            int n = 0;
            struct dirent *e;
            if (!d) return -1;
            while ((e = readdir(d)) != NULL) if (e->d_name[0] != '.') n++;
            closedir(d);
            return n;
        }

        static void *work(void *arg)
        {
            int id = (int)(uintptr_t)arg;
            void *early[64];
            int nearly = 0;
            unsigned long sum = 0;
            /* Phase 1: until main starts, allocate and free (glibc before the runtime is up, NativeHeap
               after); keep a few early blocks to free later, whichever allocator made them. */
            for (unsigned k = 0; !atomic_load(&prethreads_go); k++) {
                size_t n = 16 + (k * 131 + id) % 5000;
                char *p = malloc(n);
                if (!p) { failures[id]++; break; }
                memset(p, id, n);
                if (nearly < 64 && k % 97 == 0) early[nearly++] = p;
                else free(p);
            }
            /* Phase 2: a fixed amount of work, checked. thread.allocated (the drop-in's mallctl; absent
               without it) must grow by at least the bytes asked for, or NativeHeap did not serve them. */
            typedef int (*mallctl_fn)(const char *, void *, size_t *, void *, size_t);
            mallctl_fn ctl = (mallctl_fn)dlsym(RTLD_DEFAULT, "mallctl");
            unsigned long long before = 0, after = 0, asked = 0;
            size_t len = sizeof before;
            if (ctl) ctl("thread.allocated", &before, &len, NULL, 0);
            void *live[256] = {0};
            for (int k = 0; k < 200000; k++) {
                int slot = (k * 7 + id) & 255;
                if (live[slot]) {
                    unsigned char *q = live[slot];
                    if (q[0] != (unsigned char)(slot + id)) failures[id]++;
                    sum += q[0];
                    free(q);
                }
                size_t n = 8 + (k * 37 + id) % (k % 100 == 0 ? 200000 : 3000);
                asked += n;
                unsigned char *p = malloc(n);
                if (!p) { failures[id]++; live[slot] = NULL; continue; }
                p[0] = (unsigned char)(slot + id);
                p[n - 1] = 1;
                live[slot] = p;
            }
            len = sizeof after;
            if (ctl && ctl("thread.allocated", &after, &len, NULL, 0) == 0) served[id] = after - before >= asked;
            for (int s = 0; s < 256; s++) free(live[s]);
            for (int i = 0; i < nearly; i++) {
                if (((unsigned char *)early[i])[0] != (unsigned char)id) failures[id]++;
                free(early[i]);
            }
            sums[id] = sum;
            return NULL;
        }

        __attribute__((constructor)) static void start_threads(void)
        {
            int before = tasks();
            for (int i = 0; i < 4; i++) pthread_create(&threads[i], NULL, work, (void *)(uintptr_t)i);
            printf("tasks when the library's constructor ran: %d\n", before);
            fflush(stdout);
        }

        int prethreads_join(void)
        {
            int bad = 0;
            for (int i = 0; i < 4; i++) {
                pthread_join(threads[i], NULL);
                printf("thread %d: sum %lu, failures %d, served by nativeheap: %s\n", i, sums[i], failures[i], served[i] ? "yes" : "no");
                bad += failures[i];
            }
            return bad;
        }
        """;

    private const string ProgramSource = """
        #include <stdatomic.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        extern atomic_int prethreads_go;
        int prethreads_join(void);
        int main(void)
        {
            char *s = malloc(64);
            strcpy(s, "main ran");
            atomic_store(&prethreads_go, 1);
            int bad = prethreads_join();
            printf("%s, %s\n", s, bad ? "FAILED" : "ok");
            free(s);
            return bad != 0;
        }
        """;

    [ProgramFact("gcc")]
    public void ThreadsStartedBeforeTheRuntimeAllocateThroughIt()
    {
        string dir = Directory.CreateTempSubdirectory("nh-preload-prethreads-").FullName;
        try
        {
            string libSrc = Path.Combine(dir, "prethreads.c"), lib = Path.Combine(dir, "libprethreads.so");
            string src = Path.Combine(dir, "main.c"), exe = Path.Combine(dir, "prog");
            File.WriteAllText(libSrc, LibrarySource);
            File.WriteAllText(src, ProgramSource);
            RunResult cc = PreloadHarness.Run("gcc", ["-O2", "-pthread", "-shared", "-fPIC", "-o", lib, libSrc], preload: false, locale: null, TimeSpan.FromMinutes(2));
            Assert.True(cc.ExitCode == 0, "gcc (library) failed:\n" + cc);
            cc = PreloadHarness.Run("gcc", ["-O2", "-pthread", "-o", exe, src, "-L" + dir, "-lprethreads", "-Wl,-rpath," + dir], preload: false, locale: null, TimeSpan.FromMinutes(2));
            Assert.True(cc.ExitCode == 0, "gcc (program) failed:\n" + cc);
            RunResult plain = PreloadHarness.Run(exe, [], preload: false, locale: null, TimeSpan.FromMinutes(2));
            Assert.True(plain.ExitCode == 0, plain.ToString());
            Assert.Contains("tasks when the library's constructor ran: 1\n", plain.Stdout);
            Assert.Equal(4, plain.Stdout.Split('\n').Count(l => l.EndsWith("served by nativeheap: no", StringComparison.Ordinal)));
            // Same output with the preload (so the constructor ran before the runtime's thread existed),
            // apart from who served the threads; NativeHeap served every thread's phase-2 allocations.
            static string Who(string s) => s.Replace("served by nativeheap: yes", "served by nativeheap: ?").Replace("served by nativeheap: no", "served by nativeheap: ?");
            PreloadHarness.AssertSameWithPreload(exe, [], minMallocs: 1_000, normalize: Who);
            RunResult nh = PreloadHarness.Run(exe, [], preload: true, locale: null, TimeSpan.FromMinutes(2));
            Assert.True(nh.ExitCode == 0, nh.ToString());
            Assert.Contains("tasks when the library's constructor ran: 1\n", nh.Stdout);
            Assert.True(nh.Stdout.Split('\n').Count(l => l.EndsWith("served by nativeheap: yes", StringComparison.Ordinal)) == 4, nh.ToString());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
