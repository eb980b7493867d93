/* escape.c - tries to leave the WASI sandbox every way we know; run as `escape CASE`, prints "ok" if all attempts failed properly.
 *
 * The runner (tests/wasi/escape.sh) preopens BOX as "/box" (read-write) and
 * RO as "/ro" (read-only), next to an OUTSIDE directory the guest must never
 * reach. Raw WASI calls are used so each errno is exact. The host side of the
 * test then checks that nothing outside (or under /ro) changed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

static int failures;
static __wasi_fd_t box = (__wasi_fd_t)-1, ro = (__wasi_fd_t)-1;

#define RIGHTS_ALL ((__wasi_rights_t)0x1FFFFFFF)
/* Everything but what would need write access to the directory itself. */
#define DIR_RIGHTS (RIGHTS_ALL & ~(__WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_ALLOCATE | \
                                   __WASI_RIGHTS_FD_FILESTAT_SET_SIZE))

static void bad(const char *what, __wasi_errno_t got, const char *want)
{
    printf("FAIL %s: got errno %u, want %s\n", what, got, want);
    failures++;
}

/* An escape attempt must fail with PERM or NOTCAPABLE (wasmtime: PERM). */
static void denied(const char *what, __wasi_errno_t e)
{
    if (e != __WASI_ERRNO_PERM && e != __WASI_ERRNO_NOTCAPABLE)
        bad(what, e, "PERM or NOTCAPABLE");
}

static void expect(const char *what, __wasi_errno_t e, __wasi_errno_t want)
{
    if (e != want) {
        char w[16];
        snprintf(w, sizeof(w), "%u", want);
        bad(what, e, w);
    }
}

static __wasi_errno_t open_at(__wasi_fd_t dir, const char *path, __wasi_lookupflags_t lf,
                              __wasi_oflags_t of, __wasi_rights_t base, __wasi_fd_t *fd)
{
    __wasi_fd_t tmp;
    __wasi_errno_t e = __wasi_path_open(dir, lf, path, of, base, RIGHTS_ALL, 0, fd ? fd : &tmp);
    if (e == 0 && !fd)
        (void)__wasi_fd_close(tmp);
    return e;
}

/* Open and read a file; returns its first bytes (or "" on error). */
static const char *slurp(__wasi_fd_t dir, const char *path, __wasi_errno_t *err)
{
    static char buf[64];
    __wasi_fd_t fd;
    __wasi_size_t n = 0;
    __wasi_iovec_t iov = {(uint8_t *)buf, sizeof(buf) - 1};

    buf[0] = 0;
    if ((*err = open_at(dir, path, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, 0, __WASI_RIGHTS_FD_READ, &fd)))
        return buf;
    *err = __wasi_fd_read(fd, &iov, 1, &n);
    buf[*err ? 0 : n] = 0;
    (void)__wasi_fd_close(fd);
    return buf;
}

static void find_preopens(void)
{
    for (__wasi_fd_t fd = 3; fd < 64; fd++) {
        __wasi_prestat_t ps;
        char name[64] = {0};
        if (__wasi_fd_prestat_get(fd, &ps) || ps.u.dir.pr_name_len >= sizeof(name) ||
            __wasi_fd_prestat_dir_name(fd, (uint8_t *)name, ps.u.dir.pr_name_len))
            continue;
        if (!strcmp(name, "/box"))
            box = fd;
        if (!strcmp(name, "/ro"))
            ro = fd;
    }
}

