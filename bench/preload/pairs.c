/* Per-call cost of the malloc family under LD_PRELOAD (docs/benchmarks.md, "Drop-in (LD_PRELOAD)"):
 * 20 M malloc(64)+free pairs, then 20,000 batches of 1000 mallocs (64-112 B) and 1000 frees; prints ns
 * per pair. gcc -O2 -o /tmp/pairs bench/preload/pairs.c && LD_PRELOAD=LIB /tmp/pairs */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(void){
  enum{N=20000000,B=1000,R=20000}; void* volatile sink; void* a[B];
  double t0=now(); for(int i=0;i<N;i++){void*p=malloc(64); sink=p; free(p);} double t1=now();
  for(int r=0;r<R;r++){for(int i=0;i<B;i++)a[i]=malloc(64+(i&3)*16); for(int i=0;i<B;i++)free(a[i]);} double t2=now();
  printf("pair64 %.1f ns  batch %.1f ns\n",(t1-t0)/N*1e9,(t2-t1)/((double)R*B)*1e9); (void)sink; return 0;}
