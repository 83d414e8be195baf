/*
 * lockfree_stack.pml: a Promela model of the tagged Treiber stacks of NativeHeap's lock-free heap (the
 * per-class partial lists of src/NativeHeap/LockFree/LockFreeCore.cs, ListPush/ListPop, written for the
 * heap's first version, whose free lists were such stacks; "carve" stands for taking a unit from the
 * pool) for the spin model checker. michael_anchor.pml models the superblock protocol around them.
 * Run: bash models/run-spin.sh
 *
 * What is modelled
 *   - NS = 2 shards, each with one list head of one size class. A head is a tagged word: the
 *     offset (headOff) plus a tag. The tag is modelled exactly as the real heap relies on it: a CAS
 *     succeeds only if the offset is unchanged and no successful CAS on that head happened since
 *     this thread read it (fresh bits; see SAME). That is what a tag gives as long as it does not
 *     wrap inside one operation (2^32 CASes in the real heap), and it keeps the state space finite.
 *   - NB blocks with a next link each (nxt); PRE of them start on shard 0's list, the others are
 *     carved one at a time by a CAS on a bump counter (top).
 *   - NTHREADS threads. Each repeatedly (OPS times, or forever with OPS=0), in any order: allocates
 *     (pop from a shard, else carve, else pop from the other shard, else "null"), frees a block it
 *     holds (push onto either shard: threads migrate between processors), or overwrites the next
 *     link of a block it holds with any value (user data: what makes a stale next link dangerous).
 *     A thread holds up to 2 blocks.
 *   - Pop reads the head, then the next link, then CASes: three separate steps, so other threads
 *     may run between them, as in the C# code. Push writes the next link, then CASes.
 *   Splitting a large block is not modelled separately: it begins with the same Pop, and what
 *   follows (writing the page table and the pieces' next links) touches only blocks the splitting
 *   thread owns, like the user writes modelled here.
 *
 * What is checked (the assertions are tagged S1..S5 below)
 *   S1  a popped or carved block is owned by nobody: no block is handed out twice;
 *   S2  a pushed block is owned by the pusher;
 *   S3  after every CAS, every carved block is either owned by one thread and on no list, or owned
 *       by nobody and on exactly one list, and no list is cyclic (invariant I1/I2 of the C# file);
 *   S4  a CAS fails only if another thread's CAS on the same word succeeded since the failing
 *       thread read it: the step the lock-freedom argument rests on;
 *   S5  when every thread has finished (bounded OPS), every block is free and on exactly one list.
 *   Progress: compiled with -DNP and run with pan -l, spin finds no non-progress cycle, i.e. no
 *   infinite run in which no thread completes an operation (the label "progress" marks the start
 *   of each operation): lock-freedom, for any scheduling, without fairness.
 *   Negative controls: -DNOTAG (CAS compares offsets only) must make spin find the ABA violation;
 *   -DSPINLOCK (a test-and-set lock around Pop and Push) must make it find a non-progress cycle.
 */

#ifndef NTHREADS
#define NTHREADS 2
#endif
#ifndef NB
#define NB 3
#endif
#ifndef OPS
#define OPS 3
#endif
#ifndef PRE
#define PRE 2          /* blocks already carved and on shard 0's list at the start: 1 -> 2 -> ... */
#endif
#define NS 2

/* The tag, modelled exactly as the real heap needs it: a CAS on a head succeeds only if no other
 * CAS on that head succeeded since this thread read it (fresh), which is what a tag that cannot
 * wrap within one operation gives. This abstraction keeps the state space finite without a wrapping
 * counter, so runs of any length (OPS 0) can be checked. */
#define ME (_pid - 1)
#ifdef NOTAG
#define SAME(sh) (headOff[sh] == ro)
#else
#define SAME(sh) (headOff[sh] == ro && fresh[ME * NS + sh])
#endif

byte headOff[NS];
bit fresh[NTHREADS * NS];  /* the tag: thread t's last read of head s is still current */
byte nxt[NB + 1];      /* next link of block 1..NB; 0 = none */
byte top;              /* blocks 1..top have been carved */
/* ghost state, for the assertions only */
byte owner[NB + 1];    /* 0 = free (or never carved), else the owning thread's _pid + 1 */
byte finished;         /* threads that have returned everything they held */
/* temporaries of the invariant walk; hidden: not part of the state */
hidden byte wb, wcur, wn, ws, wt;
hidden byte won[NB + 1];

/* S3: every carved block is owned by one thread and on no list, or owned by nobody and on exactly
 * one list; no list is cyclic. The state it speaks about changes only in the CAS steps (a user
 * write changes the link of an owned block, which is on no list), so it is checked at the end of
 * each of them, inside the same indivisible step. With FINAL, also: nobody owns anything. */
/* SPINLOCK: a deliberately blocking variant (a test-and-set lock around every Pop and Push), to
 * show that the progress check can fail: a thread that stops while holding the lock stops
 * everybody, and spin reports the non-progress cycle of the others' spinning. */
bit lk;
inline acquire()
{
#ifdef SPINLOCK
    do
    :: d_step { lk == 0 -> lk = 1 }; break
    :: lk != 0 -> skip
    od
#else
    skip
#endif
}
inline release()
{
#ifdef SPINLOCK
    lk = 0
#else
    skip
#endif
}

