/* poll_far: poll_oneoff with a far timeout (QUERY_STRING picks abs, rel, many or realtime); the host must still end it at the deadline. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

#define NSUB 512

static __wasi_subscription_t subs[NSUB];
static __wasi_event_t evs[NSUB];

/* One clock subscription of `ns` on `clock`, absolute or relative. */
static void sub_clock(__wasi_subscription_t *s, uint64_t id, __wasi_clockid_t clock, uint64_t ns,
                      int abs)
{
    memset(s, 0, sizeof(*s));
    s->userdata = id;
    s->u.tag = __WASI_EVENTTYPE_CLOCK;
    s->u.u.clock.id = clock;
    s->u.u.clock.timeout = ns;
    s->u.u.clock.flags = abs ? __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME : 0;
}

int main(void)
{
    const char *q = getenv("QUERY_STRING");
    __wasi_size_t n = 1, got = 0;

    q = q ? q : "";
    if (strcmp(q, "rel") == 0) {
        sub_clock(&subs[0], 1, __WASI_CLOCKID_MONOTONIC, UINT64_MAX - 5, 0);
    } else if (strcmp(q, "realtime") == 0) {
        sub_clock(&subs[0], 1, __WASI_CLOCKID_REALTIME, UINT64_MAX - 5, 1);
    } else if (strcmp(q, "many") == 0) {
        for (n = 0; n < NSUB; n++)
            sub_clock(&subs[n], n, n % 2 ? __WASI_CLOCKID_REALTIME : __WASI_CLOCKID_MONOTONIC,
                      UINT64_MAX - n, (int)(n % 3 != 0));
    } else {   /* abs: ABSTIME near 2^64 on the monotonic clock */
        sub_clock(&subs[0], 1, __WASI_CLOCKID_MONOTONIC, UINT64_MAX - 5, 1);
    }
    /* Again and again: a wake-up that came early must not end the request. */
    for (;;) {
        __wasi_errno_t e = __wasi_poll_oneoff(subs, evs, n, &got);
        if (e != 0) {
            printf("Content-Type: text/plain\n\npoll_oneoff failed: %u\n", e);
            return 0;
        }
    }
}