/* ".." and prefixes of it. */
static void case_dotdot(void)
{
    __wasi_filestat_t st, top;
    const char *paths[] = {"..", "../outside/secret", "sub/../../outside/secret", "sub/../..",
                           "sub/../../box/file", "./../outside", "sub/./../.."};

    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        denied(paths[i], open_at(box, paths[i], __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, 0, __WASI_RIGHTS_FD_READ, NULL));
        denied(paths[i], __wasi_path_filestat_get(box, 0, paths[i], &st));
    }
    denied("mkdir ../evil", __wasi_path_create_directory(box, "../evil"));
    denied("mkdir sub/../../evil", __wasi_path_create_directory(box, "sub/../../evil"));
    denied("unlink ../outside/secret", __wasi_path_unlink_file(box, "../outside/secret"));
    denied("rmdir ..", __wasi_path_remove_directory(box, ".."));
    denied("rmdir sub/../..", __wasi_path_remove_directory(box, "sub/../.."));
    denied("symlink at ../evil", __wasi_path_symlink("x", box, "../evil"));
    denied("utimes ..", __wasi_path_filestat_set_times(box, 0, "..", 0, 0, __WASI_FSTFLAGS_MTIM));
    /* Staying inside is fine, and ".." of the top is the top itself. */
    expect("stat sub/..", __wasi_path_filestat_get(box, 0, "sub/..", &st), 0);
    expect("stat .", __wasi_path_filestat_get(box, 0, ".", &top), 0);
    if (st.ino != top.ino)
        bad("sub/.. is the top", 0, "the same inode as .");
    {
        uint8_t buf[4096];
        __wasi_size_t used = 0;
        expect("readdir", __wasi_fd_readdir(box, buf, sizeof(buf), 0, &used), 0);
        for (__wasi_size_t off = 0; off + sizeof(__wasi_dirent_t) <= used;) {
            __wasi_dirent_t d;
            memcpy(&d, buf + off, sizeof(d));
            if (d.d_namlen == 2 && !memcmp(buf + off + sizeof(d), "..", 2) && d.d_ino != top.ino)
                bad("readdir .. at the top", 0, "the top's own inode (no host parent leaks)");
            off += sizeof(d) + d.d_namlen;
        }
    }
}

static void case_absolute(void)
{
    __wasi_filestat_t st;
    const char *paths[] = {"/", "/etc/passwd", "/box/file", "//etc", "/proc/self/root"};

    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        denied(paths[i], open_at(box, paths[i], __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, 0, __WASI_RIGHTS_FD_READ, NULL));
        denied(paths[i], __wasi_path_filestat_get(box, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, paths[i], &st));
    }
    denied("mkdir /tmp/evil", __wasi_path_create_directory(box, "/tmp/evil"));
    denied("rename to /tmp/evil", __wasi_path_rename(box, "file", box, "/tmp/evil"));
    /* libc only ever resolves through a preopen: an absolute host path is no path. */
    if (fopen("/etc/passwd", "r"))
        bad("fopen(/etc/passwd)", 0, "failure");
}