/* A successful CAS on head sh: every other reader's tag is now stale. */
inline bump(sh)
{
    wt = 0;
    do
    :: wt < NTHREADS -> fresh[wt * NS + sh] = 0; wt++
    :: else -> break
    od;
    wt = 0
}

inline check(FINAL)
{
    wb = 0;
    do
    :: wb <= NB -> won[wb] = 0; wb++
    :: else -> break
    od;
    ws = 0;
    do
    :: ws < NS ->
        wcur = headOff[ws]; wn = 0;
        do
        :: wcur != 0 && wn <= NB -> won[wcur]++; wcur = nxt[wcur]; wn++
        :: else -> break
        od;
        assert(wcur == 0);
        ws++
    :: else -> break
    od;
    wb = 1;
    do
    :: wb <= top ->
        assert((owner[wb] == 0 && won[wb] == 1) || (!FINAL && owner[wb] != 0 && won[wb] == 0));
        wb++
    :: else -> break
    od;
    wb = 0; wcur = 0; wn = 0; ws = 0
}

inline pop(sh, r)
{
    acquire();
    r = 0;
    done = 0;
    do
    :: done -> break
    :: else ->
        atomic { ro = headOff[sh]; fresh[ME * NS + sh] = 1 }
        if
        :: ro == 0 -> done = 1
        :: else ->
            rn = nxt[ro];           /* speculative read: the block may be someone else's now */
            d_step {
                if
                :: SAME(sh) ->
                    headOff[sh] = rn; bump(sh);
                    assert(owner[ro] == 0);                     /* S1 */
                    owner[ro] = _pid + 1; r = ro; done = 1;
                    check(0)
                :: else ->
                    assert(fresh[ME * NS + sh] == 0)             /* S4 */
                fi
            }
        fi
    od;
    release()
}

inline push(sh, bk)
{
    acquire();
    done = 0;
    do
    :: done -> break
    :: else ->
        atomic { ro = headOff[sh]; fresh[ME * NS + sh] = 1 }
        nxt[bk] = ro;
        d_step {
            if
            :: SAME(sh) ->
                headOff[sh] = bk; bump(sh);
                assert(owner[bk] == _pid + 1);                   /* S2 */
                owner[bk] = 0; done = 1;
                check(0)
            :: else ->
                assert(fresh[ME * NS + sh] == 0)                 /* S4 */
            fi
        }
    od;
    release()
}

inline carve(r)
{
    r = 0;
    done = 0;
    do
    :: done -> break
    :: else ->
        rt = top;
        if
        :: rt >= NB -> done = 1
        :: else ->
            d_step {
                if
                :: top == rt ->
                    top = rt + 1; r = rt + 1;
                    assert(owner[r] == 0);                    /* S1 */
                    owner[r] = _pid + 1; done = 1;
                    check(0)
                :: else ->
                    assert(top != rt)                           /* S4 */
                fi
            }
        fi
    od
}

proctype Thread()
{
    byte h1, h2, s, res, ro, rt, rn, v, done;
    byte ops = 0;
    do
    :: OPS == 0 || ops < OPS ->
progress:
        if
        :: h1 == 0 || h2 == 0 ->
            /* allocate: own shard s, then carve, then the other shard */
            select(s : 0 .. NS - 1);
            pop(s, res);
            if
            :: res == 0 -> carve(res)
            :: else -> skip
            fi;
            if
            :: res == 0 -> pop(1 - s, res)
            :: else -> skip
            fi;
            if
            :: res != 0 && h1 == 0 -> h1 = res
            :: res != 0 && h1 != 0 -> h2 = res
            :: else -> skip   /* null: every list and the arena were empty when visited */
            fi
        :: h1 != 0 -> select(s : 0 .. NS - 1); push(s, h1); h1 = 0
        :: h2 != 0 -> select(s : 0 .. NS - 1); push(s, h2); h2 = 0
        :: h1 != 0 -> atomic { select(v : 0 .. NB); nxt[h1] = v; v = 0 }  /* user data over the link */
        fi;
        /* forget the temporaries, so that states differing only in dead values are one state */
        atomic {
            s = 0; res = 0; ro = 0; rt = 0; rn = 0; done = 0;
            fresh[ME * NS] = 0; fresh[ME * NS + 1] = 0;
            if
            :: OPS != 0 -> ops++
            :: else -> skip
            fi
        }
    :: else -> break
    od;
    /* give back what is still held */
    if
    :: h1 != 0 -> push(0, h1); h1 = 0
    :: else -> skip
    fi;
    if
    :: h2 != 0 -> push(1, h2); h2 = 0
    :: else -> skip
    fi;
    finished++
}

init
{
    byte i;
    atomic {
        top = PRE;
        i = 1;
        do
        :: i < PRE -> nxt[i] = i + 1; i++
        :: else -> break
        od;
        headOff[0] = (PRE > 0 -> 1 : 0);
        i = 0;
        do
        :: i < NTHREADS -> run Thread(); i++
        :: else -> break
        od;
        i = 0
    }
    /* S5, once every thread has finished (only with bounded OPS) */
    (finished == NTHREADS) -> d_step { check(1) }
}
