/* The RedisAI command surface over insitu's on-store layout: tensors are plain string
 * values in insitu's tensor format, models and scripts are insitu model records (hashes),
 * so every client family reads what the other wrote. See docs/wire-format.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "insitu_ai.h"

#define MODULE_NAME "insitu"
#define DEFAULT_CHUNK (511LL * 1024 * 1024)

long long model_chunk_size = DEFAULT_CHUNK;

static const char WRONGTYPE[] = "WRONGTYPE Operation against a key holding the wrong kind of value";

int arg_is(RedisModuleString *arg, const char *word) {
    size_t len;
    const char *s = RM_StringPtrLen(arg, &len);
    return len == strlen(word) && strncasecmp(s, word, len) == 0;
}

void error_text_clean(char *text) {
    /* An error reply is one line, and clients decode it as UTF-8: key names (SmartRedis's
     * cluster prefixes are arbitrary bytes) and truncated messages may be neither. */
    for (unsigned char *p = (unsigned char *)text; *p; p++)
        if (*p < 0x20 || *p > 0x7e) *p = '?';
}

int blocking_allowed(RedisModuleCtx *ctx) {
    int flags = RM_GetContextFlags(ctx);
    return !(flags & (RM_CTX_FLAGS_DENY_BLOCKING | RM_CTX_FLAGS_MULTI | RM_CTX_FLAGS_LOADING |
                      (1 << 12) /* REPLICATED */));
}

/* A text as a bulk string, as RedisAI replies (SmartRedis reads them as such). */
static void reply_text(RedisModuleCtx *ctx, const char *text) {
    RM_ReplyWithStringBuffer(ctx, text, strlen(text));
}

static int reply_errorf(RedisModuleCtx *ctx, const char *fmt, const char *detail) {
    char msg[512];
    snprintf(msg, sizeof msg, fmt, detail);
    return RM_ReplyWithError(ctx, msg);
}

/* ================================================================== tensors */

/* AI.TENSORSET key type dim... [BLOB data | VALUES v...] */
static int cmd_tensorset(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc < 3) return RM_WrongArity(ctx);
    RM_AutoMemory(ctx);
    size_t len;
    const char *tname = RM_StringPtrLen(argv[2], &len);
    const dtype_t *dt = dtype_by_name(tname, len);
    if (dt == NULL) return RM_ReplyWithError(ctx, "ERR invalid data type");
    uint64_t dims[TENSOR_MAX_NDIM];
    int ndim = 0, at = 3;
    for (; at < argc && !arg_is(argv[at], "BLOB") && !arg_is(argv[at], "VALUES"); at++) {
        long long d;
        if (ndim == TENSOR_MAX_NDIM) return RM_ReplyWithError(ctx, "ERR too many dimensions");
        if (RM_StringToLongLong(argv[at], &d) != RM_OK || d < 0)
            return RM_ReplyWithError(ctx, "ERR invalid or negative value found in tensor shape");
        dims[ndim++] = (uint64_t)d;
    }
    size_t count, nbytes;
    if (shape_size(dt, ndim, dims, (size_t)1 << 40, &count, &nbytes) != 0)
        return RM_ReplyWithError(ctx, "ERR tensor shape is too large");
    int blob = at < argc && arg_is(argv[at], "BLOB");
    int values = at < argc && arg_is(argv[at], "VALUES");
    if (blob && argc != at + 2) return RM_ReplyWithError(ctx, "ERR a single BLOB argument is expected");
    if (values && (size_t)(argc - at - 1) != count)
        return RM_ReplyWithError(ctx, "ERR wrong number of values was given in AI.TENSORSET");
    const char *data = NULL;
    size_t data_len = 0;
    if (blob) {
        data = RM_StringPtrLen(argv[at + 1], &data_len);
        if (data_len != nbytes)
            return RM_ReplyWithError(ctx, "ERR data length does not match tensor shape and type");
    }
    RedisModuleKey *key = RM_OpenKey(ctx, argv[1], RM_READ | RM_WRITE);
    int type = RM_KeyType(key);
    if (type != RM_KEYTYPE_EMPTY && type != RM_KEYTYPE_STRING) return RM_ReplyWithError(ctx, WRONGTYPE);
    size_t header = TENSOR_FIXED_HEADER + 8 * (size_t)ndim;
    unsigned char *value = RM_Alloc(header + nbytes + 1);
    tensor_write_header(value, dt, ndim, dims);
    if (blob) memcpy(value + header, data, nbytes);
    else if (values) {
        for (size_t i = 0; i < count; i++) {
            const char *v = RM_StringPtrLen(argv[at + 1 + i], &len);
            if (value_parse(dt, v, len, value + header + i * dt->itemsize) != 0) {
                RM_Free(value);
                return RM_ReplyWithError(ctx, "ERR invalid value");
            }
        }
    } else memset(value + header, 0, nbytes);
    RedisModuleString *stored = RM_CreateString(ctx, (const char *)value, header + nbytes);
    RM_Free(value);
    RM_StringSet(key, stored);
    RM_ReplicateVerbatim(ctx);
    return RM_ReplyWithSimpleString(ctx, "OK");
}

