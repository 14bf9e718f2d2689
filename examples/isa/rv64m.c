/* RV64M: mul/mulh/mulhsu/mulhu/div/divu/rem/remu and the W forms,
 * including division by zero and signed overflow (-2^63 / -1). */
#include "common.h"

#define RR(op, a, b) ({ u64 __r; asm volatile(op " %0, %1, %2" : "=r"(__r) : "r"((u64)(a)), "r"((u64)(b))); __r; })

#include "rv64m_cases.h"

int main(void) {
    muldiv_cases();
    /* explicit corner cases (also covered by the table) */
    CHECK_EQ(RR("div", 0x8000000000000000UL, -1L), 0x8000000000000000UL);
    CHECK_EQ(RR("rem", 0x8000000000000000UL, -1L), 0);
    CHECK_EQ(RR("div", 5, 0), ~0UL);
    CHECK_EQ(RR("divu", 5, 0), ~0UL);
    CHECK_EQ(RR("rem", -5L, 0), (u64)-5L);
    CHECK_EQ(RR("remu", 5, 0), 5);
    CHECK_EQ(RR("divw", 0xffffffff80000000UL, -1L), 0xffffffff80000000UL);
    CHECK_EQ(RR("divw", 0x80000000UL, 0xffffffffUL), 0xffffffff80000000UL); /* upper bits ignored */
    CHECK_EQ(RR("remw", 0x80000000UL, -1L), 0);
    CHECK_EQ(RR("divw", 7, 0), ~0UL);
    CHECK_EQ(RR("divuw", 7, 0x100000000UL), ~0UL); /* low 32 bits of divisor are 0 */
    CHECK_EQ(RR("remw", 0x1fffffff9UL, 0), (u64)-7L);
    CHECK_EQ(RR("remuw", 0x1fffffff9UL, 0), (u64)-7L); /* sign-extended 32-bit dividend */
    CHECK_EQ(RR("div", -7L, 2), (u64)-3L);             /* truncates toward zero */
    CHECK_EQ(RR("rem", -7L, 2), (u64)-1L);
    CHECK_EQ(RR("rem", 7, -2L), 1);
    CHECK_EQ(RR("mulh", -1L, -1L), 0);
    CHECK_EQ(RR("mulhu", -1L, -1L), 0xfffffffffffffffeUL);
    CHECK_EQ(RR("mulhsu", -1L, -1L), ~0UL);
    CHECK_EQ(RR("mulw", 0x7fffffff, 2), 0xfffffffffffffffeUL);
    return 0;
}
