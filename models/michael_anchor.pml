/*
 * michael_anchor.pml: a Promela model of the superblock protocol of NativeHeap's lock-free heap
 * (src/NativeHeap/LockFree/LockFreeCore.cs, Maged Michael's allocator; native/nh_ao_malloc.c is the
 * same protocol) for the spin model checker. Run: bash models/run-spin.sh. The partial list is a
 * tagged Treiber stack whose protocol models/lockfree_stack.pml checks; here it is one atomic slot.
 *
 * What is modelled
 *   - One superblock of NB blocks with its anchor (avail, count, state; the tag is modelled as in
 *     lockfree_stack.pml: a CAS succeeds only if no successful write of the anchor happened since
 *     this thread read it, see SAMEA) and a next link per block.
 *   - Two per-processor active words (credits; 0 = none): a thread picks either row for each
 *     allocation (threads migrate). The partial list (onlist) and the pool (inpool: the unit is free).
 *   - NTHREADS threads; each, OPS times or forever (OPS = 0), allocates (MallocFromActive: take a
 *     credit by CAS, then pop the avail block by CAS, refilling credits or marking FULL when it took
 *     the last one, then UpdateActive; else MallocFromPartial; else MallocFromNewSB from the pool; else
 *     null), frees a block it holds (push by CAS; FULL -> PARTIAL pushes it on the list; the last
 *     free makes it EMPTY and sweeps the list, retiring it to the pool), or overwrites the next link
 *     of a block it holds (user data). Reads, the read of a next link, and each CAS are separate steps.
 *   - Reuse: a retired superblock is taken from the pool, re-threaded and its anchor rewritten while
 *     other threads may still hold stale anchor snapshots: the ABA that the tag must stop.
 *
 * What is checked
 *   A1  a block handed out is owned by nobody (no block twice), and the superblock it comes from is
 *       not EMPTY (a reserved block keeps it from becoming empty);
 *   A2  the superblock is pushed on the partial list only when it is not already on it;
 *   A3  retiring to the pool happens only when no block is owned, nothing is on the list, and no
 *       active word holds credits; taking from the pool finds every block free;
 *   A4  at the end (bounded OPS): count + credits = NB unless the superblock is in the pool.
 *   Progress (-DNP, pan -l): no non-progress cycle: lock-freedom without fairness.
 *   Negative control: -DNOTAG (the anchor CAS compares values only) must make spin find a violation.
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
#define MAXC 2
#define ACTIVE 0
#define FULL 1
#define PARTIAL 2
#define EMPTY 3
#define NONE 255
#define ME (_pid - 1)

byte avail, cnt, st = EMPTY;
bit afresh[NTHREADS];
byte nxt[NB];
byte actw[2];
bit onlist;
bit inpool = 1;
byte owner[NB];
byte finished;
hidden byte wi;

#ifdef NOTAG
#define SAMEA (avail == ra && cnt == rc && st == rs)
#else
#define SAMEA (afresh[ME])
#endif

inline bump()
{
    wi = 0;
    do
    :: wi < NTHREADS -> afresh[wi] = 0; wi++
    :: else -> break
    od;
    wi = 0
}

inline readanchor()
{
    atomic { ra = avail; rc = cnt; rs = st; afresh[ME] = 1 }
}

inline nobodyowns()
{
    wi = 0;
    do
    :: wi < NB -> assert(owner[wi] == 0); wi++
    :: else -> break
    od;
    wi = 0
}

inline retire()
{
    d_step { nobodyowns(); assert(!onlist && actw[0] == 0 && actw[1] == 0 && !inpool); inpool = 1 }
}

inline listpush()
{
    d_step { assert(!onlist); onlist = 1 }   /* A2 */
}

/* Pops the block at avail with one anchor CAS; with last, also moves credits or marks FULL. */
inline popblock(last)
{
    do
    :: readanchor();
       rn = nxt[ra];                          /* the ABA window */
       atomic {
           if
           :: SAMEA ->
               assert(owner[ra] == 0 && rs != EMPTY);   /* A1 */
               avail = rn;
               more = 0;
               if
               :: last && rc == 0 -> st = FULL
               :: last && rc > 0 -> more = (rc < MAXC -> rc : MAXC); cnt = rc - more
               :: else -> skip
               fi;
               owner[ra] = ME + 1; got = ra; bump(); ok = 1
           :: else -> ok = 0
           fi
       }
       if
       :: ok -> break
       :: else -> skip
       fi
    od
}

inline updateactive()
{
    atomic {
        if
        :: actw[row] == 0 -> actw[row] = more; ok = 1
        :: else -> ok = 0
        fi
    }
    if
    :: !ok ->
        do
        :: readanchor();
           atomic { if :: SAMEA -> cnt = rc + more; st = PARTIAL; bump(); ok = 1 :: else -> ok = 0 fi }
           if :: ok -> break :: else -> skip fi
        od;
        listpush()
    :: else -> skip
    fi
}