static void reply_values(RedisModuleCtx *ctx, const tensor_view *t, const unsigned char *data) {
    RM_ReplyWithArray(ctx, (long)t->count);
    for (size_t i = 0; i < t->count; i++) {
        const unsigned char *item = data + i * t->dtype->itemsize;
        switch (t->dtype->kind) {
        case 'f': RM_ReplyWithDouble(ctx, value_as_double(t->dtype, item)); break;
        case 'i': RM_ReplyWithLongLong(ctx, value_as_int(t->dtype, item)); break;
        default: {
            uint64_t u = value_as_uint(t->dtype, item);
            if (u <= (uint64_t)INT64_MAX) RM_ReplyWithLongLong(ctx, (long long)u);
            else RM_ReplyWithDouble(ctx, (double)u);
        }
        }
    }
}

/* AI.TENSORGET key [META] [BLOB | VALUES] */
static int cmd_tensorget(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc < 2 || argc > 4) return RM_WrongArity(ctx);
    RM_AutoMemory(ctx);
    int meta = 0, blob = 0, values = 0;
    for (int i = 2; i < argc; i++) {
        if (arg_is(argv[i], "META") && !meta) meta = 1;
        else if (arg_is(argv[i], "BLOB") && !blob && !values) blob = 1;
        else if (arg_is(argv[i], "VALUES") && !blob && !values) values = 1;
        else return RM_ReplyWithError(ctx, "ERR unsupported data format");
    }
    if (!meta && !blob && !values) meta = values = 1;
    RedisModuleKey *key = RM_OpenKey(ctx, argv[1], RM_READ);
    int type = RM_KeyType(key);
    if (type == RM_KEYTYPE_EMPTY)
        return RM_ReplyWithError(ctx, "ERR tensor key is empty or in a different shard");
    if (type != RM_KEYTYPE_STRING) return RM_ReplyWithError(ctx, WRONGTYPE);
    size_t len;
    const unsigned char *raw = (const unsigned char *)RM_StringDMA(key, &len, RM_READ);
    tensor_view t;
    char err[128];
    if (tensor_parse(raw, len, &t, err, sizeof err) != 0) return RM_ReplyWithError(ctx, WRONGTYPE);
    const unsigned char *data = t.data;
    unsigned char *copy = NULL;
    if (t.fortran && t.ndim > 1 && t.count > 0 && (blob || values)) {
        copy = RM_Alloc(t.data_len);
        tensor_copy_c_order(&t, copy);
        data = copy;
    }
    if (meta) {
        RM_ReplyWithArray(ctx, 4 + (blob || values ? 2 : 0));
        reply_text(ctx, "dtype");
        reply_text(ctx, t.dtype->name);
        reply_text(ctx, "shape");
        RM_ReplyWithArray(ctx, t.ndim);
        for (int i = 0; i < t.ndim; i++) RM_ReplyWithLongLong(ctx, (long long)t.dims[i]);
        if (blob) reply_text(ctx, "blob");
        if (values) reply_text(ctx, "values");
    }
    if (blob) RM_ReplyWithStringBuffer(ctx, (const char *)data, t.data_len);
    if (values) reply_values(ctx, &t, data);
    if (copy) RM_Free(copy);
    return RM_OK;
}

/* ================================================================== records */

static int upper_word(char *out, size_t cap, RedisModuleString *arg) {
    size_t len;
    const char *s = RM_StringPtrLen(arg, &len);
    if (len == 0 || len >= cap) return -1;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c >= 'a' && c <= 'z') c = (char)(c - 32);
        out[i] = c;
    }
    out[len] = 0;
    return 0;
}

/* CPU, GPU or GPU:<n> */
static int valid_device(const char *d) {
    if (strcmp(d, "CPU") == 0 || strcmp(d, "GPU") == 0) return 1;
    if (strncmp(d, "GPU:", 4) != 0 || d[4] == 0) return 0;
    for (const char *p = d + 4; *p; p++)
        if (*p < '0' || *p > '9') return 0;
    return strlen(d + 4) <= 6;
}

static int valid_backend(const char *b) {
    return !strcmp(b, "ONNX") || !strcmp(b, "TORCH") || !strcmp(b, "TF") || !strcmp(b, "TFLITE");
}

void record_free(record_t *r) {
    if (r->arena) RM_Free(r->arena);
    r->arena = NULL;
}

int record_read(RedisModuleCtx *ctx, RedisModuleString *name, const char *kind,
                const char *missing, record_t *out) {
    memset(out, 0, sizeof *out);
    RedisModuleKey *key = RM_OpenKey(ctx, name, RM_READ);
    int type = RM_KeyType(key);
    if (type == RM_KEYTYPE_EMPTY) { RM_CloseKey(key); RM_ReplyWithError(ctx, missing); return -1; }
    RedisModuleString *header = NULL;
    if (type == RM_KEYTYPE_HASH) RM_HashGet(key, RM_HASH_CFIELDS, "header", &header, NULL);
    RM_CloseKey(key);
    if (header == NULL) { RM_ReplyWithError(ctx, WRONGTYPE); return -1; }
    size_t len;
    const char *json = RM_StringPtrLen(header, &len);
    out->arena = RM_Alloc(3 * len + 64);
    if (header_parse(json, len, &out->h, out->arena) != 0) {
        record_free(out);
        RM_ReplyWithError(ctx, WRONGTYPE);
        return -1;
    }
    if (kind != NULL && strcmp(out->h.kind, kind) != 0) {
        char msg[512];
        size_t klen;
        const char *k = RM_StringPtrLen(name, &klen);
        snprintf(msg, sizeof msg, "WRONGTYPE '%.*s' holds a %s, not a %s",
                 (int)(klen < 300 ? klen : 300), k, out->h.kind, kind);
        error_text_clean(msg);
        record_free(out);
        RM_ReplyWithError(ctx, msg);
        return -1;
    }
    out->raw_header = header;
    return 0;
}

