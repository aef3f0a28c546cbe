/* Stored models and scripts (docs/wire-format.md, "Stored models and scripts"): the JSON
 * header written beside the chunks, and a growable byte buffer. Pure code, fuzzable. */
#ifndef INSITU_RECORD_H
#define INSITU_RECORD_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *data;
    size_t len, cap;
    int failed;  /* an allocation failed: the contents are incomplete */
} buf_t;

/* The allocator used by buf_t (the server's in the module, libc's in tests). */
void buf_set_allocator(void *(*realloc_fn)(void *, size_t), void (*free_fn)(void *));
void buf_put(buf_t *b, const void *data, size_t len);
void buf_puts(buf_t *b, const char *s);
void buf_printf(buf_t *b, const char *fmt, ...);
void buf_json_string(buf_t *b, const char *s, size_t len);
void buf_free(buf_t *b);

/* A list of names, each a 4-byte length then the bytes, packed in one buffer. */
typedef struct {
    const char *packed;
    size_t packed_len;
    int count;
} names_t;

/* Iterate: returns the next name's bytes and length, advancing *pos; NULL at the end. */
const char *names_next(const names_t *n, size_t *pos, size_t *len);

typedef struct {
    char kind[8];        /* "model" or "script" */
    char backend[16];
    char device[32];
    const char *tag;
    size_t tag_len;
    long long batch_size, min_batch_size, min_batch_timeout;
    names_t inputs, outputs;
    char version[64];
    long long size, chunks;
} model_header;

/* Parse a stored header; `arena` must hold at least 3 * len + 64 bytes and outlives h.
 * 0 if it is an insitu-model/1 header, else -1. */
int header_parse(const char *json, size_t len, model_header *h, char *arena);

/* True if s is valid UTF-8 without NUL bytes (names and tags must be, to fit the JSON). */
int valid_text(const char *s, size_t len);

#endif