inline malloc()
{
    got = NONE;
    select(row : 0 .. 1);
    /* MallocFromActive: take a credit */
    do
    :: atomic { ract = actw[row] };
       if
       :: ract == 0 -> break
       :: else -> skip
       fi;
       atomic { if :: actw[row] == ract -> actw[row] = ract - 1; ok = 1 :: else -> ok = 0 fi }
       if
       :: ok -> popblock(ract == 1);
                if :: more > 0 -> updateactive() :: else -> skip fi;
                break
       :: else -> skip
       fi
    od;
    /* MallocFromPartial */
    if
    :: got == NONE ->
        atomic { if :: onlist -> onlist = 0; ok = 1 :: else -> ok = 0 fi }
        if
        :: ok ->
            do
            :: readanchor();
               if
               :: rs == EMPTY -> retire(); ok = 0; break
               :: else ->
                   assert(rs == PARTIAL && rc > 0);
                   more = (rc - 1 < MAXC -> rc - 1 : MAXC);
                   atomic {
                       if
                       :: SAMEA -> cnt = rc - more - 1; st = (more > 0 -> ACTIVE : FULL); bump(); ok = 1
                       :: else -> ok = 0
                       fi
                   }
                   if :: ok -> break :: else -> skip fi
               fi
            od;
            if
            :: ok -> wmore = more; popblock(0); more = wmore; if :: more > 0 -> updateactive() :: else -> skip fi
            :: else -> skip
            fi
        :: else -> skip
        fi
    :: else -> skip
    fi;
    /* MallocFromNewSB */
    if
    :: got == NONE ->
        atomic { if :: inpool -> inpool = 0; ok = 1 :: else -> ok = 0 fi }
        if
        :: ok ->
            d_step {
                nobodyowns();
                wi = 1;
                do
                :: wi < NB - 1 -> nxt[wi] = wi + 1; wi++
                :: else -> break
                od;
                wi = 0;
                more = (NB - 1 < MAXC -> NB - 1 : MAXC);
                avail = 1; cnt = NB - 1 - more; st = ACTIVE;
                owner[0] = ME + 1; got = 0
            }
            atomic { bump() }
            atomic { if :: actw[row] == 0 -> actw[row] = more; ok = 1 :: else -> ok = 0 fi }
            if
            :: !ok -> atomic { owner[0] = 0; got = NONE }; d_step { st = EMPTY; cnt = NB; bump() }; retire()
            :: else -> skip
            fi
        :: else -> skip
        fi
    :: else -> skip
    fi
}

inline free(b)
{
    owner[b] = 0;
    do
    :: readanchor();
       nxt[b] = ra;
       atomic {
           if
           :: SAMEA ->
               assert(rs != EMPTY);
               avail = b; cnt = rc + 1;
               ns = (rs == FULL -> PARTIAL : rs);
               ns = (cnt == NB -> EMPTY : ns);
               st = ns; bump(); ok = 1
           :: else -> ok = 0
           fi
       }
       if :: ok -> break :: else -> skip fi
    od;
    if
    :: ns == EMPTY ->
        /* sweep the partial list: retire it if it is (still) empty, else push it back */
        atomic { if :: onlist -> onlist = 0; ok = 1 :: else -> ok = 0 fi }
        if
        :: ok -> if
                 :: st == EMPTY -> retire()
                 :: else -> listpush()
                 fi
        :: else -> skip
        fi
    :: rs == FULL -> listpush()
    :: else -> skip
    fi
}

proctype Thread()
{
    byte ra, rc, rs, rn, ract, row, got, more, wmore, ns, h1 = NONE, h2 = NONE, v;
    bit ok;
    byte ops = 0;
    do
    :: OPS == 0 || ops < OPS ->
progress:
        if
        :: h1 == NONE || h2 == NONE ->
            malloc();
            if
            :: got != NONE && h1 == NONE -> h1 = got
            :: got != NONE && h1 != NONE -> h2 = got
            :: else -> skip
            fi
        :: h1 != NONE -> free(h1); h1 = NONE
        :: h2 != NONE -> free(h2); h2 = NONE
        :: h1 != NONE -> atomic { select(v : 0 .. NB - 1); nxt[h1] = v; v = 0 }
        fi;
        atomic {
            ra = 0; rc = 0; rs = 0; rn = 0; ract = 0; row = 0; got = 0; more = 0; wmore = 0; ns = 0; ok = 0;
            afresh[ME] = 0;
            if :: OPS != 0 -> ops++ :: else -> skip fi
        }
    :: else -> break
    od;
    if :: h1 != NONE -> free(h1); h1 = NONE :: else -> skip fi;
    if :: h2 != NONE -> free(h2); h2 = NONE :: else -> skip fi;
    finished++
}

init
{
    byte i;
    atomic {
        cnt = NB;
        i = 0;
        do
        :: i < NTHREADS -> run Thread(); i++
        :: else -> break
        od;
        i = 0
    }
    (finished == NTHREADS) -> d_step {
        nobodyowns();
        assert(inpool || cnt + actw[0] + actw[1] == NB)   /* A4 */
    }
}