char *record_blob(RedisModuleCtx *ctx, RedisModuleString *name, const record_t *r,
                         size_t *len) {
    RedisModuleKey *key = RM_OpenKey(ctx, name, RM_READ);
    char *blob = RM_Alloc((size_t)r->h.size + 1);
    size_t at = 0;
    for (long long i = 0; i < r->h.chunks; i++) {
        char field[32];
        snprintf(field, sizeof field, "chunk:%lld", i);
        RedisModuleString *chunk = NULL;
        RM_HashGet(key, RM_HASH_CFIELDS, field, &chunk, NULL);
        size_t clen = 0;
        const char *c = chunk ? RM_StringPtrLen(chunk, &clen) : NULL;
        if (c == NULL || at + clen > (size_t)r->h.size) { at = (size_t)-1; break; }
        memcpy(blob + at, c, clen);
        at += clen;
    }
    RM_CloseKey(key);
    if (at != (size_t)r->h.size) {
        RM_Free(blob);
        RM_ReplyWithError(ctx, "ERR the stored model record is incomplete");
        return NULL;
    }
    *len = at;
    return blob;
}

static void json_names(buf_t *b, RedisModuleString **names, int n) {
    buf_puts(b, "[");
    for (int i = 0; i < n; i++) {
        size_t len;
        const char *s = RM_StringPtrLen(names[i], &len);
        if (i) buf_puts(b, ",");
        buf_json_string(b, s, len);
    }
    buf_puts(b, "]");
}

int record_write(RedisModuleCtx *ctx, RedisModuleString *name, const record_spec *spec,
                 const char *blob, size_t blob_len, char *version_out) {
    if (!valid_text(spec->tag, spec->tag_len)) {
        RM_ReplyWithError(ctx, "ERR TAG must be UTF-8 text");
        return -1;
    }
    for (int i = 0; i < spec->n_in + spec->n_out; i++) {
        size_t len;
        const char *s = RM_StringPtrLen(i < spec->n_in ? spec->inputs[i] : spec->outputs[i - spec->n_in], &len);
        if (!valid_text(s, len)) {
            RM_ReplyWithError(ctx, "ERR INPUTS and OUTPUTS names must be UTF-8 text");
            return -1;
        }
    }
    RedisModuleKey *key = RM_OpenKey(ctx, name, RM_READ | RM_WRITE);
    int type = RM_KeyType(key);
    if (type != RM_KEYTYPE_EMPTY && type != RM_KEYTYPE_HASH) {
        RM_CloseKey(key);
        RM_ReplyWithError(ctx, WRONGTYPE);
        return -1;
    }
    unsigned char rnd[16];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        for (size_t i = 0; i < sizeof rnd; i++) rnd[i] = (unsigned char)rand();
    }
    for (size_t i = 0; i < sizeof rnd; i++) snprintf(version_out + 2 * i, 3, "%02x", rnd[i]);
    long long chunks = blob_len ? (long long)((blob_len + RECORD_CHUNK - 1) / RECORD_CHUNK) : 1;
    buf_t h = {0};
    buf_puts(&h, "{\"format\":\"insitu-model/1\",\"kind\":");
    buf_json_string(&h, spec->kind, strlen(spec->kind));
    buf_puts(&h, ",\"backend\":");
    buf_json_string(&h, spec->backend, strlen(spec->backend));
    buf_puts(&h, ",\"device\":");
    buf_json_string(&h, spec->device, strlen(spec->device));
    buf_printf(&h, ",\"batch_size\":%lld,\"min_batch_size\":%lld,\"min_batch_timeout\":%lld,\"tag\":",
               spec->batch_size, spec->min_batch_size, spec->min_batch_timeout);
    buf_json_string(&h, spec->tag, spec->tag_len);
    buf_puts(&h, ",\"inputs\":");
    json_names(&h, spec->inputs, spec->n_in);
    buf_puts(&h, ",\"outputs\":");
    json_names(&h, spec->outputs, spec->n_out);
    buf_printf(&h, ",\"version\":\"%s\",\"size\":%zu,\"chunks\":%lld}", version_out, blob_len, chunks);
    if (h.failed) {
        buf_free(&h);
        RM_CloseKey(key);
        RM_ReplyWithError(ctx, "ERR out of memory");
        return -1;
    }
    RM_DeleteKey(key);
    RedisModuleString *hs = RM_CreateString(ctx, h.data, h.len);
    buf_free(&h);
    RM_HashSet(key, RM_HASH_CFIELDS, "header", hs, NULL);
    RM_FreeString(ctx, hs);
    for (long long i = 0; i < chunks; i++) {
        size_t off = (size_t)i * RECORD_CHUNK;
        size_t n = blob_len - off < RECORD_CHUNK ? blob_len - off : RECORD_CHUNK;
        char field[32];
        snprintf(field, sizeof field, "chunk:%lld", i);
        RedisModuleString *c = RM_CreateString(ctx, blob + off, blob_len ? n : 0);
        RM_HashSet(key, RM_HASH_CFIELDS, field, c, NULL);
        RM_FreeString(ctx, c);
    }
    RM_CloseKey(key);
    return 0;
}

