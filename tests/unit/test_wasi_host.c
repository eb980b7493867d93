/* test_wasi_host.c - unit tests for the host side of WASI files: the KL_HC_FS boundary checks, and no host fd outliving a run. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "compile/compile.h"
#include "inst/image.h"
#include "inst/hostcall.h"
#include "inst/instance.h"
#include "inst/run.h"
#include "inst/service.h"
#include "vm/vm.h"
#include "host/wasi_handles.h"
#include "host/wasi_service.h"
#include "unit.h"

static char tmpdir[PATH_MAX];

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    if (!d)
        return -1;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* ---- the hostcall boundary, without a VM ---- */

static struct kl_inst inst;
static struct kl_run_result res;
static uint8_t guest[4096];   /* stands in for linear memory at GVA 0x10000 */
#define GVA 0x10000ull

static uint32_t call(struct kl_hc_fs *a, int *rc)
{
    *rc = kl_hc_fs(&inst, a);
    return a->err;
}

static void test_boundary(void)
{
    struct kl_preopen p = {tmpdir, "/", 0};
    struct kl_run_config cfg;
    struct kl_err err = {0};
    struct kl_hc_fs a;
    int rc;

    kl_run_config_init(&cfg);
    cfg.npreopens = 1;
    cfg.preopens = &p;
    memset(&inst, 0, sizeof(inst));
    inst.res = &res;
    CHECK(kl_wasi_host_register() == 0);
    CHECK(kl_services_open(&inst, &cfg, &err) == 0);
    kl_gmem_set(&inst.gm, "memory 0", GVA, sizeof(guest), guest, 1);
    memcpy(guest, "../x", 4);

    /* A path outside guest memory ends the run; nothing is read. */
    memset(&a, 0, sizeof(a));
    a.op = KL_FS_PATH_STAT;
    a.path = GVA + sizeof(guest) - 2;
    a.path_len = 4;
    CHECK(call(&a, &rc) == 0 && rc == KL_HC_DONE && res.kind == KL_RES_ERROR);
    inst.done = 0;
    /* A wrapping address is no better. */
    a.path = UINT64_MAX - 1;
    CHECK(kl_hc_fs(&inst, &a) == KL_HC_DONE);
    inst.done = 0;
    /* ".." is refused as an escape (WASI EPERM = 63). */
    a.path = GVA;
    a.path_len = 2;
    CHECK(call(&a, &rc) == 63 && rc == KL_HC_CONTINUE);
    /* Unknown handles and ops, over-long paths and embedded NULs are plain errors. */
    a.h = 7;
    CHECK(call(&a, &rc) == 8 && rc == KL_HC_CONTINUE);   /* EBADF */
    a.h = 0;
    a.path_len = KL_FS_PATH_MAX;
    CHECK(call(&a, &rc) == 37);                           /* ENAMETOOLONG */
    memcpy(guest, "a\0b", 3);
    a.path_len = 3;
    CHECK(call(&a, &rc) == 28);                           /* EINVAL */
    a.op = KL_FS_OP_COUNT + 5;
    CHECK(call(&a, &rc) == 52);                           /* ENOSYS */
    /* A file to read: handle 1. */
    memset(&a, 0, sizeof(a));
    a.op = KL_FS_OPEN;
    a.flags = 1;                                          /* O_CREAT */
    a.access = KL_FS_ACCESS_READ;
    a.path = GVA;
    a.path_len = 1;
    CHECK(call(&a, &rc) == 0 && a.result == 1);
    memset(&a, 0, sizeof(a));
    a.op = KL_FS_READ;
    a.h = 1;
    a.niov = KL_FS_MAX_IOV + 1;
    CHECK(call(&a, &rc) == 28 && rc == KL_HC_CONTINUE);   /* too many iovecs: EINVAL */
    a.niov = 1;
    a.iov[0].buf = GVA + 100;
    a.iov[0].len = sizeof(guest);                         /* runs past the end */
    CHECK(kl_hc_fs(&inst, &a) == KL_HC_DONE && res.kind == KL_RES_ERROR);
    inst.done = 0;
    a.iov[0].len = 16;
    CHECK(call(&a, &rc) == 0 && a.result == 0);           /* an empty file */
    /* Many open handles: the table grows (and moves) while a directory handle is in use. */
    for (int i = 0; i < 40; i++) {
        memset(&a, 0, sizeof(a));
        a.op = KL_FS_OPEN;
        a.path = GVA;
        a.path_len = 1;
        CHECK(call(&a, &rc) == 0 && a.result == (uint64_t)i + 2);
    }
    kl_services_close(&inst);
}

/* ---- whole runs: every host fd is gone after exit, trap and timeout ---- */

