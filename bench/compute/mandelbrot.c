/* mandelbrot.c - compute benchmark: escape-time Mandelbrot bitmap, reported as a hash of its bits. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 4000;
    uint64_t h = 1469598103934665603ull;   /* FNV-1a over the packed rows */
    long inside = 0;

    for (int y = 0; y < n; y++) {
        double ci = 2.0 * y / n - 1.0;
        unsigned byte = 0;
        int bit = 0;
        for (int x = 0; x < n; x++) {
            double cr = 2.0 * x / n - 1.5, zr = 0, zi = 0, tr = 0, ti = 0;
            int k = 0;
            /* 50 iterations with the escape test at |z| > 2, as the classic benchmark does. */
            for (; k < 50 && tr + ti <= 4.0; k++) {
                zi = 2.0 * zr * zi + ci;
                zr = tr - ti + cr;
                tr = zr * zr;
                ti = zi * zi;
            }
            byte = (byte << 1) | (tr + ti <= 4.0);
            inside += tr + ti <= 4.0;
            if (++bit == 8 || x == n - 1) {
                byte <<= 8 - bit;
                h = (h ^ byte) * 1099511628211ull;
                byte = 0;
                bit = 0;
            }
        }
    }
    printf("%d %ld %016llx\n", n, inside, (unsigned long long)h);
    return 0;
}