/* Parse "INPUTS n a.. " style counted lists at argv[*at]; -1 with a reply if malformed. */
static int counted_list(RedisModuleCtx *ctx, RedisModuleString **argv, int argc, int *at,
                        const char *word, RedisModuleString ***names, int *n) {
    if (*at >= argc || !arg_is(argv[*at], word)) return 0;
    long long count;
    if (*at + 1 >= argc || RM_StringToLongLong(argv[*at + 1], &count) != RM_OK || count < 0 ||
        count > argc - *at - 2) {
        reply_errorf(ctx, "ERR Invalid argument for %s count", word);
        return -1;
    }
    *names = argv + *at + 2;
    *n = (int)count;
    *at += 2 + (int)count;
    return 0;
}

/* AI.MODELSTORE key backend device [TAG t] [BATCHSIZE n [MINBATCHSIZE m [MINBATCHTIMEOUT t]]]
 *   [INPUTS n ...] [OUTPUTS n ...] BLOB chunk... ; AI.MODELSET (deprecated) takes
 *   INPUTS/OUTPUTS without counts. */
static int model_store(RedisModuleCtx *ctx, RedisModuleString **argv, int argc, int counted) {
    if (argc < 6) return RM_WrongArity(ctx);
    RM_AutoMemory(ctx);
    char backend[16], device[32];
    if (upper_word(backend, sizeof backend, argv[2]) != 0 || !valid_backend(backend))
        return RM_ReplyWithError(ctx, "ERR unsupported backend");
    if (upper_word(device, sizeof device, argv[3]) != 0 || !valid_device(device))
        return RM_ReplyWithError(ctx, "ERR Invalid DEVICE");
    record_spec spec = {.kind = "model", .backend = backend, .device = device, .tag = ""};
    int at = 4;
    if (at < argc && arg_is(argv[at], "TAG")) {
        if (at + 1 >= argc) return RM_ReplyWithError(ctx, "ERR Insufficient arguments, missing model TAG value");
        spec.tag = RM_StringPtrLen(argv[at + 1], &spec.tag_len);
        at += 2;
    }
    struct { const char *word; long long *out; } opts[] = {
        {"BATCHSIZE", &spec.batch_size}, {"MINBATCHSIZE", &spec.min_batch_size},
        {"MINBATCHTIMEOUT", &spec.min_batch_timeout}};
    for (int o = 0; o < 3; o++) {
        if (at < argc && arg_is(argv[at], opts[o].word)) {
            if (at + 1 >= argc || RM_StringToLongLong(argv[at + 1], opts[o].out) != RM_OK ||
                *opts[o].out < 0)
                return reply_errorf(ctx, "ERR Invalid argument for %s", opts[o].word);
            at += 2;
        }
    }
    if (spec.min_batch_size > 0 && spec.batch_size == 0)
        return RM_ReplyWithError(ctx, "ERR MINBATCHSIZE specified without BATCHSIZE");
    if (spec.min_batch_timeout > 0 && spec.min_batch_size == 0)
        return RM_ReplyWithError(ctx, "ERR MINBATCHTIMEOUT specified without MINBATCHSIZE");
    if (counted) {
        if (counted_list(ctx, argv, argc, &at, "INPUTS", &spec.inputs, &spec.n_in) != 0) return RM_OK;
        if (counted_list(ctx, argv, argc, &at, "OUTPUTS", &spec.outputs, &spec.n_out) != 0) return RM_OK;
    } else {
        for (int list = 0; list < 2; list++) {
            const char *word = list ? "OUTPUTS" : "INPUTS";
            if (at < argc && arg_is(argv[at], word)) {
                int start = ++at;
                while (at < argc && !arg_is(argv[at], "OUTPUTS") && !arg_is(argv[at], "BLOB")) at++;
                if (list) { spec.outputs = argv + start; spec.n_out = at - start; }
                else { spec.inputs = argv + start; spec.n_in = at - start; }
            }
        }
    }
    if (at >= argc || !arg_is(argv[at], "BLOB")) return RM_ReplyWithError(ctx, "ERR Insufficient arguments, missing model BLOB");
    if (strcmp(backend, "TF") == 0 && (spec.n_in == 0 || spec.n_out == 0))
        return RM_ReplyWithError(ctx, "ERR Insufficient arguments, INPUTS and OUTPUTS not specified for TF");
    at++;
    if (at >= argc) return RM_ReplyWithError(ctx, "ERR Insufficient arguments, missing model BLOB");
    size_t total = 0, len;
    for (int i = at; i < argc; i++) { RM_StringPtrLen(argv[i], &len); total += len; }
    char *joined = NULL;
    const char *blob;
    if (argc - at == 1) blob = RM_StringPtrLen(argv[at], &len);
    else {
        joined = RM_Alloc(total + 1);
        size_t off = 0;
        for (int i = at; i < argc; i++) {
            const char *c = RM_StringPtrLen(argv[i], &len);
            memcpy(joined + off, c, len);
            off += len;
        }
        blob = joined;
    }
    char version[33];
    int failed = record_write(ctx, argv[1], &spec, blob, total, version);
    if (joined) RM_Free(joined);
    if (failed) return RM_OK;
    stats_drop(argv[1]);
    native_forget(argv[1]);
    RM_ReplicateVerbatim(ctx);
    if (!blocking_allowed(ctx)) return RM_ReplyWithSimpleString(ctx, "OK");
    /* Like RedisAI, which loads a model when it is stored: ONNX Runtime in this server or
     * a worker loads it now, and a model that does not load is removed again (on the
     * load's answer). */
    record_t r;
    if (record_read(ctx, argv[1], "model", "ERR model key is empty", &r) != 0) return RM_OK;
    if (native_serves(&r.h)) {
        int rc = native_submit(ctx, OP_LOAD, argv[1], &r, 0, NULL, 0, NULL, 0);
        record_free(&r);
        return rc;
    }
    if (dispatch_workers() == 0) { record_free(&r); return RM_ReplyWithSimpleString(ctx, "OK"); }
    RedisModuleString *raw = RM_CreateStringFromString(NULL, r.raw_header);
    record_free(&r);
    return dispatch_submit(ctx, OP_LOAD, argv[1], NULL, raw, device, version, 0, NULL, NULL,
                           0, NULL, 0);
}

