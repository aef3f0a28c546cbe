/* Fuzz driver for the store module's pure parsers (tensor.c, record.c), built by
 * test_module_parsers.py with AddressSanitizer and UBSan. Reads cases from stdin, each a
 * selector byte, a uint32 little-endian length and that many bytes, and feeds each to one
 * parser; any out-of-bounds access, overflow or leak aborts the process. Prints the number of
 * cases and how many parsed as valid, so that the test can check both kinds were exercised. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "tensor.h"

static unsigned char *copy(const unsigned char *data, size_t len) {
    /* An exact-size heap copy: ASan catches any read past its end. */
    unsigned char *out = malloc(len ? len : 1);
    if (out == NULL) abort();
    memcpy(out, data, len);
    return out;
}

static int fuzz_tensor(const unsigned char *data, size_t len) {
    unsigned char *buf = copy(data, len);
    tensor_view t;
    char err[128];
    int ok = tensor_parse(buf, len, &t, err, sizeof err) == 0;
    if (ok) {
        size_t n = t.count * t.dtype->itemsize;
        unsigned char *out = malloc(n ? n : 1);
        if (out == NULL) abort();
        tensor_copy_c_order(&t, out);
        volatile double sink = 0;
        for (size_t i = 0; i < t.count && i < 64; i++) {
            const unsigned char *item = out + i * t.dtype->itemsize;
            /* As the module reads elements for a VALUES reply: by the dtype's kind. */
            if (t.dtype->kind == 'f') sink += value_as_double(t.dtype, item);
            else if (t.dtype->kind == 'i') sink += (double)value_as_int(t.dtype, item);
            else sink += (double)value_as_uint(t.dtype, item);
        }
        (void)sink;
        free(out);
    }
    free(buf);
    return ok;
}

static int fuzz_header(const unsigned char *data, size_t len) {
    char *json = (char *)copy(data, len);
    char *arena = malloc(3 * len + 64);
    if (arena == NULL) abort();
    model_header h;
    int ok = header_parse(json, len, &h, arena) == 0;
    if (ok) {
        size_t pos = 0, n;
        while (names_next(&h.inputs, &pos, &n) != NULL) {}
        pos = 0;
        while (names_next(&h.outputs, &pos, &n) != NULL) {}
    }
    free(arena);
    free(json);
    return ok;
}

static int fuzz_value(const unsigned char *data, size_t len) {
    if (len == 0) return 0;
    const dtype_t *dt = dtype_by_code(1 + data[0] % 12);
    if (dt == NULL) return 0;
    char *text = (char *)copy(data + 1, len - 1);
    unsigned char out[16];
    int ok = value_parse(dt, text, len - 1, out) == 0;
    free(text);
    return ok;
}

static int fuzz_names(const unsigned char *data, size_t len) {
    char *text = (char *)copy(data, len);
    int ok = dtype_by_name(text, len) != NULL;
    ok += valid_text(text, len);
    buf_t b = {0};
    buf_json_string(&b, text, len);
    buf_free(&b);
    free(text);
    return ok > 0;
}

int main(void) {
    long cases = 0, valid = 0;
    for (;;) {
        int selector = getchar();
        if (selector == EOF) break;
        unsigned char size[4];
        if (fread(size, 1, 4, stdin) != 4) return 2;
        size_t len = (size_t)size[0] | (size_t)size[1] << 8 | (size_t)size[2] << 16 |
                     (size_t)size[3] << 24;
        unsigned char *data = malloc(len ? len : 1);
        if (data == NULL || fread(data, 1, len, stdin) != len) return 2;
        int ok = 0;
        switch (selector % 4) {
            case 0: ok = fuzz_tensor(data, len); break;
            case 1: ok = fuzz_header(data, len); break;
            case 2: ok = fuzz_value(data, len); break;
            default: ok = fuzz_names(data, len); break;
        }
        free(data);
        cases++;
        valid += ok;
    }
    printf("%ld %ld\n", cases, valid);
    return 0;
}
