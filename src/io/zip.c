#include "io/zip.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef VC_HAVE_ZLIB
#include <zlib.h>
#endif

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_EOCD64_LOCATOR 0x07064b50u

struct vc_zip {
    const uint8_t *data;
    size_t size;
    void *map;           /* non-NULL when we mapped the file ourselves */
    size_t map_size;
    char *label;
    vc_zip_entry *entries;
    int count;
    char prefix[256];
};

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

/* 1 if [off, off+len) lies inside the buffer (overflow-safe). */
static int in_bounds(const vc_zip *z, uint64_t off, uint64_t len) {
    return off <= z->size && len <= z->size - off;
}

/* Finds the end-of-central-directory record: the last signature whose comment length ends
 * exactly at the end of the file (a comment may itself contain the signature bytes). */
static int find_eocd(const vc_zip *z, uint64_t *pos, vc_error *err) {
    if (z->size < 22) return vc_fail(err, "%s: not a ZIP archive (%zu bytes, too short)", z->label, z->size);
    uint64_t lowest = z->size > 22 + 65535 ? z->size - 22 - 65535 : 0;
    for (uint64_t p = z->size - 22;; p--) {
        if (rd32(z->data + p) == SIG_EOCD && p + 22 + rd16(z->data + p + 20) == z->size) {
            *pos = p;
            return 0;
        }
        if (p == lowest) break;
    }
    return vc_fail(err, "%s: not a ZIP archive (no end-of-central-directory record; truncated?)", z->label);
}

typedef struct {
    uint64_t entries, cd_size, cd_offset;
} cd_location;

static int read_eocd(const vc_zip *z, cd_location *loc, vc_error *err) {
    uint64_t e = 0;
    if (find_eocd(z, &e, err)) return -1;
    const uint8_t *p = z->data + e;
    if (rd16(p + 4) != 0 || rd16(p + 6) != 0 || rd16(p + 8) != rd16(p + 10))
        return vc_fail(err, "%s: multi-disk ZIP archives are not supported (record at byte %llu)", z->label,
                       (unsigned long long)e);
    loc->entries = rd16(p + 10);
    loc->cd_size = rd32(p + 12);
    loc->cd_offset = rd32(p + 16);
    /* ZIP64: a locator right before the record points at the 64-bit record. */
    if (e >= 20 && rd32(z->data + e - 20) == SIG_EOCD64_LOCATOR) {
        const uint8_t *l = z->data + e - 20;
        uint64_t r = rd64(l + 8);
        if (rd32(l + 16) > 1) return vc_fail(err, "%s: multi-disk ZIP64 archives are not supported", z->label);
        if (!in_bounds(z, r, 56) || r > e - 20 || rd32(z->data + r) != SIG_EOCD64)
            return vc_fail(err, "%s: bad ZIP64 end-of-central-directory record offset %llu (locator at byte %llu)",
                           z->label, (unsigned long long)r, (unsigned long long)(e - 20));
        const uint8_t *q = z->data + r;
        if (rd32(q + 16) != 0 || rd32(q + 20) != 0 || rd64(q + 24) != rd64(q + 32))
            return vc_fail(err, "%s: multi-disk ZIP64 archives are not supported", z->label);
        loc->entries = rd64(q + 32);
        loc->cd_size = rd64(q + 40);
        loc->cd_offset = rd64(q + 48);
    } else if (loc->entries == 0xFFFF || loc->cd_size == 0xFFFFFFFFu || loc->cd_offset == 0xFFFFFFFFu) {
        return vc_fail(err, "%s: ZIP64 fields in the end record but no ZIP64 locator (byte %llu)", z->label,
                       (unsigned long long)e);
    }
    if (!in_bounds(z, loc->cd_offset, loc->cd_size) || loc->cd_offset + loc->cd_size > e)
        return vc_fail(err, "%s: central directory [%llu, +%llu) lies outside the archive (%zu bytes)", z->label,
                       (unsigned long long)loc->cd_offset, (unsigned long long)loc->cd_size, z->size);
    if (loc->entries > loc->cd_size / 46)
        return vc_fail(err, "%s: central directory claims %llu entries in %llu bytes", z->label,
                       (unsigned long long)loc->entries, (unsigned long long)loc->cd_size);
    return 0;
}

