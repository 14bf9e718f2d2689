/* Self-modifying code: stores that rewrite instructions, followed by fence.i,
 * must be seen by the next fetch, whichever way the stores are executed. A
 * JIT that caches "this page is plain data, stores may skip the code check"
 * must forget that when the page starts holding code, and a cached
 * translation of the old instructions must be dropped when they change. */
#include "common.h"

static u32 page[1024] __attribute__((aligned(4096)));

typedef u64 (*fn_t)(void);

/* addi a0, x0, imm ; jalr x0, 0(ra) */
static void __attribute__((noinline)) emit_return_imm(volatile u32 *at, int imm) {
    at[0] = 0x00000513u | ((u32)imm & 0xfff) << 20;
    at[1] = 0x00008067u;
}

/* A hot store loop into the page (so a JIT translates it and caches the page
 * for its stores) that also touches the code at the page's start. */
static void __attribute__((noinline)) fill(volatile u32 *p, u32 v, int n) {
    for (int i = 0; i < n; i++)
        p[i] = v + i;
}

static u64 call(volatile u32 *at) {
    asm volatile("fence.i" ::: "memory");
    return ((fn_t)(uintptr_t)at)();
}

int main(void) {
    for (int round = 0; round < 40; round++) {
        /* data stores to the page, then new code at its start */
        fill(page + 16, (u32)round, 1000);
        emit_return_imm(page, round);
        CHECK_EQ(call(page), (u64)round);
        /* the code rewritten in place by the hot loop's own stores */
        fill(page, 0, 2);
        emit_return_imm(page, 100 + round);
        CHECK_EQ(call(page), (u64)(100 + round));
        CHECK_EQ(page[16 + 999], (u32)round + 999);
    }
    /* code in the page's second half, rewritten while the first half runs */
    for (int round = 0; round < 40; round++) {
        emit_return_imm(page + 512, round * 3);
        CHECK_EQ(call(page + 512), (u64)(round * 3));
        CHECK_EQ(call(page), 139);
    }
    return 0;
}
