/* up_watch.c - fingerprints of the files `kernless up --watch` looks at: mtimes, sizes and names. */
#include "cli/up.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define WATCH_DEPTH 16
#define WATCH_FILES 20000

/* FNV-1a, 64 bits: a change in any name, size or mtime changes the print. */
static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;

    while (n--)
        h = (h ^ *b++) * 0x100000001b3ull;
    return h;
}

/* Folders no build input lives in: the server's own data (which changes
 * with every request), dependencies and build outputs, hidden folders. */
static int skipped(const char *name)
{
    return name[0] == '.' || strcmp(name, "node_modules") == 0 || strcmp(name, "target") == 0;
}

static uint64_t walk(uint64_t h, const char *path, int depth, unsigned *files)
{
    struct stat st;
    struct dirent *e;
    char sub[PATH_MAX];
    DIR *d;

    h = mix(h, path, strlen(path) + 1);
    if (lstat(path, &st) < 0)
        return mix(h, "-", 1);
    h = mix(h, &st.st_mtim, sizeof(st.st_mtim));
    h = mix(h, &st.st_size, sizeof(st.st_size));
    h = mix(h, &st.st_mode, sizeof(st.st_mode));
    if (!S_ISDIR(st.st_mode) || depth >= WATCH_DEPTH || ++*files > WATCH_FILES)
        return h;
    if ((d = opendir(path)) == NULL)
        return h;
    /* readdir's order is stable for an unchanged folder, which is all a
     * fingerprint needs. */
    while ((e = readdir(d)) != NULL && *files <= WATCH_FILES) {
        if (skipped(e->d_name))
            continue;
        snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
        h = walk(h, sub, depth + 1, files);
        ++*files;
    }
    closedir(d);
    return h;
}

uint64_t kl_up_fingerprint(char *const *paths, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    unsigned files = 0;
    size_t i;

    for (i = 0; i < n; i++)
        h = walk(h, paths[i], 0, &files);
    return h;
}