/* Applies the ZIP64 extended-information extra field (id 1) to the fields saturated at 0xFFFFFFFF. */
static int apply_zip64_extra(const vc_zip *z, const uint8_t *extra, uint16_t len, vc_zip_entry *e,
                             int need_size, int need_comp, int need_off, uint64_t at, vc_error *err) {
    for (uint32_t i = 0; i + 4 <= len;) {
        uint16_t id = rd16(extra + i), n = rd16(extra + i + 2);
        if (i + 4 + (uint32_t)n > len) break;
        if (id == 1) {
            const uint8_t *f = extra + i + 4;
            uint32_t k = 0;
            if (need_size) { if (k + 8 > n) goto bad; e->size = rd64(f + k); k += 8; }
            if (need_comp) { if (k + 8 > n) goto bad; e->comp_size = rd64(f + k); k += 8; }
            if (need_off) { if (k + 8 > n) goto bad; e->local_offset = rd64(f + k); k += 8; }
            return 0;
        }
        i += 4 + (uint32_t)n;
    }
    if (!need_size && !need_comp && !need_off) return 0;
bad:
    return vc_fail(err, "%s: entry '%s' (central header at byte %llu) needs a ZIP64 extra field that is missing or short",
                   z->label, e->name, (unsigned long long)at);
}

static int parse_central(vc_zip *z, const cd_location *loc, vc_error *err) {
    z->entries = calloc(loc->entries ? loc->entries : 1, sizeof *z->entries);
    if (!z->entries) return vc_fail(err, "%s: out of memory for %llu entries", z->label, (unsigned long long)loc->entries);
    uint64_t p = loc->cd_offset, end = loc->cd_offset + loc->cd_size;
    for (uint64_t i = 0; i < loc->entries; i++) {
        if (p + 46 > end || rd32(z->data + p) != SIG_CENTRAL)
            return vc_fail(err, "%s: bad central directory entry %llu at byte %llu", z->label, (unsigned long long)i,
                           (unsigned long long)p);
        const uint8_t *h = z->data + p;
        uint16_t flags = rd16(h + 8), nlen = rd16(h + 28), xlen = rd16(h + 30), clen = rd16(h + 32);
        if (p + 46 + (uint64_t)nlen + xlen + clen > end)
            return vc_fail(err, "%s: central directory entry %llu at byte %llu runs past the directory", z->label,
                           (unsigned long long)i, (unsigned long long)p);
        vc_zip_entry *e = &z->entries[z->count];
        e->name = malloc((size_t)nlen + 1);
        if (!e->name) return vc_fail(err, "%s: out of memory", z->label);
        memcpy(e->name, h + 46, nlen);
        e->name[nlen] = 0;
        z->count++;
        if (strlen(e->name) != nlen)
            return vc_fail(err, "%s: entry name at byte %llu contains a NUL byte", z->label, (unsigned long long)p + 46);
        if (flags & 1) return vc_fail(err, "%s: entry '%s' is encrypted", z->label, e->name);
        e->method = rd16(h + 10);
        if (e->method != 0 && e->method != 8)
            return vc_fail(err, "%s: entry '%s' uses compression method %u (only stored and deflate are supported)",
                           z->label, e->name, e->method);
        e->crc32 = rd32(h + 16);
        e->comp_size = rd32(h + 20);
        e->size = rd32(h + 24);
        e->local_offset = rd32(h + 42);
        if (apply_zip64_extra(z, h + 46 + nlen, xlen, e, e->size == 0xFFFFFFFFu, e->comp_size == 0xFFFFFFFFu,
                              e->local_offset == 0xFFFFFFFFu, p, err))
            return -1;
        if (e->method == 0 && e->comp_size != e->size)
            return vc_fail(err, "%s: stored entry '%s' has compressed size %llu != size %llu", z->label, e->name,
                           (unsigned long long)e->comp_size, (unsigned long long)e->size);
        for (int k = 0; k < z->count - 1; k++)
            if (!strcmp(z->entries[k].name, e->name))
                return vc_fail(err, "%s: duplicate entry '%s'", z->label, e->name);
        p += 46 + (uint64_t)nlen + xlen + clen;
    }
    return 0;
}

