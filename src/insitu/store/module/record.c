#include "record.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *(*buf_realloc)(void *, size_t) = realloc;
static void (*buf_free_fn)(void *) = free;

void buf_set_allocator(void *(*realloc_fn)(void *, size_t), void (*free_fn)(void *)) {
    buf_realloc = realloc_fn;
    buf_free_fn = free_fn;
}

static int buf_reserve(buf_t *b, size_t more) {
    if (b->failed) return -1;
    if (b->len + more <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more) cap *= 2;
    char *data = buf_realloc(b->data, cap);
    if (data == NULL) { b->failed = 1; return -1; }
    b->data = data;
    b->cap = cap;
    return 0;
}

void buf_put(buf_t *b, const void *data, size_t len) {
    if (len == 0 || buf_reserve(b, len) != 0) return;
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

void buf_puts(buf_t *b, const char *s) { buf_put(b, s, strlen(s)); }

void buf_printf(buf_t *b, const char *fmt, ...) {
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n > 0) buf_put(b, small, (size_t)n < sizeof(small) ? (size_t)n : sizeof(small) - 1);
}

void buf_json_string(buf_t *b, const char *s, size_t len) {
    buf_put(b, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') { buf_put(b, "\\", 1); buf_put(b, &s[i], 1); }
        else if (c < 0x20) buf_printf(b, "\\u%04x", c);
        else buf_put(b, &s[i], 1);  /* valid UTF-8 passes through (checked by the caller) */
    }
    buf_put(b, "\"", 1);
}

void buf_free(buf_t *b) {
    if (b->data) buf_free_fn(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

const char *names_next(const names_t *n, size_t *pos, size_t *len) {
    if (*pos + 4 > n->packed_len) return NULL;
    uint32_t l;
    memcpy(&l, n->packed + *pos, 4);
    const char *s = n->packed + *pos + 4;
    *pos += 4 + l;
    *len = l;
    return s;
}

int valid_text(const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        size_t n;
        uint32_t cp;
        if (c == 0) return 0;
        if (c < 0x80) { i++; continue; }
        if ((c & 0xe0) == 0xc0) { n = 1; cp = c & 0x1f; }
        else if ((c & 0xf0) == 0xe0) { n = 2; cp = c & 0x0f; }
        else if ((c & 0xf8) == 0xf0) { n = 3; cp = c & 0x07; }
        else return 0;
        if (i + n >= len) return 0;
        for (size_t k = 1; k <= n; k++) {
            if ((p[i + k] & 0xc0) != 0x80) return 0;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += n + 1;
    }
    return 1;
}

/* ----------------------------------------------------------------- a small JSON reader:
 * one object whose values are strings, integers or arrays of strings (what insitu writes;
 * anything else is refused). */
typedef struct {
    const char *p, *end;
    char *arena;
    size_t used;
} reader;

static void skip_ws(reader *r) {
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
        r->p++;
}

static int hex4(const char *p, uint32_t *out) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

static void put_utf8(reader *r, uint32_t cp) {
    char *o = r->arena + r->used;
    if (cp < 0x80) { o[0] = (char)cp; r->used += 1; }
    else if (cp < 0x800) { o[0] = (char)(0xc0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3f)); r->used += 2; }
    else if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f)); r->used += 3;
    } else {
        o[0] = (char)(0xf0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        o[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); o[3] = (char)(0x80 | (cp & 0x3f)); r->used += 4;
    }
}

/* Decode a string into the arena; out and len describe it (NUL-terminated). */
static int read_string(reader *r, const char **out, size_t *len) {
    skip_ws(r);
    if (r->p >= r->end || *r->p != '"') return -1;
    r->p++;
    size_t start = r->used;
    while (r->p < r->end && *r->p != '"') {
        char c = *r->p++;
        if ((unsigned char)c < 0x20) return -1;
        if (c != '\\') { r->arena[r->used++] = c; continue; }
        if (r->p >= r->end) return -1;
        char e = *r->p++;
        switch (e) {
        case '"': case '\\': case '/': r->arena[r->used++] = e; break;
        case 'b': r->arena[r->used++] = '\b'; break;
        case 'f': r->arena[r->used++] = '\f'; break;
        case 'n': r->arena[r->used++] = '\n'; break;
        case 'r': r->arena[r->used++] = '\r'; break;
        case 't': r->arena[r->used++] = '\t'; break;
        case 'u': {
            uint32_t cp, lo;
            if (r->end - r->p < 4 || hex4(r->p, &cp) != 0) return -1;
            r->p += 4;
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u' ||
                    hex4(r->p + 2, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
                    return -1;
                r->p += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                return -1;
            }
            put_utf8(r, cp);
            break;
        }
        default: return -1;
        }
    }
    if (r->p >= r->end) return -1;
    r->p++;
    *out = r->arena + start;
    *len = r->used - start;
    r->arena[r->used++] = 0;
    return 0;
}

