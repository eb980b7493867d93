/* loop.c - test function that never finishes, to check the per-function timeout. */
int main(void)
{
    volatile unsigned long n = 0;

    for (;;)
        n++;
}
