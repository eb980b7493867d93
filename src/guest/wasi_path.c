/* wasi_path.c - the WASI path_* calls: rights are checked here, the host resolves each path beneath its preopen. */
#include "wasi_fd.h"

/* The directory descriptor `fd` holding all of `rights`. */
static u32 get_dir(u32 fd, u64 rights, struct wfd **out)
{
    struct wfd *d = kl_wfd(fd);

    if (!d)
        return WASI_EBADF;
    if (d->kind != WFD_DIR)
        return WASI_ENOTDIR;
    if ((d->base & rights) != rights)
        return WASI_ENOTCAPABLE;
    *out = d;
    return WASI_ESUCCESS;
}

/* A path operation's directory, right and path, ready to send. */
/* The directory fd (with `right`) and the path bytes a path call names. */
static u32 dir_path(wasi_t *w, u32 fd, u64 right, u32 path, u32 len, struct wfd **d,
                    uint8_t **p)
{
    u32 e = get_dir(fd, right, d);

    if (e)
        return e;
    return (*p = wasi_mem(w, path, len)) ? WASI_ESUCCESS : WASI_EFAULT;
}

static u32 path_begin(wasi_t *w, u32 op, u32 fd, u64 right, u32 path, u32 len,
                      struct kl_hc_fs **out)
{
    struct wfd *d;
    uint8_t *p;
    u32 e = dir_path(w, fd, right, path, len, &d, &p);

    if (e)
        return e;
    *out = fs_begin(op, d->handle);
    (*out)->path = gptr(p);
    (*out)->path_len = len;
    return WASI_ESUCCESS;
}

/* Add the second directory and path of a rename or link. */
static u32 path_second(wasi_t *w, struct kl_hc_fs *a, u32 fd, u64 right, u32 path, u32 len)
{
    struct wfd *d;
    uint8_t *p;
    u32 e = dir_path(w, fd, right, path, len, &d, &p);

    if (e)
        return e;
    a->h2 = d->handle;
    a->path2 = gptr(p);
    a->path2_len = len;
    return WASI_ESUCCESS;
}

static u32 path_simple(wasi_t *w, u32 op, u32 fd, u64 right, u32 path, u32 len)
{
    struct kl_hc_fs *a;
    u32 e = path_begin(w, op, fd, right, path, len, &a);

    return e ? e : fs_call(a);
}

u32 W(path_create_directory)(wasi_t *w, u32 fd, u32 path, u32 len)
{
    return path_simple(w, KL_FS_MKDIR, fd, R_PATH_CREATE_DIRECTORY, path, len);
}

u32 W(path_remove_directory)(wasi_t *w, u32 fd, u32 path, u32 len)
{
    return path_simple(w, KL_FS_RMDIR, fd, R_PATH_REMOVE_DIRECTORY, path, len);
}

u32 W(path_unlink_file)(wasi_t *w, u32 fd, u32 path, u32 len)
{
    return path_simple(w, KL_FS_UNLINK, fd, R_PATH_UNLINK_FILE, path, len);
}

u32 W(path_rename)(wasi_t *w, u32 fd, u32 old, u32 old_len, u32 new_fd, u32 new, u32 new_len)
{
    struct kl_hc_fs *a;
    u32 e = path_begin(w, KL_FS_RENAME, fd, R_PATH_RENAME_SOURCE, old, old_len, &a);

    if (e || (e = path_second(w, a, new_fd, R_PATH_RENAME_TARGET, new, new_len)))
        return e;
    return fs_call(a);
}

u32 W(path_link)(wasi_t *w, u32 old_fd, u32 old_flags, u32 old, u32 old_len, u32 new_fd,
                 u32 new, u32 new_len)
{
    struct kl_hc_fs *a;
    u32 e = path_begin(w, KL_FS_LINK, old_fd, R_PATH_LINK_SOURCE, old, old_len, &a);

    if (e || (e = path_second(w, a, new_fd, R_PATH_LINK_TARGET, new, new_len)))
        return e;
    a->lookup = old_flags;
    return fs_call(a);
}

u32 W(path_symlink)(wasi_t *w, u32 target, u32 target_len, u32 fd, u32 path, u32 len)
{
    uint8_t *t = wasi_mem(w, target, target_len);
    struct kl_hc_fs *a;
    struct wfd *d;
    uint8_t *p;
    u32 e = get_dir(fd, R_PATH_SYMLINK, &d);

    if (e)
        return e;
    if (!t || !(p = wasi_mem(w, path, len)))
        return WASI_EFAULT;
    a = fs_begin(KL_FS_SYMLINK, d->handle);
    a->path = gptr(t);
    a->path_len = target_len;
    a->path2 = gptr(p);
    a->path2_len = len;
    return fs_call(a);
}