static int read_int(reader *r, long long *out) {
    skip_ws(r);
    int neg = 0;
    if (r->p < r->end && *r->p == '-') { neg = 1; r->p++; }
    if (r->p >= r->end || *r->p < '0' || *r->p > '9') return -1;
    unsigned long long v = 0;
    while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
        if (v > (unsigned long long)(INT64_MAX / 10)) return -1;
        v = v * 10 + (unsigned long long)(*r->p++ - '0');
    }
    if (v > (unsigned long long)INT64_MAX) return -1;
    *out = neg ? -(long long)v : (long long)v;
    return 0;
}

static int read_names(reader *r, names_t *names) {
    skip_ws(r);
    if (r->p >= r->end || *r->p != '[') return -1;
    r->p++;
    /* Each name is decoded, then re-packed as length + bytes further along the arena. */
    buf_t packed = {0};
    names->count = 0;
    skip_ws(r);
    if (r->p < r->end && *r->p == ']') { r->p++; goto done; }
    for (;;) {
        const char *s;
        size_t len;
        if (read_string(r, &s, &len) != 0) { buf_free(&packed); return -1; }
        uint32_t l = (uint32_t)len;
        buf_put(&packed, &l, 4);
        buf_put(&packed, s, len);
        r->used -= len + 1;  /* the decoded copy is not needed any more */
        names->count++;
        skip_ws(r);
        if (r->p < r->end && *r->p == ',') { r->p++; continue; }
        if (r->p < r->end && *r->p == ']') { r->p++; break; }
        buf_free(&packed);
        return -1;
    }
done:
    if (packed.failed) { buf_free(&packed); return -1; }
    memcpy(r->arena + r->used, packed.data ? packed.data : "", packed.len);
    names->packed = r->arena + r->used;
    names->packed_len = packed.len;
    r->used += packed.len;
    buf_free(&packed);
    return 0;
}

static int copy_short(char *dst, size_t cap, const char *s, size_t len) {
    if (len >= cap) return -1;
    memcpy(dst, s, len);
    dst[len] = 0;
    return 0;
}

int header_parse(const char *json, size_t len, model_header *h, char *arena) {
    reader r = {json, json + len, arena, 0};
    memset(h, 0, sizeof(*h));
    int seen = 0, format_ok = 0;
    skip_ws(&r);
    if (r.p >= r.end || *r.p != '{') return -1;
    r.p++;
    skip_ws(&r);
    if (r.p < r.end && *r.p == '}') return -1;
    for (;;) {
        const char *name, *s;
        size_t nlen, slen;
        if (read_string(&r, &name, &nlen) != 0) return -1;
        skip_ws(&r);
        if (r.p >= r.end || *r.p != ':') return -1;
        r.p++;
        skip_ws(&r);
        if (r.p >= r.end) return -1;
#define IS(k) (nlen == sizeof(k) - 1 && memcmp(name, k, nlen) == 0)
        if (IS("inputs") || IS("outputs")) {
            if (read_names(&r, IS("inputs") ? &h->inputs : &h->outputs) != 0) return -1;
        } else if (*r.p == '"') {
            if (read_string(&r, &s, &slen) != 0) return -1;
            if (IS("format")) format_ok = slen == 14 && memcmp(s, "insitu-model/1", 14) == 0;
            else if (IS("kind")) { if (copy_short(h->kind, sizeof h->kind, s, slen)) return -1; seen |= 1; }
            else if (IS("backend")) { if (copy_short(h->backend, sizeof h->backend, s, slen)) return -1; seen |= 2; }
            else if (IS("device")) { if (copy_short(h->device, sizeof h->device, s, slen)) return -1; seen |= 4; }
            else if (IS("version")) { if (copy_short(h->version, sizeof h->version, s, slen)) return -1; seen |= 8; }
            else if (IS("tag")) { h->tag = s; h->tag_len = slen; }
        } else if (*r.p == '[') {
            names_t ignored;
            if (read_names(&r, &ignored) != 0) return -1;
        } else {
            long long v;
            if (read_int(&r, &v) != 0) return -1;
            if (IS("batch_size")) h->batch_size = v;
            else if (IS("min_batch_size")) h->min_batch_size = v;
            else if (IS("min_batch_timeout")) h->min_batch_timeout = v;
            else if (IS("size")) { h->size = v; seen |= 16; }
            else if (IS("chunks")) { h->chunks = v; seen |= 32; }
        }
#undef IS
        skip_ws(&r);
        if (r.p < r.end && *r.p == ',') { r.p++; continue; }
        if (r.p < r.end && *r.p == '}') { r.p++; break; }
        return -1;
    }
    skip_ws(&r);
    if (r.p != r.end || !format_ok || seen != 63) return -1;
    if (strcmp(h->kind, "model") != 0 && strcmp(h->kind, "script") != 0) return -1;
    if (h->size < 0 || h->chunks < 1 || h->chunks > (1LL << 24)) return -1;
    if (h->tag == NULL) { h->tag = ""; h->tag_len = 0; }
    return 0;
}
