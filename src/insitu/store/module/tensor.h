/* Tensor values as insitu stores them (docs/wire-format.md, "Tensor value"): a header
 * (magic "ISTN", version 1, dtype code, order, ndim, uint64 dims) then the elements,
 * little-endian. Pure code: no server API, so that it can be fuzzed on its own. */
#ifndef INSITU_TENSOR_H
#define INSITU_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#define TENSOR_MAX_NDIM 64
#define TENSOR_FIXED_HEADER 8

typedef struct {
    int code;          /* the wire format's dtype code */
    const char *name;  /* RedisAI's name: FLOAT, DOUBLE, INT8 ... */
    size_t itemsize;
    char kind;         /* 'f' float, 'i' signed, 'u' unsigned, 'b' bool */
} dtype_t;

typedef struct {
    const dtype_t *dtype;
    int fortran;                       /* 1: column-major data */
    int ndim;
    uint64_t dims[TENSOR_MAX_NDIM];
    size_t count;                      /* elements */
    size_t header_len;
    const unsigned char *data;         /* count * itemsize bytes */
    size_t data_len;
} tensor_view;

/* The dtype called `name` (case-insensitive), NULL if none. */
const dtype_t *dtype_by_name(const char *name, size_t len);
const dtype_t *dtype_by_code(int code);

/* Elements and data bytes of a shape; -1 if the product overflows or exceeds `limit`. */
int shape_size(const dtype_t *dt, int ndim, const uint64_t *dims, size_t limit,
               size_t *count, size_t *nbytes);

/* Parse a stored value; 0 if it is a valid tensor, else -1 with a message in err. */
int tensor_parse(const unsigned char *buf, size_t len, tensor_view *out, char *err,
                 size_t errlen);

/* Write the header of a C-ordered tensor into out (at least 8 + 8 * ndim bytes). */
size_t tensor_write_header(unsigned char *out, const dtype_t *dt, int ndim, const uint64_t *dims);

/* Copy t's elements to out in C (row-major) order, transposing a Fortran-ordered value. */
void tensor_copy_c_order(const tensor_view *t, unsigned char *out);

/* Parse one VALUES argument of type dt into out (itemsize bytes, little-endian);
 * -1 if it is not a number of that type. */
int value_parse(const dtype_t *dt, const char *text, size_t len, unsigned char *out);

/* Element i (C order of the stored data) as a double or as an integer. */
double value_as_double(const dtype_t *dt, const unsigned char *item);
int64_t value_as_int(const dtype_t *dt, const unsigned char *item);
uint64_t value_as_uint(const dtype_t *dt, const unsigned char *item);

#endif
