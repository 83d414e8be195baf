# Python allocation workload for the LD_PRELOAD comparison (bench/preload/run.sh; the preload tests run
# a smaller copy): threads build and drop large dicts, lists, strings and bytes objects. Prints one
# digest per thread, identical under every allocator. Usage: python3 alloc.py [rounds] [threads]
import hashlib
import sys
import threading

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 6
nthreads = int(sys.argv[2]) if len(sys.argv) > 2 else 4
results = [None] * nthreads


def work(k):
    h = hashlib.sha256()
    for rnd in range(rounds):
        d = {f"key{k}-{i}": ("v" * (i % 300)) + str(i) for i in range(40000)}
        l = [list(range(i % 50)) for i in range(20000)]
        s = "".join(str(i) for i in range(100000))
        big = [bytes(1000 + i % 5000) for i in range(300)]
        h.update(str(len(d)).encode())
        h.update(str(sum(map(len, l))).encode())
        h.update(s[-100:].encode())
        h.update(str(sum(map(len, big))).encode())
        h.update(d[f"key{k}-{rnd * 100}"].encode())
        del d, l, s, big
    results[k] = h.hexdigest()


threads = [threading.Thread(target=work, args=(k,)) for k in range(nthreads)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("\n".join(results))
