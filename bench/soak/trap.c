/* trap.c - soak function: divides by zero, so the guest traps (expected: 500, cause trap). */
static volatile int zero, seven = 7;

int main(void)
{
    /* Both operands volatile: clang turns a constant 1 / x into a select that never traps. */
    return seven / zero;   /* i32.div_s by 0: "integer divide by zero" */
}