static int cmd_modelstore(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    return model_store(ctx, argv, argc, 1);
}

static int cmd_modelset(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    return model_store(ctx, argv, argc, 0);
}

static void reply_names(RedisModuleCtx *ctx, const names_t *n) {
    RM_ReplyWithArray(ctx, n->count);
    size_t pos = 0, len;
    const char *s;
    while ((s = names_next(n, &pos, &len)) != NULL) RM_ReplyWithStringBuffer(ctx, s, len);
}

static void reply_blob(RedisModuleCtx *ctx, const char *blob, size_t len) {
    if ((long long)len <= model_chunk_size) {
        RM_ReplyWithStringBuffer(ctx, blob, len);
        return;
    }
    size_t chunk = (size_t)model_chunk_size, n = (len + chunk - 1) / chunk;
    RM_ReplyWithArray(ctx, (long)n);
    for (size_t i = 0; i < n; i++)
        RM_ReplyWithStringBuffer(ctx, blob + i * chunk, len - i * chunk < chunk ? len - i * chunk : chunk);
}

/* AI.MODELGET key [META] [BLOB] */
static int cmd_modelget(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc < 2 || argc > 4) return RM_WrongArity(ctx);
    RM_AutoMemory(ctx);
    int meta = 0, blob = 0;
    for (int i = 2; i < argc; i++) {
        if (arg_is(argv[i], "META") && !meta) meta = 1;
        else if (arg_is(argv[i], "BLOB") && !blob) blob = 1;
        else return RM_ReplyWithError(ctx, "ERR unrecognized option");
    }
    if (!meta && !blob) meta = 1;
    record_t r;
    if (record_read(ctx, argv[1], "model", "ERR model key is empty", &r) != 0) return RM_OK;
    size_t len = 0;
    char *data = NULL;
    if (blob && (data = record_blob(ctx, argv[1], &r, &len)) == NULL) { record_free(&r); return RM_OK; }
    if (meta) {
        RM_ReplyWithArray(ctx, 16 + (blob ? 2 : 0));
        reply_text(ctx, "backend");
        reply_text(ctx, r.h.backend);
        reply_text(ctx, "device");
        reply_text(ctx, r.h.device);
        reply_text(ctx, "tag");
        RM_ReplyWithStringBuffer(ctx, r.h.tag, r.h.tag_len);
        reply_text(ctx, "batchsize");
        RM_ReplyWithLongLong(ctx, r.h.batch_size);
        reply_text(ctx, "minbatchsize");
        RM_ReplyWithLongLong(ctx, r.h.min_batch_size);
        reply_text(ctx, "inputs");
        reply_names(ctx, &r.h.inputs);
        reply_text(ctx, "outputs");
        reply_names(ctx, &r.h.outputs);
        reply_text(ctx, "minbatchtimeout");
        RM_ReplyWithLongLong(ctx, r.h.min_batch_timeout);
        if (blob) reply_text(ctx, "blob");
    }
    if (blob) { reply_blob(ctx, data, len); RM_Free(data); }
    record_free(&r);
    return RM_OK;
}

static int record_delete(RedisModuleCtx *ctx, RedisModuleString **argv, int argc, const char *kind,
                         const char *missing) {
    if (argc != 2) return RM_WrongArity(ctx);
    RM_AutoMemory(ctx);
    record_t r;
    if (record_read(ctx, argv[1], kind, missing, &r) != 0) return RM_OK;
    record_free(&r);
    RedisModuleKey *key = RM_OpenKey(ctx, argv[1], RM_READ | RM_WRITE);
    RM_DeleteKey(key);
    RM_CloseKey(key);
    stats_drop(argv[1]);
    native_forget(argv[1]);
    RM_ReplicateVerbatim(ctx);
    return RM_ReplyWithSimpleString(ctx, "OK");
}

static int cmd_modeldel(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    return record_delete(ctx, argv, argc, "model", "ERR model key is empty");
}

static int cmd_scriptdel(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    return record_delete(ctx, argv, argc, "script", "ERR script key is empty");
}