static void case_symlink_out(void)
{
    __wasi_filestat_t st;
    __wasi_errno_t e;
    const char *paths[] = {"rel_out/secret", "abs_out/secret", "abs_etc/passwd", "sub/up/outside/secret",
                           "rel_out", "abs_etc", "sub/up"};
    char link[64];
    __wasi_size_t n;

    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        denied(paths[i], open_at(box, paths[i], __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, 0, __WASI_RIGHTS_FD_READ, NULL));
        denied(paths[i], __wasi_path_filestat_get(box, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, paths[i], &st));
    }
    denied("open rel_out as dir", open_at(box, "rel_out", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW,
                                          __WASI_OFLAGS_DIRECTORY, 0, NULL));
    /* Without following, the link itself is inside and may be looked at. */
    expect("stat abs_etc (nofollow)", __wasi_path_filestat_get(box, 0, "abs_etc", &st), 0);
    if (st.filetype != __WASI_FILETYPE_SYMBOLIC_LINK)
        bad("abs_etc filetype", st.filetype, "SYMBOLIC_LINK");
    expect("readlink abs_etc", __wasi_path_readlink(box, "abs_etc", (uint8_t *)link, sizeof(link), &n), 0);
    /* A trailing slash makes the kernel follow even a nofollow lookup. */
    denied("stat abs_etc/ (nofollow)", __wasi_path_filestat_get(box, 0, "abs_etc/", &st));
    denied("stat rel_out/ (nofollow)", __wasi_path_filestat_get(box, 0, "rel_out/", &st));
    denied("utimes rel_out/", __wasi_path_filestat_set_times(box, 0, "rel_out/", 0, 0, __WASI_FSTFLAGS_MTIM_NOW));
    denied("utimes abs_out (follow)", __wasi_path_filestat_set_times(box, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW,
                                                                    "abs_out", 0, 0, __WASI_FSTFLAGS_MTIM_NOW));
    denied("readlink rel_out/", __wasi_path_readlink(box, "rel_out/", (uint8_t *)link, sizeof(link), &n));
    denied("link abs_etc/ (source slash)", __wasi_path_link(box, 0, "abs_etc/", box, "l1"));
    denied("link rel_out/ (source slash)", __wasi_path_link(box, 0, "rel_out/", box, "l2"));
    e = __wasi_path_remove_directory(box, "rel_out/");
    if (e == 0)
        bad("rmdir rel_out/", e, "an error");
    denied("mkdir rel_out/evil", __wasi_path_create_directory(box, "rel_out/evil"));
    denied("create abs_out/evil", open_at(box, "abs_out/evil", 0, __WASI_OFLAGS_CREAT, __WASI_RIGHTS_FD_WRITE, NULL));
    denied("truncate rel_out/secret", open_at(box, "rel_out/secret", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW,
                                              __WASI_OFLAGS_TRUNC, __WASI_RIGHTS_FD_WRITE, NULL));
    /* Creating through a dangling link would make the file where the link points. */
    denied("create through dangling_out", open_at(box, "dangling_out", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW,
                                                  __WASI_OFLAGS_CREAT, __WASI_RIGHTS_FD_WRITE, NULL));
    denied("create through dangling_abs", open_at(box, "dangling_abs", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW,
                                                  __WASI_OFLAGS_CREAT, __WASI_RIGHTS_FD_WRITE, NULL));
    denied("unlink rel_out/secret", __wasi_path_unlink_file(box, "rel_out/secret"));
    denied("symlink into rel_out/", __wasi_path_symlink("x", box, "rel_out/evil"));
    /* A link the guest makes is checked when followed, not when made. */
    expect("symlink made_out -> ../outside", __wasi_path_symlink("../outside", box, "made_out"), 0);
    denied("open made_out/secret", open_at(box, "made_out/secret", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, 0,
                                          __WASI_RIGHTS_FD_READ, NULL));
    denied("symlink to an absolute path", __wasi_path_symlink("/etc", box, "made_abs"));
}

static void case_symlink_loop(void)
{
    __wasi_filestat_t st;
    const char *paths[] = {"loop1", "loop2", "self", "loop1/x", "sub/../loop2"};

    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        expect(paths[i], open_at(box, paths[i], __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, 0, __WASI_RIGHTS_FD_READ, NULL),
               __WASI_ERRNO_LOOP);
        expect(paths[i], __wasi_path_filestat_get(box, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, paths[i], &st),
               __WASI_ERRNO_LOOP);
    }
    expect("loop1 nofollow", open_at(box, "loop1", 0, 0, __WASI_RIGHTS_FD_READ, NULL), __WASI_ERRNO_LOOP);
}

static void case_dotdot_symlink_dir(void)
{
    __wasi_errno_t e;
    const char *s = slurp(box, "sub_link/../file", &e);

    expect("sub_link/../file", e, 0);
    if (strcmp(s, "inside\n"))
        bad("sub_link/../file content", 0, "\"inside\"");
    denied("sub_link/../../outside/secret", open_at(box, "sub_link/../../outside/secret",
                                                    __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, 0, __WASI_RIGHTS_FD_READ, NULL));
    denied("sub_link/../sub_link/../..", open_at(box, "sub_link/../sub_link/../..",
                                                 __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, __WASI_OFLAGS_DIRECTORY, 0, NULL));
    denied("sub/up/box/file", open_at(box, "sub/up/box/file", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, 0,
                                      __WASI_RIGHTS_FD_READ, NULL));
}

