/* spin.c - soak function: never finishes, deployed with a short --timeout-ms (expected: 504, cause timeout). */
int main(void)
{
    volatile unsigned long n = 0;

    for (;;)
        n++;
}
