/* btree.c - compute benchmark: a paged B+tree (4 KiB pages, slotted leaf cells) under an insert/lookup/scan/delete mix. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Pages are numbered and reached through a page table, the way a database pager hands them
 * out, so the tree holds page numbers, never pointers.
 *
 * Leaf page:     [0] type=1, [1..2] ncells, [3..4] content start, [5..8] next leaf,
 *                [9..] u16 cell offsets sorted by key; cells grow down from the end:
 *                i64 key, u16 value length, value bytes.
 * Interior page: [0] type=2, [1..2] nkeys, [5..8] rightmost child,
 *                [9..] entries of (u32 child, i64 key): child holds keys < key. */
#define PAGE 4096
#define HDR 9
#define LEAF 1
#define INTERIOR 2
#define IENT 12
#define IMAX ((PAGE - HDR) / IENT)

static uint8_t **pages;
static uint32_t npages, cappages;

static uint16_t g2(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t g4(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static int64_t g8(const uint8_t *p) { int64_t v; memcpy(&v, p, 8); return v; }
static void p2(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void p4(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void p8(uint8_t *p, int64_t v) { memcpy(p, &v, 8); }

static uint32_t page_new(int type)
{
    if (npages == cappages) {
        cappages = cappages ? cappages * 2 : 256;
        pages = realloc(pages, cappages * sizeof(*pages));
        if (!pages)
            exit(1);
    }
    uint8_t *p = calloc(1, PAGE);
    if (!p)
        exit(1);
    p[0] = (uint8_t)type;
    p2(p + 3, PAGE);
    pages[npages] = p;
    return npages++;
}

/* ---- leaf cells ---- */
static uint8_t *cell(uint8_t *pg, int i) { return pg + g2(pg + HDR + 2 * i); }
static int cell_size(const uint8_t *c) { return 10 + g2(c + 8); }
static int ncells(const uint8_t *pg) { return g2(pg + 1); }

/* First slot whose key is >= key (binary search over the sorted offsets). */
static int leaf_find(uint8_t *pg, int64_t key)
{
    int lo = 0, hi = ncells(pg);
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (g8(cell(pg, mid)) < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int leaf_free(const uint8_t *pg)
{
    return g2(pg + 3) - (HDR + 2 * ncells(pg));
}

/* Bytes in use by cells, to tell whether compaction would make room. */
static int leaf_used(uint8_t *pg)
{
    int used = 0;
    for (int i = 0; i < ncells(pg); i++)
        used += cell_size(cell(pg, i));
    return used;
}

/* Rewrite the page so that deleted cells' holes are gone. */
static void leaf_compact(uint8_t *pg)
{
    static uint8_t tmp[PAGE];
    int n = ncells(pg), top = PAGE;

    memcpy(tmp, pg, PAGE);
    for (int i = 0; i < n; i++) {
        const uint8_t *c = tmp + g2(tmp + HDR + 2 * i);
        int sz = cell_size(c);
        top -= sz;
        memcpy(pg + top, c, sz);
        p2(pg + HDR + 2 * i, (uint16_t)top);
    }
    p2(pg + 3, (uint16_t)top);
}

static void leaf_put_at(uint8_t *pg, int slot, int64_t key, const uint8_t *val, int len)
{
    int n = ncells(pg), top = g2(pg + 3) - (10 + len);

    memmove(pg + HDR + 2 * (slot + 1), pg + HDR + 2 * slot, 2 * (n - slot));
    p8(pg + top, key);
    p2(pg + top + 8, (uint16_t)len);
    memcpy(pg + top + 10, val, len);
    p2(pg + HDR + 2 * slot, (uint16_t)top);
    p2(pg + 1, (uint16_t)(n + 1));
    p2(pg + 3, (uint16_t)top);
}

static void leaf_remove(uint8_t *pg, int slot)
{
    int n = ncells(pg);
    memmove(pg + HDR + 2 * slot, pg + HDR + 2 * (slot + 1), 2 * (n - slot - 1));
    p2(pg + 1, (uint16_t)(n - 1));
}

struct split { int happened; int64_t sep; uint32_t right; };

/* Split a full leaf (with the new cell) by bytes; the right half goes to a new page. */
static struct split leaf_split(uint32_t pgno, int slot, int64_t key, const uint8_t *val, int len)
{
    static uint8_t cells[PAGE * 2];
    int off[PAGE / 10 + 2], n = ncells(pages[pgno]), total, pos = 0, k = 0;
    uint8_t *pg = pages[pgno];

    for (int i = 0; i <= n; i++) {   /* gather cells in key order, the new one at `slot` */
        if (i == slot) {
            off[k++] = pos;
            p8(cells + pos, key);
            p2(cells + pos + 8, (uint16_t)len);
            memcpy(cells + pos + 10, val, len);
            pos += 10 + len;
        }
        if (i < n) {
            int sz = cell_size(cell(pg, i));
            off[k++] = pos;
            memcpy(cells + pos, cell(pg, i), sz);
            pos += sz;
        }
    }
    total = pos;
    uint32_t rno = page_new(LEAF);
    uint8_t *right = pages[rno];
    pg = pages[pgno];
    int mid = 0;
    for (int acc = 0; mid < k - 1 && acc + cell_size(cells + off[mid]) <= total / 2; mid++)
        acc += cell_size(cells + off[mid]);
    if (mid == 0)
        mid = 1;
    p2(pg + 1, 0);
    p2(pg + 3, PAGE);
    for (int i = 0; i < mid; i++)
        leaf_put_at(pg, i, g8(cells + off[i]), cells + off[i] + 10, g2(cells + off[i] + 8));
    for (int i = mid; i < k; i++)
        leaf_put_at(right, i - mid, g8(cells + off[i]), cells + off[i] + 10, g2(cells + off[i] + 8));
    p4(right + 5, g4(pg + 5));
    p4(pg + 5, rno);
    return (struct split){1, g8(cells + off[mid]), rno};
}

/* ---- interior pages ---- */
static int nkeys(const uint8_t *pg) { return g2(pg + 1); }
static uint32_t ichild(const uint8_t *pg, int i) { return i == nkeys(pg) ? g4(pg + 5) : g4(pg + HDR + IENT * i); }
static int64_t ikey(const uint8_t *pg, int i) { return g8(pg + HDR + IENT * i + 4); }

/* Index of the child that covers key. */
static int interior_find(const uint8_t *pg, int64_t key)
{
    int lo = 0, hi = nkeys(pg);
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (key < ikey(pg, mid))
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Child i split into (i, right) at sep: insert sep after it, splitting this page if full. */
static struct split interior_insert(uint32_t pgno, int i, int64_t sep, uint32_t right)
{
    static uint8_t ent[(IMAX + 1) * IENT];
    uint8_t *pg = pages[pgno];
    int n = nkeys(pg);
    uint32_t rightmost = g4(pg + 5);

    /* Entry i keeps its key but now points at the right half; the left half gets sep. */
    memcpy(ent, pg + HDR, IENT * n);
    memmove(ent + IENT * (i + 1), ent + IENT * i, IENT * (n - i));
    uint32_t left = i == n ? rightmost : g4(ent + IENT * i);
    p4(ent + IENT * i, left);
    p8(ent + IENT * i + 4, sep);
    if (i == n)
        rightmost = right;
    else
        p4(ent + IENT * (i + 1), right);
    n++;
    if (n <= IMAX) {
        memcpy(pg + HDR, ent, IENT * n);
        p2(pg + 1, (uint16_t)n);
        p4(pg + 5, rightmost);
        return (struct split){0, 0, 0};
    }
    /* Push the middle key up; its child becomes the left page's rightmost. */
    int mid = n / 2;
    uint32_t rno = page_new(INTERIOR);
    uint8_t *rp = pages[rno];
    pg = pages[pgno];
    memcpy(pg + HDR, ent, IENT * mid);
    p2(pg + 1, (uint16_t)mid);
    p4(pg + 5, g4(ent + IENT * mid));
    memcpy(rp + HDR, ent + IENT * (mid + 1), IENT * (n - mid - 1));
    p2(rp + 1, (uint16_t)(n - mid - 1));
    p4(rp + 5, rightmost);
    return (struct split){1, g8(ent + IENT * mid + 4), rno};
}

/* ---- tree operations ---- */
static uint32_t root;

static struct split insert_rec(uint32_t pgno, int64_t key, const uint8_t *val, int len, int *replaced)
{
    uint8_t *pg = pages[pgno];

    if (pg[0] == LEAF) {
        int slot = leaf_find(pg, key);
        if (slot < ncells(pg) && g8(cell(pg, slot)) == key) {
            leaf_remove(pg, slot);   /* an update is a delete plus an insert */
            *replaced = 1;
        }
        if (leaf_free(pg) < 12 + len && PAGE - HDR - 2 * (ncells(pg) + 1) - leaf_used(pg) >= 10 + len)
            leaf_compact(pg);
        if (leaf_free(pg) >= 12 + len) {
            leaf_put_at(pg, slot, key, val, len);
            return (struct split){0, 0, 0};
        }
        return leaf_split(pgno, slot, key, val, len);
    }
    int i = interior_find(pg, key);
    struct split s = insert_rec(ichild(pg, i), key, val, len, replaced);
    return s.happened ? interior_insert(pgno, i, s.sep, s.right) : s;
}

static int insert(int64_t key, const uint8_t *val, int len)
{
    int replaced = 0;
    struct split s = insert_rec(root, key, val, len, &replaced);

    if (s.happened) {   /* the root split: grow the tree by one level */
        uint32_t nr = page_new(INTERIOR);
        uint8_t *pg = pages[nr];
        p4(pg + HDR, root);
        p8(pg + HDR + 4, s.sep);
        p2(pg + 1, 1);
        p4(pg + 5, s.right);
        root = nr;
    }
    return replaced;
}

static uint32_t leaf_for(int64_t key)
{
    uint32_t pgno = root;
    while (pages[pgno][0] == INTERIOR)
        pgno = ichild(pages[pgno], interior_find(pages[pgno], key));
    return pgno;
}

/* Value of key, or NULL; *len gets its length. */
static const uint8_t *lookup(int64_t key, int *len)
{
    uint8_t *pg = pages[leaf_for(key)];
    int slot = leaf_find(pg, key);

    if (slot == ncells(pg) || g8(cell(pg, slot)) != key)
        return NULL;
    *len = g2(cell(pg, slot) + 8);
    return cell(pg, slot) + 10;
}

/* Leaves may run empty: like a database without auto-vacuum, the tree does not merge them. */
static int delete(int64_t key)
{
    uint8_t *pg = pages[leaf_for(key)];
    int slot = leaf_find(pg, key);

    if (slot == ncells(pg) || g8(cell(pg, slot)) != key)
        return 0;
    leaf_remove(pg, slot);
    return 1;
}

/* Sum of key+first value byte over [lo, hi), walking the leaf chain. */
static uint64_t scan(int64_t lo, int64_t hi, long *count)
{
    uint32_t pgno = leaf_for(lo);
    int slot = leaf_find(pages[pgno], lo);
    uint64_t sum = 0;

    for (;;) {
        uint8_t *pg = pages[pgno];
        for (; slot < ncells(pg); slot++) {
            uint8_t *c = cell(pg, slot);
            if (g8(c) >= hi)
                return sum;
            sum += (uint64_t)g8(c) + c[10];
            (*count)++;
        }
        if (!(pgno = g4(pg + 5)))
            return sum;   /* page 0 is the first leaf, never a successor */
        slot = 0;
    }
}

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Value bytes derived from the key, so any lookup can be checked. */
static int make_val(int64_t key, uint8_t *v)
{
    int len = 8 + (int)((uint64_t)key % 57);
    for (int i = 0; i < len; i++)
        v[i] = (uint8_t)(key * 31 + i * 7);
    return len;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 500000;
    uint8_t v[128];
    long found = 0, scanned = 0, deleted = 0, replaced = 0, bad = 0;
    uint64_t sum = 0, seed;

    root = page_new(LEAF);
    seed = rng;
    for (long i = 0; i < n; i++) {   /* random keys in a range that makes some repeat */
        int64_t k = (int64_t)(rnd() % (uint64_t)(n * 4));
        replaced += insert(k, v, make_val(k, v));
    }
    for (int pass = 0; pass < 2; pass++) {
        rng = seed;   /* replay the keys: all present; plus as many random probes */
        for (long i = 0; i < n; i++) {
            int64_t k = (int64_t)(rnd() % (uint64_t)(n * 4)), q = k ^ 1;
            int len;
            const uint8_t *p = lookup(k, &len);
            if (!p || len != make_val(k, v) || memcmp(p, v, len))
                bad++;
            found += lookup(q, &len) != NULL;
        }
    }
    for (long i = 0; i < n / 100; i++) {
        int64_t lo = (int64_t)(rnd() % (uint64_t)(n * 4));
        sum += scan(lo, lo + 2000, &scanned);
    }
    rng = seed;
    for (long i = 0; i < n; i += 2) {   /* delete about half, then look everything up again */
        int64_t k = (int64_t)(rnd() % (uint64_t)(n * 4));
        rnd();
        deleted += delete(k);
    }
    long left = 0;
    for (int64_t k = 0; k < n * 4; k++) {
        int len;
        left += lookup(k, &len) != NULL;
    }
    sum += scan(0, n * 4, &scanned);
    printf("pages %u, replaced %ld, bad %ld, probes found %ld, scanned %ld, deleted %ld, left %ld, sum %llu\n",
           npages, replaced, bad, found, scanned, deleted, left, (unsigned long long)sum);
    return bad != 0;
}
