/* A second witness of the store module's wire behaviour: what a C simulation would send,
 * through hiredis only (no SmartRedis, no Python). Connects to the store's Unix socket (an
 * owner-only socket: no password, as an unmodified SmartRedis client), issues the AI.*
 * commands and prints one `name=value` line per observation for test_module_hiredis.py.
 * Usage: hiredis_witness <socket path> <ONNX model file (y = x * x)>. Exit status 0 unless
 * the connection fails or a reply has an unexpected type. */
#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static redisContext *ctx;

static redisReply *command(int argc, const char **argv, const size_t *lens) {
    redisReply *r = redisCommandArgv(ctx, argc, argv, lens);
    if (r == NULL) {
        fprintf(stderr, "connection error: %s\n", ctx->errstr);
        exit(2);
    }
    return r;
}

/* Send a command of text words; print `name=` then the status, error or integer reply. */
static void simple(const char *name, int argc, const char **argv) {
    redisReply *r = command(argc, argv, NULL);
    if (r->type == REDIS_REPLY_STATUS) printf("%s=%s\n", name, r->str);
    else if (r->type == REDIS_REPLY_ERROR) printf("%s=error:%s\n", name, r->str);
    else if (r->type == REDIS_REPLY_INTEGER) printf("%s=%lld\n", name, r->integer);
    else printf("%s=type:%d\n", name, r->type);
    freeReplyObject(r);
}

static const redisReply *field(const redisReply *map, const char *key) {
    for (size_t i = 0; i + 1 < map->elements; i += 2)
        if (strcmp(map->element[i]->str, key) == 0) return map->element[i + 1];
    fprintf(stderr, "no %s in the reply\n", key);
    exit(3);
}

/* AI.TENSORGET key META BLOB: print dtype, shape and the float values. */
static void print_float_tensor(const char *name, const char *key) {
    const char *argv[] = {"AI.TENSORGET", key, "META", "BLOB"};
    redisReply *r = command(4, argv, NULL);
    if (r->type != REDIS_REPLY_ARRAY) {
        printf("%s=error:%s\n", name, r->type == REDIS_REPLY_ERROR ? r->str : "?");
        freeReplyObject(r);
        return;
    }
    const redisReply *shape = field(r, "shape"), *blob = field(r, "blob");
    printf("%s.dtype=%s\n%s.shape=", name, field(r, "dtype")->str, name);
    for (size_t i = 0; i < shape->elements; i++)
        printf("%s%lld", i ? "," : "", shape->element[i]->integer);
    printf("\n%s.values=", name);
    for (size_t i = 0; i * 4 < blob->len; i++) {
        float f;
        memcpy(&f, blob->str + 4 * i, 4);
        printf("%s%g", i ? "," : "", f);
    }
    printf("\n");
    freeReplyObject(r);
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) exit(4);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc(*len);
    if (data == NULL || fread(data, 1, *len, f) != *len) exit(4);
    fclose(f);
    return data;
}

int main(int argc, char **argv) {
    if (argc != 3) return 1;
    ctx = redisConnectUnix(argv[1]);
    if (ctx == NULL || ctx->err) {
        fprintf(stderr, "cannot connect: %s\n", ctx ? ctx->errstr : "?");
        return 2;
    }
    simple("chunk", 3, (const char *[]){"AI.CONFIG", "GET", "MODEL_CHUNK_SIZE"});

    float x[6] = {0, 1, 2, 3, 4, 5};
    const char *set[] = {"AI.TENSORSET", "x", "FLOAT", "2", "3", "BLOB", (const char *)x};
    size_t set_len[] = {12, 1, 5, 1, 1, 4, sizeof x};
    redisReply *r = command(7, set, set_len);
    printf("tensorset=%s\n", r->type == REDIS_REPLY_STATUS ? r->str : "?");
    freeReplyObject(r);
    print_float_tensor("x", "x");

    simple("values_set", 7, (const char *[]){"AI.TENSORSET", "i", "INT64", "2", "VALUES", "7", "-8"});
    r = command(3, (const char *[]){"AI.TENSORGET", "i", "VALUES"}, NULL);
    printf("i.values=%lld,%lld\n", r->element[0]->integer, r->element[1]->integer);
    freeReplyObject(r);

    /* The model in two BLOB chunks, as SmartRedis sends one larger than MODEL_CHUNK_SIZE. */
    size_t model_len;
    char *model = read_file(argv[2], &model_len);
    size_t half = model_len / 2;
    const char *store[] = {"AI.MODELSTORE", "sq", "ONNX", "CPU", "BLOB", model, model + half};
    size_t store_len[] = {13, 2, 4, 3, 4, half, model_len - half};
    r = command(7, store, store_len);
    printf("modelstore=%s\n", r->type == REDIS_REPLY_STATUS ? r->str : r->str ? r->str : "?");
    freeReplyObject(r);
    simple("modelexecute", 10, (const char *[]){"AI.MODELEXECUTE", "sq", "INPUTS", "1", "x",
                                                "OUTPUTS", "1", "y", "TIMEOUT", "60000"});
    print_float_tensor("y", "y");
    r = command(3, (const char *[]){"AI.MODELGET", "sq", "BLOB"}, NULL);
    printf("modelget.same=%d\n", r->type == REDIS_REPLY_STRING && r->len == model_len &&
                                     memcmp(r->str, model, model_len) == 0);
    freeReplyObject(r);
    free(model);

    simple("scriptset", 5, (const char *[]){"AI.SCRIPTSET", "s", "CPU", "SOURCE",
                                            "def double(x):\n    return x * 2\n"});
    simple("scriptexecute", 12, (const char *[]){"AI.SCRIPTEXECUTE", "s", "double", "KEYS", "1",
                                                 "x", "INPUTS", "1", "x", "OUTPUTS", "1", "z"});
    print_float_tensor("z", "z");
    simple("scriptrun", 7, (const char *[]){"AI.SCRIPTRUN", "s", "double", "INPUTS", "z",
                                            "OUTPUTS", "z2"});
    print_float_tensor("z2", "z2");

    r = command(2, (const char *[]){"AI.INFO", "sq"}, NULL);
    printf("info.calls=%lld\n", r->type == REDIS_REPLY_ARRAY ? field(r, "calls")->integer : -1);
    freeReplyObject(r);

    /* Bad input: RedisAI's error replies, and the connection stays usable. */
    const char *bad[] = {"AI.TENSORSET", "b", "FLOAT", "2", "BLOB", "abc"};
    r = command(6, bad, NULL);
    printf("bad_blob=%s\n", r->type == REDIS_REPLY_ERROR ? r->str : "not an error");
    freeReplyObject(r);
    simple("bad_dtype", 5, (const char *[]){"AI.TENSORSET", "b", "FLAOT", "1", "VALUES"});
    simple("unknown_model", 8, (const char *[]){"AI.MODELEXECUTE", "nothing", "INPUTS", "1", "x",
                                                "OUTPUTS", "1", "o"});
    simple("modeldel", 2, (const char *[]){"AI.MODELDEL", "sq"});
    simple("exists_after", 2, (const char *[]){"EXISTS", "sq"});
    redisFree(ctx);
    return 0;
}