static void case_rename_out(void)
{
    denied("rename file ../stolen", __wasi_path_rename(box, "file", box, "../stolen"));
    denied("rename file ../outside/stolen", __wasi_path_rename(box, "file", box, "../outside/stolen"));
    denied("rename file rel_out/stolen", __wasi_path_rename(box, "file", box, "rel_out/stolen"));
    denied("rename file abs_out/stolen", __wasi_path_rename(box, "file", box, "abs_out/stolen"));
    denied("rename file sub/up/stolen", __wasi_path_rename(box, "file", box, "sub/up/stolen"));
    denied("rename rel_out/secret in", __wasi_path_rename(box, "rel_out/secret", box, "stolen"));
    denied("rename ../outside in", __wasi_path_rename(box, "../outside", box, "stolen"));
    denied("rename sub into ..", __wasi_path_rename(box, "sub", box, "sub/../../moved"));
    expect("rename file into /ro", __wasi_path_rename(box, "file", ro, "stolen"), __WASI_ERRNO_PERM);
    expect("rename /ro/data out", __wasi_path_rename(ro, "data", box, "data"), __WASI_ERRNO_PERM);
}

static void case_link_out(void)
{
    denied("link file ../x", __wasi_path_link(box, 0, "file", box, "../x"));
    denied("link file rel_out/x", __wasi_path_link(box, 0, "file", box, "rel_out/x"));
    denied("link rel_out/secret in", __wasi_path_link(box, 0, "rel_out/secret", box, "stolen"));
    denied("link ../outside/secret in", __wasi_path_link(box, 0, "../outside/secret", box, "stolen"));
    expect("link following abs_out", __wasi_path_link(box, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "abs_out", box,
                                                       "stolen"), __WASI_ERRNO_INVAL);
    /* A hard link out of /ro would let writes through /box reach it. */
    expect("link /ro/data into /box", __wasi_path_link(ro, 0, "data", box, "ro_data"), __WASI_ERRNO_PERM);
    expect("link /box/file into /ro", __wasi_path_link(box, 0, "file", ro, "x"), __WASI_ERRNO_PERM);
}

