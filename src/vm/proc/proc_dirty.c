/* proc_dirty.c - which pages a sandbox wrote since the last scan (userfaultfd write-protect + PAGEMAP_SCAN), or touched at all. */
#include "vm/proc/proc.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/*
 * Where the tender registered its guest memory for asynchronous
 * write-protection (tender.c, vm->dirty_wp), each scan lists the pages
 * written since the previous scan and protects them again in the same
 * call, the mechanism CRIU uses: the warm reset scans once at the snapshot
 * and once per reset, so it copies back only what the last request wrote
 * (and, once, pages it newly read: a present page that was never protected
 * counts as written). Pages the sandbox never touched have no page-table
 * entry and are skipped without being protected, so a scan costs what was
 * touched, not the size of the range.
 *
 * A write to a protected page costs a fault (about twice what copying the
 * page back costs), so protection is renewed only while many pages are
 * dirty: the snapshot's scan protects what start-up touched (a thousand
 * pages for CPython), and a reset that found fewer than PROTECT_MIN pages
 * leaves them unprotected: they are reported, and copied back, at every
 * reset after, without a fault each time.
 *
 * Otherwise, page-table presence: the sandbox's regions are shared memfd mappings
 * that are never unmapped while it lives, so a page present in its page
 * tables is one it read or wrote since it started (fault-around may add
 * neighbours it only could have read). That is the union of pages ever
 * touched, a superset of the pages ever written, which is what the warm
 * reset copies back (warm.c), just as the KVM path uses the guest PTE dirty
 * bits it never clears. Soft-dirty bits would be tighter but this kernel
 * lacks them, and UFFD write-protection would cost a fault per page
 * (DESIGN-NOTES 0B). A page the kernel swapped out shows as swapped, and
 * counts too.
 */

#ifndef PAGEMAP_SCAN
/* linux/fs.h, Linux 6.7; Debian 12's headers predate it. */
struct page_region {
    uint64_t start, end, categories;
};
struct pm_scan_arg {
    uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
    uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#define PAGE_IS_PRESENT (1 << 3)
#define PAGE_IS_SWAPPED (1 << 4)
#endif
#ifndef PM_SCAN_WP_MATCHING
#define PAGE_IS_WRITTEN (1 << 1)
#define PM_SCAN_WP_MATCHING (1 << 0)     /* write-protect what matched */
#define PM_SCAN_CHECK_WPASYNC (1 << 1)   /* fail (-EPERM) on a range not registered */
#endif

#define PROTECT_MIN 256   /* pages: see above */

#define PM_PRESENT (1ull << 63)
#define PM_SWAPPED (1ull << 62)

static void set_bits(uint64_t *bitmap, uint64_t first, uint64_t n)
{
    for (uint64_t i = first; i < first + n; i++)
        bitmap[i / 64] |= 1ull << (i % 64);
}

/* Kernels before 6.7: one 8-byte pagemap entry per page. */
static int scan_pread(struct kl_vm *vm, uint64_t gva, uint64_t pages, uint64_t *bitmap)
{
    uint64_t buf[512];

    for (uint64_t done = 0; done < pages;) {
        uint64_t n = pages - done < 512 ? pages - done : 512;
        ssize_t got = pread(vm->pagemap_fd, buf, n * 8, (off_t)((gva / KL_PAGE_SIZE + done) * 8));
        if (got != (ssize_t)(n * 8))
            return got < 0 ? -errno : -EIO;
        for (uint64_t i = 0; i < n; i++)
            if (buf[i] & (PM_PRESENT | PM_SWAPPED))
                set_bits(bitmap, done + i, 1);
        done += n;
    }
    return 0;
}

int kl_proc_dirty_log(struct kl_vm *vm, uint64_t gva, uint64_t len, uint64_t *bitmap)
{
    struct page_region r[64];
    struct pm_scan_arg a;
    uint64_t pages = len / KL_PAGE_SIZE, end = gva + pages * KL_PAGE_SIZE;

    memset(bitmap, 0, (pages + 63) / 64 * 8);
    if (vm->dead)
        return -ECHILD;
    while (gva < end) {
        memset(&a, 0, sizeof(a));
        a.size = sizeof(a);
        a.start = gva;
        a.end = end;
        a.vec = (uint64_t)(uintptr_t)r;
        a.vec_len = sizeof(r) / sizeof(r[0]);
        a.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED;
        a.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED;
        if (vm->dirty_wp) {
            /* Unregistered memory fails the scan rather than being skipped. */
            a.flags = PM_SCAN_CHECK_WPASYNC | (vm->wp_next ? PM_SCAN_WP_MATCHING : 0);
            a.category_mask = PAGE_IS_WRITTEN;
            a.return_mask |= PAGE_IS_WRITTEN;
        }
        int n = ioctl(vm->pagemap_fd, PAGEMAP_SCAN, &a);
        if (n < 0) {
            if (vm->dirty_wp)
                return -errno;
            if (errno == ENOTTY || errno == EINVAL)
                return scan_pread(vm, end - pages * KL_PAGE_SIZE, pages, bitmap);
            return -errno;
        }
        for (int i = 0; i < n; i++) {
            set_bits(bitmap, (r[i].start - (end - pages * KL_PAGE_SIZE)) / KL_PAGE_SIZE,
                     (r[i].end - r[i].start) / KL_PAGE_SIZE);
            vm->wp_reported += (r[i].end - r[i].start) / KL_PAGE_SIZE;
        }
        if (a.walk_end <= gva)
            return -EIO;
        gva = a.walk_end;
    }
    return 0;
}

void kl_proc_dirty_round(struct kl_vm *vm)
{
    vm->wp_next = vm->wp_reported >= PROTECT_MIN;
    vm->wp_reported = 0;
}
