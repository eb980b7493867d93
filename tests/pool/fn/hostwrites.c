/* hostwrites.c - WAGI: one request calls every hostcall through which the host writes guest memory, for the reset check. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/*
 * Deployed with a read-only preopen at /data holding file.txt and a symlink
 * link -> file.txt. Each call below makes the host write into linear memory
 * (or into the hostcall block): the stdin hostcall (a body above the 7 MiB
 * stdin window), fd_read, fd_pread, fd_readdir, path_readlink, fd_filestat
 * and path_filestat results; random_get, clock_time_get and the args/env
 * sizes come from the runtime and the boot block. Buffers are static and
 * touched nowhere else, so only the host writes them: on KVM no guest dirty
 * bit, on the process backend no page-table entry of the sandbox's own. The
 * server runs with KERNLESS_VERIFY_RESET=1, which fails the request if any
 * guest page differs from the snapshot after the reset.
 */

static char body[8 << 20], rbuf[8192], pbuf[8192], lbuf[512];
static unsigned char rnd[4096];

int main(void)
{
    size_t got = 0, nr = 0, np = 0, nd = 0;
    ssize_t n;
    struct stat st, lst;
    struct timespec ts;
    int ok = 1;

    while (got < sizeof(body) && (n = read(0, body + got, sizeof(body) - got)) > 0)
        got += (size_t)n;
    int fd = open("/data/file.txt", O_RDONLY);
    if (fd < 0)
        ok = 0;
    else {
        nr = (size_t)(read(fd, rbuf, sizeof(rbuf)) > 0);
        np = (size_t)(pread(fd, pbuf, sizeof(pbuf), 1) > 0);
        ok &= fstat(fd, &st) == 0;
        close(fd);
    }
    ok &= stat("/data/file.txt", &lst) == 0;
    ssize_t ln = readlink("/data/link", lbuf, sizeof(lbuf));
    DIR *d = opendir("/data");
    if (d) {
        while (readdir(d))
            nd++;
        closedir(d);
    }
    ok &= getentropy(rnd, 256) == 0;
    ok &= clock_gettime(CLOCK_MONOTONIC, &ts) == 0;
    printf("Content-Type: text/plain\n\nok=%d body=%zu read=%zu pread=%zu link=%zd dir=%zu size=%lld\n",
           ok && nr && np && ln > 0 && nd >= 3, got, nr, np, ln, nd, (long long)st.st_size);
    return 0;
}