u32 W(path_readlink)(wasi_t *w, u32 fd, u32 path, u32 len, u32 buf, u32 buf_len, u32 used)
{
    uint8_t *b = wasi_mem(w, buf, buf_len), *u = wasi_mem(w, used, 4);
    struct kl_hc_fs *a;
    u32 e = path_begin(w, KL_FS_READLINK, fd, R_PATH_READLINK, path, len, &a);

    if (e)
        return e;
    if (!b || !u)
        return WASI_EFAULT;
    a->buf = gptr(b);
    a->buf_len = buf_len;
    if ((e = fs_call(a)) != 0)
        return e;
    wasi_put32(u, (u32)a->result);
    return WASI_ESUCCESS;
}

u32 W(path_filestat_get)(wasi_t *w, u32 fd, u32 flags, u32 path, u32 len, u32 buf)
{
    uint8_t *out = wasi_mem(w, buf, 64);
    struct kl_hc_fs *a;
    u32 e = path_begin(w, KL_FS_PATH_STAT, fd, R_PATH_FILESTAT_GET, path, len, &a);

    if (e)
        return e;
    if (!out)
        return WASI_EFAULT;
    a->lookup = flags;
    if ((e = fs_call(a)) != 0)
        return e;
    memcpy(out, &a->stat, 64);
    return WASI_ESUCCESS;
}

u32 W(path_filestat_set_times)(wasi_t *w, u32 fd, u32 flags, u32 path, u32 len, u64 atim,
                               u64 mtim, u32 fst)
{
    struct kl_hc_fs *a;
    u32 e = path_begin(w, KL_FS_PATH_TIMES, fd, R_PATH_FILESTAT_SET_TIMES, path, len, &a);

    if (e)
        return e;
    a->lookup = flags;
    a->a = atim;
    a->b = mtim;
    a->flags = fst;
    return fs_call(a);
}

/*
 * path_open. The new descriptor gets the rights asked for, as far as the
 * directory's inheriting rights allow (wasi-common's rule), narrowed to what
 * applies to what was opened. Write access on the host follows the rights.
 */
u32 W(path_open)(wasi_t *w, u32 fd, u32 dirflags, u32 path, u32 len, u32 oflags, u64 base,
                 u64 inh, u32 fdflags, u32 fd_out)
{
    u64 need = R_PATH_OPEN | (oflags & OFLAG_CREAT ? R_PATH_CREATE_FILE : 0) |
               (oflags & OFLAG_TRUNC ? R_PATH_FILESTAT_SET_SIZE : 0);
    uint8_t *out = wasi_mem(w, fd_out, 4);
    struct kl_hc_fs *a;
    struct wfd *d, *f;
    int nfd;
    u32 e = get_dir(fd, need, &d);

    if (e)
        return e;
    if (!out)
        return WASI_EFAULT;
    base &= d->inh;
    inh &= d->inh;
    if ((nfd = kl_wfd_alloc(&f)) < 0)
        return WASI_EMFILE;
    if ((e = path_begin(w, KL_FS_OPEN, fd, need, path, len, &a)) != 0)
        return e;
    a->lookup = dirflags;
    a->flags = oflags;
    a->flags2 = fdflags;
    a->access = (base & (R_FD_READ | R_FD_READDIR) ? KL_FS_ACCESS_READ : 0) |
                (base & (R_FD_WRITE | R_FD_ALLOCATE | R_FD_FILESTAT_SET_SIZE) ? KL_FS_ACCESS_WRITE : 0);
    if ((e = fs_call(a)) != 0)
        return e;
    *f = (struct wfd){.filetype = (uint8_t)a->filetype, .flags = (uint16_t)(fdflags & 0x1F),
                      .handle = (uint32_t)a->result, .preopen = -1, .inh = inh,
                      .kind = a->filetype == FILETYPE_DIR ? WFD_DIR : WFD_FILE};
    f->base = base & (f->kind == WFD_DIR ? R_DIR_ALL : R_FILE_ALL);
    wasi_put32(out, (u32)nfd);
    return WASI_ESUCCESS;
}