static void find_prefix(vc_zip *z) {
    z->prefix[0] = 0;
    if (!z->count) return;
    const char *slash = strchr(z->entries[0].name, '/');
    if (!slash || (size_t)(slash - z->entries[0].name) + 2 > sizeof z->prefix) return;
    size_t n = (size_t)(slash - z->entries[0].name) + 1;
    for (int i = 1; i < z->count; i++)
        if (strncmp(z->entries[i].name, z->entries[0].name, n)) return;
    memcpy(z->prefix, z->entries[0].name, n);
    z->prefix[n] = 0;
}

vc_zip *vc_zip_open_mem(const void *data, size_t size, const char *label, vc_error *err) {
    vc_zip *z = calloc(1, sizeof *z);
    if (!z || !(z->label = strdup(label ? label : "(zip)"))) {
        free(z);
        vc_fail(err, "out of memory opening a ZIP archive");
        return NULL;
    }
    z->data = data;
    z->size = size;
    cd_location loc = {0, 0, 0};
    if (read_eocd(z, &loc, err) || parse_central(z, &loc, err)) {
        vc_zip_close(z);
        return NULL;
    }
    find_prefix(z);
    return z;
}

vc_zip *vc_zip_open(const char *path, vc_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        vc_fail(err, "%s: cannot open", path);
        return NULL;
    }
    struct stat sb;
    if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
        close(fd);
        vc_fail(err, "%s: not a regular file", path);
        return NULL;
    }
    size_t size = (size_t)sb.st_size;
    void *map = NULL;
    if (size) {
        map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            close(fd);
            vc_fail(err, "%s: cannot map %zu bytes", path, size);
            return NULL;
        }
    }
    close(fd);
    vc_zip *z = vc_zip_open_mem(map ? map : "", size, path, err);
    if (!z) {
        if (map) munmap(map, size);
        return NULL;
    }
    z->map = map;
    z->map_size = size;
    return z;
}

void vc_zip_close(vc_zip *z) {
    if (!z) return;
    for (int i = 0; i < z->count; i++) free(z->entries[i].name);
    free(z->entries);
    if (z->map) munmap(z->map, z->map_size);
    free(z->label);
    free(z);
}

int vc_zip_count(const vc_zip *z) { return z->count; }
const vc_zip_entry *vc_zip_at(const vc_zip *z, int i) { return i >= 0 && i < z->count ? &z->entries[i] : NULL; }
const char *vc_zip_prefix(const vc_zip *z) { return z->prefix; }
const char *vc_zip_label(const vc_zip *z) { return z->label; }

const vc_zip_entry *vc_zip_find(const vc_zip *z, const char *name) {
    for (int i = 0; i < z->count; i++)
        if (!strcmp(z->entries[i].name, name)) return &z->entries[i];
    return NULL;
}

#ifdef VC_HAVE_ZLIB
/* zlib's crc32 takes 32-bit lengths; feed it in chunks. */
static uint32_t crc_of(const uint8_t *p, uint64_t n) {
    uLong c = crc32(0L, Z_NULL, 0);
    while (n) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, p, k);
        p += k;
        n -= k;
    }
    return (uint32_t)c;
}
static int inflate_entry(const vc_zip *z, const vc_zip_entry *e, const uint8_t *src, uint8_t *dst, vc_error *err) {
    z_stream s;
    memset(&s, 0, sizeof s);
    if (inflateInit2(&s, -15) != Z_OK) return vc_fail(err, "%s: cannot initialise zlib", z->label);
    uint64_t in_left = e->comp_size, out_left = e->size;
    int rc = Z_OK;
    s.next_in = (Bytef *)src;
    s.next_out = dst;
    while (rc == Z_OK) {
        if (!s.avail_in && in_left) {
            s.avail_in = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left;
            in_left -= s.avail_in;
        }
        if (!s.avail_out && out_left) {
            s.avail_out = out_left > (1u << 30) ? (1u << 30) : (uInt)out_left;
            out_left -= s.avail_out;
        }
        uInt before_in = s.avail_in, before_out = s.avail_out;
        rc = inflate(&s, Z_NO_FLUSH);
        if (rc == Z_BUF_ERROR || (rc == Z_OK && s.avail_in == before_in && s.avail_out == before_out)) break;
    }
    uint64_t produced = (uint64_t)s.total_out;
    inflateEnd(&s);
    if (rc != Z_STREAM_END || produced != e->size)
        return vc_fail(err, "%s: entry '%s': corrupt deflate data (%s after %llu of %llu bytes)", z->label, e->name,
                       rc == Z_DATA_ERROR ? "invalid stream" : "stream ended early or overran",
                       (unsigned long long)produced, (unsigned long long)e->size);
    return 0;
}
#else
/* Without zlib: CRC-32 (the zip polynomial, bit by bit over a nibble table) and no inflate;
 * PyTorch's torch.save stores its entries uncompressed, so .pth files still load. */
