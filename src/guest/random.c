/* random.c - a ChaCha20 keystream CSPRNG for random_get, keyed per request by the host's seed. */
#include <string.h>

#include "guest.h"

static uint32_t key[8], counter[2];
static uint8_t block[64];
static size_t block_pos = 64;

static inline uint32_t rotl(uint32_t v, int n) { return (v << n) | (v >> (32 - n)); }

#define QR(a, b, c, d)                                  \
    do {                                                \
        a += b; d ^= a; d = rotl(d, 16);                \
        c += d; b ^= c; b = rotl(b, 12);                \
        a += b; d ^= a; d = rotl(d, 8);                 \
        c += d; b ^= c; b = rotl(b, 7);                 \
    } while (0)

/* One ChaCha20 block (RFC 8439 layout, 64-bit counter, zero nonce). */
static void chacha_block(void)
{
    uint32_t s[16] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};
    uint32_t x[16];

    memcpy(&s[4], key, sizeof(key));
    s[12] = counter[0];
    s[13] = counter[1];
    memcpy(x, s, sizeof(x));
    for (int i = 0; i < 10; i++) {
        QR(x[0], x[4], x[8], x[12]); QR(x[1], x[5], x[9], x[13]);
        QR(x[2], x[6], x[10], x[14]); QR(x[3], x[7], x[11], x[15]);
        QR(x[0], x[5], x[10], x[15]); QR(x[1], x[6], x[11], x[12]);
        QR(x[2], x[7], x[8], x[13]); QR(x[3], x[4], x[9], x[14]);
    }
    for (int i = 0; i < 16; i++)
        x[i] += s[i];
    memcpy(block, x, sizeof(block));
    if (++counter[0] == 0)
        counter[1]++;
    block_pos = 0;
}

/** Key the generator; every request gets a fresh host seed. */
void kl_random_init(const volatile uint8_t seed[32])
{
    for (int i = 0; i < 32; i++)
        ((uint8_t *)key)[i] = seed[i];
    counter[0] = counter[1] = 0;
    block_pos = 64;
}

/** Fill p with n keystream bytes. */
void kl_random_fill(uint8_t *p, size_t n)
{
    while (n > 0) {
        if (block_pos == 64)
            chacha_block();
        size_t k = 64 - block_pos < n ? 64 - block_pos : n;
        memcpy(p, block + block_pos, k);
        /* Erase used keystream so a later memory dump cannot replay it. */
        memset(block + block_pos, 0, k);
        block_pos += k;
        p += k;
        n -= k;
    }
}