/* AI.SCRIPTSET key device [TAG t] SOURCE src (deprecated) and
 * AI.SCRIPTSTORE key device [TAG t] ENTRY_POINTS n fn... SOURCE src */
static int script_store(RedisModuleCtx *ctx, RedisModuleString **argv, int argc, int entry_points) {
    if (argc < 5) return RM_WrongArity(ctx);
    RM_AutoMemory(ctx);
    char device[32];
    if (upper_word(device, sizeof device, argv[2]) != 0 || !valid_device(device))
        return RM_ReplyWithError(ctx, "ERR Invalid DEVICE");
    record_spec spec = {.kind = "script", .backend = "TORCH", .device = device, .tag = ""};
    int at = 3;
    if (at < argc && arg_is(argv[at], "TAG")) {
        if (at + 1 >= argc) return RM_ReplyWithError(ctx, "ERR Insufficient arguments, missing script TAG value");
        spec.tag = RM_StringPtrLen(argv[at + 1], &spec.tag_len);
        at += 2;
    }
    if (entry_points) {
        RedisModuleString **names;
        int n = 0;
        if (!(at < argc && arg_is(argv[at], "ENTRY_POINTS")))
            return RM_ReplyWithError(ctx, "ERR Insufficient arguments, missing script entry points");
        if (counted_list(ctx, argv, argc, &at, "ENTRY_POINTS", &names, &n) != 0) return RM_OK;
        if (n == 0) return RM_ReplyWithError(ctx, "ERR Insufficient arguments, missing script entry points");
    }
    if (at + 2 != argc || !arg_is(argv[at], "SOURCE"))
        return RM_ReplyWithError(ctx, "ERR Insufficient arguments, missing script SOURCE");
    size_t len;
    const char *src = RM_StringPtrLen(argv[at + 1], &len);
    char version[33];
    if (record_write(ctx, argv[1], &spec, src, len, version) != 0) return RM_OK;
    stats_drop(argv[1]);
    native_forget(argv[1]);
    RM_ReplicateVerbatim(ctx);
    if (!blocking_allowed(ctx) || dispatch_workers() == 0) return RM_ReplyWithSimpleString(ctx, "OK");
    record_t r;
    if (record_read(ctx, argv[1], "script", "ERR script key is empty", &r) != 0) return RM_OK;
    RedisModuleString *raw = RM_CreateStringFromString(NULL, r.raw_header);
    record_free(&r);
    return dispatch_submit(ctx, OP_LOAD, argv[1], NULL, raw, device, version, 0, NULL, NULL,
                           0, NULL, 0);
}

static int cmd_scriptset(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    return script_store(ctx, argv, argc, 0);
}

static int cmd_scriptstore(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    return script_store(ctx, argv, argc, 1);
}

/* AI.SCRIPTGET key [META] [SOURCE] */
static int cmd_scriptget(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc < 2 || argc > 4) return RM_WrongArity(ctx);
    RM_AutoMemory(ctx);
    int meta = 0, source = 0;
    for (int i = 2; i < argc; i++) {
        if (arg_is(argv[i], "META") && !meta) meta = 1;
        else if (arg_is(argv[i], "SOURCE") && !source) source = 1;
        else return RM_ReplyWithError(ctx, "ERR unrecognized option");
    }
    if (!meta && !source) meta = source = 1;
    record_t r;
    if (record_read(ctx, argv[1], "script", "ERR script key is empty", &r) != 0) return RM_OK;
    size_t len = 0;
    char *data = NULL;
    if (source && (data = record_blob(ctx, argv[1], &r, &len)) == NULL) { record_free(&r); return RM_OK; }
    if (meta) {
        RM_ReplyWithArray(ctx, 4 + (source ? 2 : 0));
        reply_text(ctx, "device");
        reply_text(ctx, r.h.device);
        reply_text(ctx, "tag");
        RM_ReplyWithStringBuffer(ctx, r.h.tag, r.h.tag_len);
        if (source) reply_text(ctx, "source");
    }
    if (source) { RM_ReplyWithStringBuffer(ctx, data, len); RM_Free(data); }
    record_free(&r);
    return RM_OK;
}

/* ================================================================== AI.INFO */

/* Latency buckets as insitu.wire.stats.latency_bucket: 0 for 0 µs, else the bit length of
 * the µs, capped at 40; telemetry takes percentiles from them. */
#define STATS_BUCKETS 41

static int latency_bucket(long long us) {
    int b = 0;
    while (us > 0 && b < STATS_BUCKETS - 1) {
        us >>= 1;
        b++;
    }
    return b;
}

typedef struct stat_entry {
    struct stat_entry *next;
    RedisModuleString *key;
    long long calls, duration, samples, errors, requests;
    long long lat[STATS_BUCKETS]; /* calls per latency bucket (insitu.wire.stats) */
} stat_entry;

static stat_entry *stats = NULL;

static stat_entry *stats_find(RedisModuleString *key, int create) {
    size_t len, klen;
    const char *k = RM_StringPtrLen(key, &len);
    for (stat_entry *e = stats; e; e = e->next) {
        const char *s = RM_StringPtrLen(e->key, &klen);
        if (klen == len && memcmp(s, k, len) == 0) return e;
    }
    if (!create) return NULL;
    stat_entry *e = RM_Alloc(sizeof *e);
    memset(e, 0, sizeof *e);
    e->key = RM_CreateStringFromString(NULL, key);
    e->next = stats;
    stats = e;
    return e;
}

