/* wasi_misc_oob: args, environ, clocks, random, fdstat, prestat and poll_oneoff with result pointers and lengths past linear memory: EFAULT (21), never a host fault (needs a CGI environment, so run it under the server). */
#include <stdint.h>
#include <stdio.h>
#include <wasi/api.h>

static int bad;

static void note(const char *name, unsigned got, unsigned want)
{
    printf("%s %s: errno %u\n", got == want ? "ok" : "FAIL", name, got);
    bad += got != want;
}

#define P(x) ((void *)(uintptr_t)(x))

int main(void)
{
    uint32_t end = (uint32_t)(__builtin_wasm_memory_size(0) * 65536);
    static uint8_t *argv[64], argbuf[4096];
    __wasi_size_t argc, arglen, n;
    __wasi_timestamp_t t;
    static __wasi_subscription_t sub;
    static __wasi_event_t ev;

    printf("Content-Type: text/plain\n\n");
    note("args_sizes_get_count", __wasi_args_sizes_get(P(end), &arglen), 21);
    note("args_sizes_get_len", __wasi_args_sizes_get(&argc, P(end - 3)), 21);
    note("args_sizes_get", __wasi_args_sizes_get(&argc, &arglen), 0);
    note("args_get_vec", __wasi_args_get(P(end - 2), argbuf), 21);
    note("args_get_buf", __wasi_args_get(argv, P(end - 1)), 21);
    note("args_get_top", __wasi_args_get(P(0xfffffffcu), P(0xffffffffu)), 21);
    note("environ_sizes_get", __wasi_environ_sizes_get(P(end), P(end)), 21);
    note("environ_get_vec", __wasi_environ_get(P(end - 2), argbuf), 21);
    note("environ_get_buf", __wasi_environ_get(argv, P(end - 1)), 21);
    note("clock_time_get_ptr", __wasi_clock_time_get(0, 0, P(end - 4)), 21);
    note("clock_res_get_ptr", __wasi_clock_res_get(1, P(0xffffffffu)), 21);
    note("clock_time_get_bad_id", __wasi_clock_time_get(1234, 0, &t), 28);
    note("random_get_straddle", __wasi_random_get(P(end - 10), 100), 21);
    note("random_get_4g", __wasi_random_get(P(0), 0xffffffffu), 21);
    note("random_get_zero", __wasi_random_get(P(end), 0), 0);
    note("fd_fdstat_get_ptr", __wasi_fd_fdstat_get(1, P(end - 8)), 21);
    note("fd_filestat_get_ptr", __wasi_fd_filestat_get(1, P(end - 8)), 21);
    note("fd_prestat_dir_name_len", __wasi_fd_prestat_dir_name(3, P(end - 1), 0xffffffffu), 8);
    note("poll_oneoff_in", __wasi_poll_oneoff(P(end - 16), &ev, 1, &n), 21);
    note("poll_oneoff_out", __wasi_poll_oneoff(&sub, P(end - 8), 1, &n), 21);
    note("poll_oneoff_huge", __wasi_poll_oneoff(&sub, &ev, 0x10000000u, &n), 21);
    note("poll_oneoff_none", __wasi_poll_oneoff(&sub, &ev, 0, &n), 28);
    sub.u.tag = __WASI_EVENTTYPE_CLOCK;
    sub.u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    sub.u.u.clock.timeout = 1000;
    note("poll_oneoff_nevents", __wasi_poll_oneoff(&sub, &ev, 1, P(end)), 21);
    note("poll_oneoff_sleep_1us", __wasi_poll_oneoff(&sub, &ev, 1, &n), 0);
    printf(bad ? "wasi_misc_oob: %d FAILED\n" : "wasi_misc_oob: all ok\n", bad);
    return 0;
}
