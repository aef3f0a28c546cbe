#include "tensor.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const dtype_t DTYPES[] = {
    {1, "DOUBLE", 8, 'f'}, {2, "FLOAT", 4, 'f'},  {3, "HALF", 2, 'f'},
    {4, "INT8", 1, 'i'},   {5, "INT16", 2, 'i'},  {6, "INT32", 4, 'i'},
    {7, "INT64", 8, 'i'},  {8, "UINT8", 1, 'u'},  {9, "UINT16", 2, 'u'},
    {10, "UINT32", 4, 'u'}, {11, "UINT64", 8, 'u'}, {12, "BOOL", 1, 'b'},
};
#define N_DTYPES (sizeof(DTYPES) / sizeof(DTYPES[0]))

const dtype_t *dtype_by_name(const char *name, size_t len) {
    for (size_t i = 0; i < N_DTYPES; i++) {
        if (strlen(DTYPES[i].name) == len && strncasecmp(DTYPES[i].name, name, len) == 0)
            return &DTYPES[i];
    }
    return NULL;
}

const dtype_t *dtype_by_code(int code) {
    for (size_t i = 0; i < N_DTYPES; i++)
        if (DTYPES[i].code == code) return &DTYPES[i];
    return NULL;
}

static uint64_t load_u64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static void store_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) { p[i] = (unsigned char)(v & 0xff); v >>= 8; }
}

int shape_size(const dtype_t *dt, int ndim, const uint64_t *dims, size_t limit,
               size_t *count, size_t *nbytes) {
    /* Like the Python reader: a shape whose non-zero extents overflow is refused even
     * when another extent is zero. */
    uint64_t n = 1, bound = 1;
    for (int i = 0; i < ndim; i++) {
        uint64_t d = dims[i], nz = d ? d : 1;
        if (bound > (uint64_t)INT64_MAX / nz) return -1;
        bound *= nz;
        n *= d;
    }
    if (bound > (uint64_t)INT64_MAX / dt->itemsize) return -1;
    if (n * dt->itemsize > limit) return -1;
    *count = (size_t)n;
    *nbytes = (size_t)(n * dt->itemsize);
    return 0;
}

int tensor_parse(const unsigned char *buf, size_t len, tensor_view *out, char *err,
                 size_t errlen) {
    if (len < TENSOR_FIXED_HEADER || memcmp(buf, "ISTN", 4) != 0) {
        snprintf(err, errlen, "the value is not a tensor");
        return -1;
    }
    if (buf[4] != 1) {
        snprintf(err, errlen, "tensor format version %u is not supported", buf[4]);
        return -1;
    }
    const dtype_t *dt = dtype_by_code(buf[5]);
    if (dt == NULL || buf[6] > 1 || buf[7] > TENSOR_MAX_NDIM) {
        snprintf(err, errlen, "the tensor header is corrupt");
        return -1;
    }
    int ndim = buf[7];
    size_t header = TENSOR_FIXED_HEADER + 8 * (size_t)ndim;
    if (len < header) {
        snprintf(err, errlen, "the tensor header is truncated");
        return -1;
    }
    for (int i = 0; i < ndim; i++) out->dims[i] = load_u64(buf + TENSOR_FIXED_HEADER + 8 * i);
    size_t count, nbytes;
    if (shape_size(dt, ndim, out->dims, len - header, &count, &nbytes) != 0 ||
        nbytes != len - header) {
        snprintf(err, errlen, "the tensor's length does not match its shape");
        return -1;
    }
    out->dtype = dt;
    out->fortran = buf[6];
    out->ndim = ndim;
    out->count = count;
    out->header_len = header;
    out->data = buf + header;
    out->data_len = nbytes;
    return 0;
}

size_t tensor_write_header(unsigned char *out, const dtype_t *dt, int ndim, const uint64_t *dims) {
    memcpy(out, "ISTN", 4);
    out[4] = 1;
    out[5] = (unsigned char)dt->code;
    out[6] = 0;
    out[7] = (unsigned char)ndim;
    for (int i = 0; i < ndim; i++) store_u64(out + TENSOR_FIXED_HEADER + 8 * i, dims[i]);
    return TENSOR_FIXED_HEADER + 8 * (size_t)ndim;
}