void stats_add(RedisModuleString *key, long long calls, long long duration_us,
               long long samples, long long errors) {
    stat_entry *e = stats_find(key, 1);
    e->calls += calls;
    e->duration += duration_us;
    e->samples += samples;
    e->errors += errors;
    e->requests += 1;
    if (calls > 0) e->lat[latency_bucket(duration_us)] += 1;
}

void stats_drop(RedisModuleString *key) {
    size_t len, klen;
    const char *k = RM_StringPtrLen(key, &len);
    for (stat_entry **p = &stats; *p; p = &(*p)->next) {
        const char *s = RM_StringPtrLen((*p)->key, &klen);
        if (klen == len && memcmp(s, k, len) == 0) {
            stat_entry *e = *p;
            *p = e->next;
            RM_FreeString(NULL, e->key);
            RM_Free(e);
            return;
        }
    }
}

/* INSITU.STATS: every model's and script's run statistics on this shard, for telemetry:
 * [key, [field, value, ...], ...] with the fields of insitu.wire.stats (duration, samples,
 * calls, errors, requests, and lat:<bucket> for each bucket that counted calls). */
static int cmd_stats(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    (void)argv;
    if (argc != 1) return RM_WrongArity(ctx);
    long n = 0;
    for (stat_entry *e = stats; e; e = e->next) n++;
    RM_ReplyWithArray(ctx, 2 * n);
    for (stat_entry *e = stats; e; e = e->next) {
        long fields = 5;
        for (int b = 0; b < STATS_BUCKETS; b++) fields += e->lat[b] != 0;
        RM_ReplyWithString(ctx, e->key);
        RM_ReplyWithArray(ctx, 2 * fields);
        const char *names[] = {"duration", "samples", "calls", "errors", "requests"};
        long long values[] = {e->duration, e->samples, e->calls, e->errors, e->requests};
        for (int i = 0; i < 5; i++) {
            RM_ReplyWithStringBuffer(ctx, names[i], strlen(names[i]));
            RM_ReplyWithLongLong(ctx, values[i]);
        }
        for (int b = 0; b < STATS_BUCKETS; b++) {
            if (e->lat[b] == 0) continue;
            char field[16];
            int len = snprintf(field, sizeof field, "lat:%d", b);
            RM_ReplyWithStringBuffer(ctx, field, (size_t)len);
            RM_ReplyWithLongLong(ctx, e->lat[b]);
        }
    }
    return RM_OK;
}

/* AI.INFO key [RESETSTAT] */
static int cmd_info(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc < 2 || argc > 3) return RM_WrongArity(ctx);
    RM_AutoMemory(ctx);
    if (argc == 3 && !arg_is(argv[2], "RESETSTAT")) return RM_ReplyWithError(ctx, "ERR unrecognized option");
    record_t r;
    if (record_read(ctx, argv[1], NULL, "ERR cannot find run info for key", &r) != 0) return RM_OK;
    stat_entry zero = {0}, *e = stats_find(argv[1], 0);
    if (e == NULL) e = &zero;
    if (argc == 3) {
        if (e != &zero) {
            e->calls = e->duration = e->samples = e->errors = e->requests = 0;
            memset(e->lat, 0, sizeof e->lat);
        }
        record_free(&r);
        return RM_ReplyWithSimpleString(ctx, "OK");
    }
    RM_ReplyWithArray(ctx, 20);
    reply_text(ctx, "key");
    RM_ReplyWithString(ctx, argv[1]);
    reply_text(ctx, "type");
    reply_text(ctx, strcmp(r.h.kind, "model") == 0 ? "MODEL" : "SCRIPT");
    reply_text(ctx, "backend");
    reply_text(ctx, r.h.backend);
    reply_text(ctx, "device");
    reply_text(ctx, r.h.device);
    reply_text(ctx, "tag");
    RM_ReplyWithStringBuffer(ctx, r.h.tag, r.h.tag_len);
    reply_text(ctx, "duration");
    RM_ReplyWithLongLong(ctx, e->duration);
    reply_text(ctx, "samples");
    RM_ReplyWithLongLong(ctx, e->samples);
    reply_text(ctx, "calls");
    RM_ReplyWithLongLong(ctx, e->calls);
    reply_text(ctx, "errors");
    RM_ReplyWithLongLong(ctx, e->errors);
    reply_text(ctx, "requests");
    RM_ReplyWithLongLong(ctx, e->requests);
    record_free(&r);
    return RM_OK;
}

/* ================================================================== AI.CONFIG */

static int cmd_config(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc < 2) return RM_WrongArity(ctx);
    if (argc == 3 && arg_is(argv[1], "GET")) {
        if (arg_is(argv[2], "MODEL_CHUNK_SIZE")) return RM_ReplyWithLongLong(ctx, model_chunk_size);
        if (arg_is(argv[2], "BACKENDSPATH")) return RM_ReplyWithNull(ctx);
        return RM_ReplyWithNull(ctx);
    }
    if (argc == 3 && arg_is(argv[1], "MODEL_CHUNK_SIZE")) {
        long long n;
        if (RM_StringToLongLong(argv[2], &n) != RM_OK || n <= 0)
            return RM_ReplyWithError(ctx, "ERR MODEL_CHUNK_SIZE: invalid chunk size");
        model_chunk_size = n;
        return RM_ReplyWithSimpleString(ctx, "OK");
    }
    /* Backends live in the inference workers (installed with their Python frameworks):
     * there is nothing to load into the server. */
    if (argc == 3 && arg_is(argv[1], "BACKENDSPATH")) return RM_ReplyWithSimpleString(ctx, "OK");
    if (argc == 4 && arg_is(argv[1], "LOADBACKEND")) return RM_ReplyWithSimpleString(ctx, "OK");
    return RM_ReplyWithError(ctx, "ERR unsupported subcommand");
}