/* Build a module that creates/opens "f" ten times under preopen fd 3 (exit 99 if one fails), then runs `tail`. */
static struct kl_image *build(const char *tail)
{
    char wat[PATH_MAX + 16], wasm[PATH_MAX + 16], cmd[3 * PATH_MAX], path[PATH_MAX];
    struct kl_compile_opts o;
    struct kl_image *img = NULL;
    struct kl_err err = {0};
    uint8_t *data = NULL;
    size_t len = 0;
    int cached;
    FILE *f;

    snprintf(wat, sizeof(wat), "%s/m.wat", tmpdir);
    snprintf(wasm, sizeof(wasm), "%s/m.wasm", tmpdir);
    if (!(f = fopen(wat, "w")))
        return NULL;
    fprintf(f,
            "(module\n"
            " (import \"wasi_snapshot_preview1\" \"path_open\"\n"
            "   (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))\n"
            " (import \"wasi_snapshot_preview1\" \"proc_exit\" (func $exit (param i32)))\n"
            " (memory (export \"memory\") 1)\n"
            " (data (i32.const 16) \"f\")\n"
            " (func (export \"_start\") (local $i i32)\n"
            "  (loop $l\n"
            "   (if (call $open (i32.const 3) (i32.const 0) (i32.const 16) (i32.const 1)\n"
            "          (i32.const 1) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 8))\n"
            "     (then (call $exit (i32.const 99))))   ;; every open must work\n"
            "   (local.set $i (i32.add (local.get $i) (i32.const 1)))\n"
            "   (br_if $l (i32.lt_u (local.get $i) (i32.const 10))))\n"
            "  %s))\n", tail);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "wat2wasm '%s' -o '%s'", wat, wasm);
    if (system(cmd) != 0 || kl_read_file(wasm, 1 << 20, &data, &len, &err) < 0)
        return NULL;
    kl_compile_opts_init(&o);
    o.opt_level = 0;
    o.cache_dir = tmpdir;
    if (kl_compile_image(data, len, &o, &img, path, sizeof(path), &cached, &err) < 0)
        fprintf(stderr, "compile: %s\n", err.msg);
    free(data);
    return img;
}

static void run_and_count(const char *tail, enum kl_result_kind want)
{
    struct kl_preopen p = {tmpdir, "/", 0};
    struct kl_image *img = build(tail);
    struct kl_run_config cfg;
    struct kl_run_result r;
    struct kl_err err = {0};
    int before;

    CHECK(img != NULL);
    if (!img)
        return;
    kl_run_config_init(&cfg);
    cfg.npreopens = 1;
    cfg.preopens = &p;
    cfg.timeout_ms = 300;
    cfg.stdin_fd = -1;
    cfg.stdout_fd = cfg.stderr_fd = -1;
    before = count_fds();
    CHECK(kl_run(img, &cfg, &r, &err) == 0);
    CHECK(r.kind == want);
    CHECK(want != KL_RES_EXIT || r.exit_code == 7);
    CHECK(count_fds() == before);
    kl_run_result_free(&r);
    kl_image_free(img);
}

static void test_release(void)
{
    struct kl_preopen p = {"/nonexistent-kernless-dir", "/", 0};
    struct kl_run_config cfg;
    struct kl_run_result r;
    struct kl_err err = {0};
    struct kl_image *img = build("(call $exit (i32.const 7))");
    int before = count_fds();

    run_and_count("(call $exit (i32.const 7))", KL_RES_EXIT);
    run_and_count("unreachable", KL_RES_TRAP);
    run_and_count("(loop $forever (br $forever))", KL_RES_TIMEOUT);
    /* A missing preopen is the caller's error, reported before any VM exists. */
    kl_run_config_init(&cfg);
    cfg.npreopens = 1;
    cfg.preopens = &p;
    CHECK(img && kl_run(img, &cfg, &r, &err) == -ENOENT);
    CHECK(strstr(err.msg, "--dir /nonexistent-kernless-dir") != NULL);
    CHECK(count_fds() == before);
    kl_run_result_free(&r);
    kl_image_free(img);
}

int main(void)
{
    char exe[PATH_MAX], guest_dir[PATH_MAX + 16];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

    /* The runtime the compiler links in sits in BUILD/guest; this binary is BUILD/unit/x. */
    if (n > 0) {
        exe[n] = 0;
        snprintf(guest_dir, sizeof(guest_dir), "%s/guest", dirname(dirname(exe)));
        setenv("KERNLESS_GUEST_DIR", guest_dir, 0);
    }
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/kl-wasi-unit-XXXXXX");
    CHECK(mkdtemp(tmpdir) != NULL);
    test_boundary();
    /* Choose the backend first: its one-time set-up (the process sandbox's
     * tender fd and spawner thread) is not a per-run fd to count. */
    CHECK(kl_isolation_select(KL_ISOLATION_AUTO, NULL) == 0);
    test_release();   /* on whichever backend this host has */
    snprintf(exe, sizeof(exe), "rm -rf '%s'", tmpdir);
    if (system(exe) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    UNIT_DONE();
}