static uint32_t crc_of(const uint8_t *p, uint64_t n) {
    static const uint32_t nibble[16] = {0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
                                        0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
                                        0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c};
    uint32_t c = 0xffffffffu;
    for (uint64_t i = 0; i < n; i++) {
        c ^= p[i];
        c = (c >> 4) ^ nibble[c & 15];
        c = (c >> 4) ^ nibble[c & 15];
    }
    return ~c;
}

static int inflate_entry(const vc_zip *z, const vc_zip_entry *e, const uint8_t *src, uint8_t *dst, vc_error *err) {
    (void)src, (void)dst;
    return vc_fail(err, "%s: entry '%s' is deflate-compressed and viclip was built without zlib "
                        "(rebuild with zlib, or store the archive uncompressed)", z->label, e->name);
}
#endif

int vc_zip_read(const vc_zip *z, const vc_zip_entry *e, const void **data, size_t *size, void **owned,
                vc_error *err) {
    *data = NULL;
    *owned = NULL;
    *size = 0;
    uint64_t lh = e->local_offset;
    if (!in_bounds(z, lh, 30) || rd32(z->data + lh) != SIG_LOCAL)
        return vc_fail(err, "%s: entry '%s': no local header at byte %llu", z->label, e->name, (unsigned long long)lh);
    uint64_t start = lh + 30 + rd16(z->data + lh + 26) + (uint64_t)rd16(z->data + lh + 28);
    if (!in_bounds(z, start, e->comp_size))
        return vc_fail(err, "%s: entry '%s': data [%llu, +%llu) runs past the end of the archive (%zu bytes; truncated?)",
                       z->label, e->name, (unsigned long long)start, (unsigned long long)e->comp_size, z->size);
    const uint8_t *src = z->data + start;
    if (e->method == 0) {
        if (crc_of(src, e->size) != e->crc32)
            return vc_fail(err, "%s: entry '%s' (data at byte %llu): CRC-32 mismatch (corrupt archive)", z->label,
                           e->name, (unsigned long long)start);
        *data = src;
        *size = (size_t)e->size;
        return 0;
    }
    /* Deflate expands at most ~1032:1; a larger claim is a lie (or a bomb). */
    if (e->size > e->comp_size * 1032 + 1024 || e->size > SIZE_MAX - 1)
        return vc_fail(err, "%s: entry '%s' claims %llu bytes from %llu compressed", z->label, e->name,
                       (unsigned long long)e->size, (unsigned long long)e->comp_size);
    uint8_t *buf = malloc(e->size ? (size_t)e->size : 1);
    if (!buf) return vc_fail(err, "%s: out of memory inflating '%s' (%llu bytes)", z->label, e->name, (unsigned long long)e->size);
    if (inflate_entry(z, e, src, buf, err)) {
        free(buf);
        return -1;
    }
    if (crc_of(buf, e->size) != e->crc32) {
        free(buf);
        return vc_fail(err, "%s: entry '%s': CRC-32 mismatch after inflating (corrupt archive)", z->label, e->name);
    }
    *data = buf;
    *owned = buf;
    *size = (size_t)e->size;
    return 0;
}