/* ================================================================== loading */

typedef struct {
    const char *name;
    RedisModuleCmdFunc fn;
    const char *flags;
    int first, last, step;
} command_t;

/* The pool threads run this module's code: it stays loaded once they are started. */
__attribute__((visibility("default"))) int RedisModule_OnUnload(RedisModuleCtx *ctx);
int RedisModule_OnUnload(RedisModuleCtx *ctx) {
    (void)ctx;
    return native_threads() > 0 ? RM_ERR : RM_OK;
}

__attribute__((visibility("default"))) int RedisModule_OnLoad(RedisModuleCtx *ctx,
                                                             RedisModuleString **argv, int argc);
int RedisModule_OnLoad(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (rm_init(ctx, MODULE_NAME, MODULE_VERSION) != RM_OK) return RM_ERR;
    buf_set_allocator(RM_Realloc, RM_Free);
    const char *onnxruntime = NULL;
    long long onnx_threads = 0, onnx_intra = 0;
    for (int i = 0; i < argc; i += 2) {
        long long n;
        if (i + 1 < argc && arg_is(argv[i], "MODEL_CHUNK_SIZE") &&
            RM_StringToLongLong(argv[i + 1], &n) == RM_OK && n > 0) {
            model_chunk_size = n;
            continue;
        }
        if (i + 1 < argc && arg_is(argv[i], "ONNXRUNTIME")) {
            onnxruntime = RM_StringPtrLen(argv[i + 1], NULL);
            continue;
        }
        if (i + 1 < argc && arg_is(argv[i], "ONNX_THREADS") &&
            RM_StringToLongLong(argv[i + 1], &onnx_threads) == RM_OK && onnx_threads >= 0 &&
            onnx_threads <= 1024)
            continue;
        if (i + 1 < argc && arg_is(argv[i], "ONNX_INTRA_OP_THREADS") &&
            RM_StringToLongLong(argv[i + 1], &onnx_intra) == RM_OK && onnx_intra >= 0 &&
            onnx_intra <= 1024)
            continue;
        RM_Log(ctx, "warning", "insitu: unknown module argument; the module takes "
               "MODEL_CHUNK_SIZE <bytes>, ONNXRUNTIME <library>, ONNX_THREADS <n>, "
               "ONNX_INTRA_OP_THREADS <n>");
        return RM_ERR;
    }
    /* Execution commands declare no keys: the server does not check their slots, so
     * keys of several slots on this shard may be used together (a client that sends them
     * keeps them on this shard; SmartRedis does, with its {prefix} hash tags). */
    static const command_t commands[] = {
        {"ai.tensorset", cmd_tensorset, "write deny-oom", 1, 1, 1},
        {"ai.tensorget", cmd_tensorget, "readonly", 1, 1, 1},
        {"ai.modelstore", cmd_modelstore, "write deny-oom", 1, 1, 1},
        {"ai.modelset", cmd_modelset, "write deny-oom", 1, 1, 1},
        {"ai.modelget", cmd_modelget, "readonly", 1, 1, 1},
        {"ai.modeldel", cmd_modeldel, "write", 1, 1, 1},
        {"ai.modelexecute", cmd_model_execute, "write deny-oom", 0, 0, 0},
        {"ai.modelrun", cmd_model_run, "write deny-oom", 0, 0, 0},
        {"ai.scriptset", cmd_scriptset, "write deny-oom", 1, 1, 1},
        {"ai.scriptstore", cmd_scriptstore, "write deny-oom", 1, 1, 1},
        {"ai.scriptget", cmd_scriptget, "readonly", 1, 1, 1},
        {"ai.scriptdel", cmd_scriptdel, "write", 1, 1, 1},
        {"ai.scriptexecute", cmd_script_execute, "write deny-oom", 0, 0, 0},
        {"ai.scriptrun", cmd_script_run, "write deny-oom", 0, 0, 0},
        {"ai.info", cmd_info, "readonly", 1, 1, 1},
        {"ai.config", cmd_config, "write", 0, 0, 0},
        {"insitu.worker.next", cmd_worker_next, "write", 0, 0, 0},
        {"insitu.worker.done", cmd_worker_done, "write deny-oom", 0, 0, 0},
        {"insitu.status", cmd_status, "readonly fast", 0, 0, 0},
        {"insitu.stats", cmd_stats, "readonly", 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        const command_t *c = &commands[i];
        if (RM_CreateCommand(ctx, c->name, c->fn, c->flags, c->first, c->last, c->step) != RM_OK)
            return RM_ERR;
    }
    if (dispatch_init(ctx) != RM_OK) return RM_ERR;
    return native_init(ctx, onnxruntime, (int)onnx_threads, (int)onnx_intra);
}