void tensor_copy_c_order(const tensor_view *t, unsigned char *out) {
    size_t item = t->dtype->itemsize;
    if (!t->fortran || t->ndim < 2 || t->count == 0) {
        memcpy(out, t->data, t->data_len);
        return;
    }
    /* Walk the C order with an odometer; the source offset follows Fortran strides. */
    uint64_t index[TENSOR_MAX_NDIM] = {0}, stride[TENSOR_MAX_NDIM];
    stride[0] = 1;
    for (int k = 1; k < t->ndim; k++) stride[k] = stride[k - 1] * t->dims[k - 1];
    uint64_t src = 0;
    for (size_t n = 0; n < t->count; n++) {
        memcpy(out + n * item, t->data + src * item, item);
        for (int k = t->ndim - 1; k >= 0; k--) {
            if (++index[k] < t->dims[k]) { src += stride[k]; break; }
            src -= stride[k] * (index[k] - 1);
            index[k] = 0;
        }
    }
}

static uint16_t half_from_double(double v) {
    float f = (float)v;
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000, exp = (x >> 23) & 0xff, mant = x & 0x7fffff;
    if (exp == 0xff) return (uint16_t)(sign | 0x7c00 | (mant ? 0x200 : 0));
    int e = (int)exp - 127 + 15;
    if (e >= 0x1f) return (uint16_t)(sign | 0x7c00);
    if (e <= 0) {
        if (e < -10) return (uint16_t)sign;
        mant |= 0x800000;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t h = mant >> shift, rest = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rest > half || (rest == half && (h & 1))) h++;
        return (uint16_t)(sign | h);
    }
    uint32_t h = ((uint32_t)e << 10) | (mant >> 13), rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

static double half_to_double(uint16_t h) {
    int sign = h >> 15, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    double v;
    if (exp == 0) v = ldexp(mant, -24);
    else if (exp == 0x1f) v = mant ? NAN : INFINITY;
    else v = ldexp(mant + 1024, exp - 25);
    return sign ? -v : v;
}

static void store_le(unsigned char *out, uint64_t v, size_t n) {
    for (size_t i = 0; i < n; i++) { out[i] = (unsigned char)(v & 0xff); v >>= 8; }
}

static uint64_t load_le(const unsigned char *p, size_t n) {
    uint64_t v = 0;
    for (size_t i = n; i > 0; i--) v = (v << 8) | p[i - 1];
    return v;
}

int value_parse(const dtype_t *dt, const char *text, size_t len, unsigned char *out) {
    char buf[128];
    if (len == 0 || len >= sizeof(buf)) return -1;
    memcpy(buf, text, len);
    buf[len] = 0;
    char *end = NULL;
    errno = 0;
    if (dt->kind == 'f') {
        double d = strtod(buf, &end);
        if (*end || errno == ERANGE) return -1;
        if (dt->itemsize == 8) memcpy(out, &d, 8);
        else if (dt->itemsize == 4) { float f = (float)d; memcpy(out, &f, 4); }
        else store_le(out, half_from_double(d), 2);
        return 0;
    }
    if (dt->kind == 'u' || dt->kind == 'b') {
        if (buf[0] == '-') return -1;
        unsigned long long u = strtoull(buf, &end, 10);
        if (*end || errno == ERANGE) return -1;
        if (dt->kind == 'b' && u > 1) return -1;
        if (dt->itemsize < 8 && u >> (8 * dt->itemsize)) return -1;
        store_le(out, u, dt->itemsize);
        return 0;
    }
    long long s = strtoll(buf, &end, 10);
    if (*end || errno == ERANGE) return -1;
    if (dt->itemsize < 8) {
        long long lim = 1LL << (8 * dt->itemsize - 1);
        if (s < -lim || s >= lim) return -1;
    }
    store_le(out, (uint64_t)s, dt->itemsize);
    return 0;
}

double value_as_double(const dtype_t *dt, const unsigned char *item) {
    if (dt->itemsize == 8) { double d; memcpy(&d, item, 8); return d; }
    if (dt->itemsize == 4) { float f; memcpy(&f, item, 4); return f; }
    return half_to_double((uint16_t)load_le(item, 2));
}

int64_t value_as_int(const dtype_t *dt, const unsigned char *item) {
    uint64_t v = load_le(item, dt->itemsize);
    if (dt->itemsize < 8 && (v >> (8 * dt->itemsize - 1)) & 1) v |= ~0ULL << (8 * dt->itemsize);
    return (int64_t)v;
}

uint64_t value_as_uint(const dtype_t *dt, const unsigned char *item) {
    return load_le(item, dt->itemsize);
}
