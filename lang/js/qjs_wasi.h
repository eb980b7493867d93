/* qjs_wasi.h - force-included into QuickJS for wasm32-wasi: what wasi-libc lacks or does differently. */
#ifndef KL_QJS_WASI_H
#define KL_QJS_WASI_H

#include <fenv.h>
#include <malloc.h>   /* malloc_usable_size */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* WebAssembly has only round-to-nearest, so wasi-libc defines no directed
 * modes. QuickJS asks printf for them to round toFixed/toPrecision ties
 * away from zero as JS requires ((0.5).toFixed(0) is "1"); these values are
 * never given to libc but to kl_dir_snprintf below. */
#ifndef FE_DOWNWARD
#define FE_DOWNWARD 0x400
#define FE_UPWARD 0x800
#endif

/*
 * snprintf(buf, size, fmt, prec, d) for fmt "%+.*e" or "%.*f", rounded in
 * `mode`: printf's digits are exact when asked for enough of them, so the
 * directed result is the exact expansion cut at `prec`, plus one unit in the
 * last place when rounding away from zero dropped a non-zero digit.
 */
static int kl_dir_snprintf(char *buf, int size, const char *fmt, int prec, double d, int mode)
{
    static char big[1700];
    char digits[1700], ex[16] = "";
    int is_e = fmt[strlen(fmt) - 1] == 'e', away, nonzero = 0, nd, i;
    char *start, *dot, *end, *keep;

    if (mode == FE_TONEAREST || !isfinite(d) || prec > 400)
        return snprintf(buf, size, fmt, prec, d);
    away = (mode == FE_UPWARD) == !signbit(d);
    snprintf(big, sizeof(big), fmt, prec + (is_e ? 800 : 1100), d);
    for (start = big; *start == '+' || *start == '-'; start++)
        ;
    dot = strchr(start, '.');
    end = is_e ? strchr(start, 'e') : start + strlen(start);
    if (!dot || !end)
        return snprintf(buf, size, fmt, prec, d);
    keep = prec > 0 ? dot + 1 + prec : dot;
    for (char *q = dot + 1 + prec; q < end; q++)
        nonzero |= *q != '0';
    if (is_e)
        snprintf(ex, sizeof(ex), "%s", end);
    nd = (int)(keep - start);
    memcpy(digits, start, (size_t)nd);
    digits[nd] = 0;
    if (away && nonzero) {
        for (i = nd - 1; i >= 0; i--) {
            if (digits[i] == '.')
                continue;
            if (digits[i] != '9') {
                digits[i]++;
                break;
            }
            digits[i] = '0';
        }
        if (i < 0 && is_e) {          /* 9.99e+00 -> 1.00e+01 */
            digits[0] = '1';
            snprintf(ex, sizeof(ex), "e%+03d", atoi(end + 1) + 1);
        } else if (i < 0) {           /* 99.9 -> 100.0 */
            memmove(digits + 1, digits, (size_t)nd + 1);
            digits[0] = '1';
        }
    }
    return snprintf(buf, size, "%.*s%s%s", (int)(start - big), big, digits, ex);
}

#endif