static void case_readonly(void)
{
    __wasi_fd_t fd, dir;
    __wasi_errno_t e;
    __wasi_size_t n;
    const char *s = slurp(ro, "data", &e);
    __wasi_ciovec_t iov = {(const uint8_t *)"x", 1};

    expect("read /ro/data", e, 0);
    if (strcmp(s, "readonly\n"))
        bad("/ro/data content", 0, "\"readonly\"");
    expect("create", open_at(ro, "new", 0, __WASI_OFLAGS_CREAT, __WASI_RIGHTS_FD_WRITE, NULL), __WASI_ERRNO_PERM);
    expect("create existing", open_at(ro, "data", 0, __WASI_OFLAGS_CREAT, 0, NULL), __WASI_ERRNO_PERM);
    expect("open for write", open_at(ro, "data", 0, 0, __WASI_RIGHTS_FD_WRITE, NULL), __WASI_ERRNO_PERM);
    expect("open read+write", open_at(ro, "data", 0, 0, __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE, NULL),
           __WASI_ERRNO_PERM);
    expect("truncate", open_at(ro, "data", 0, __WASI_OFLAGS_TRUNC, 0, NULL), __WASI_ERRNO_PERM);
    expect("mkdir", __wasi_path_create_directory(ro, "d2"), __WASI_ERRNO_PERM);
    expect("rmdir", __wasi_path_remove_directory(ro, "empty"), __WASI_ERRNO_PERM);
    expect("unlink", __wasi_path_unlink_file(ro, "dir/f"), __WASI_ERRNO_PERM);
    expect("rename", __wasi_path_rename(ro, "data", ro, "data2"), __WASI_ERRNO_PERM);
    expect("symlink", __wasi_path_symlink("data", ro, "l"), __WASI_ERRNO_PERM);
    expect("link", __wasi_path_link(ro, 0, "data", ro, "l"), __WASI_ERRNO_PERM);
    expect("path utimes", __wasi_path_filestat_set_times(ro, 0, "data", 0, 0, __WASI_FSTFLAGS_MTIM_NOW),
           __WASI_ERRNO_PERM);
    expect("utimes of the preopen", __wasi_fd_filestat_set_times(ro, 0, 0, __WASI_FSTFLAGS_MTIM_NOW),
           __WASI_ERRNO_PERM);
    /* A file opened for reading under /ro: every change is refused. */
    expect("open data", open_at(ro, "data", 0, 0, RIGHTS_ALL & ~(__WASI_RIGHTS_FD_WRITE |
           __WASI_RIGHTS_FD_ALLOCATE | __WASI_RIGHTS_FD_FILESTAT_SET_SIZE), &fd), 0);
    expect("fd utimes", __wasi_fd_filestat_set_times(fd, 0, 0, __WASI_FSTFLAGS_MTIM_NOW), __WASI_ERRNO_PERM);
    e = __wasi_fd_write(fd, &iov, 1, &n);
    if (e != __WASI_ERRNO_NOTCAPABLE && e != __WASI_ERRNO_BADF && e != __WASI_ERRNO_PERM)
        bad("fd_write", e, "NOTCAPABLE, BADF or PERM");
    (void)__wasi_fd_close(fd);
    /* Directories opened below /ro stay read-only. */
    expect("open dir", open_at(ro, "dir", 0, __WASI_OFLAGS_DIRECTORY, DIR_RIGHTS, &dir), 0);
    expect("create in dir", open_at(dir, "new", 0, __WASI_OFLAGS_CREAT, 0, NULL), __WASI_ERRNO_PERM);
    expect("unlink in dir", __wasi_path_unlink_file(dir, "f"), __WASI_ERRNO_PERM);
    (void)__wasi_fd_close(dir);
    /* Renumbering a read-only descriptor over a writable one keeps it read-only. */
    expect("open dir again", open_at(ro, "dir", 0, __WASI_OFLAGS_DIRECTORY, DIR_RIGHTS, &dir), 0);
    expect("renumber over /box", __wasi_fd_renumber(dir, box), 0);
    expect("create via renumbered", open_at(box, "new", 0, __WASI_OFLAGS_CREAT, 0, NULL), __WASI_ERRNO_PERM);
}

/* The host swaps race/ between a real directory and a symlink out while we open through it. */
static void case_race(int rounds)
{
    int inside = 0, refused = 0;

    for (int i = 0; i < rounds; i++) {
        __wasi_errno_t e;
        const char *s = slurp(box, "race/file", &e);
        if (!strcmp(s, "SECRET\n")) {
            bad("race: read the outside file", 0, "never");
            return;
        }
        if (e == 0)
            inside++;
        else
            refused++;
    }
    printf("race: %d reads inside, %d refused\n", inside, refused);
}

int main(int argc, char **argv)
{
    const char *c = argc > 1 ? argv[1] : "";

    find_preopens();
    if (box == (__wasi_fd_t)-1 || ro == (__wasi_fd_t)-1) {
        printf("FAIL preopens /box and /ro not found\n");
        return 1;
    }
    if (!strcmp(c, "dotdot")) case_dotdot();
    else if (!strcmp(c, "absolute")) case_absolute();
    else if (!strcmp(c, "symlink-out")) case_symlink_out();
    else if (!strcmp(c, "symlink-loop")) case_symlink_loop();
    else if (!strcmp(c, "dotdot-symlink-dir")) case_dotdot_symlink_dir();
    else if (!strcmp(c, "rename-out")) case_rename_out();
    else if (!strcmp(c, "link-out")) case_link_out();
    else if (!strcmp(c, "readonly")) case_readonly();
    else if (!strcmp(c, "race")) case_race(argc > 2 ? atoi(argv[2]) : 2000);
    else {
        printf("FAIL unknown case '%s'\n", c);
        return 2;
    }
    if (failures)
        return 1;
    printf("ok\n");
    return 0;
}
