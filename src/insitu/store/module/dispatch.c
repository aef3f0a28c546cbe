/* Execution: AI.MODELEXECUTE & co. block their caller and queue a request; insitu's
 * inference workers take requests over their own connection to this server
 * (INSITU.WORKER.NEXT, which blocks the worker until there is work) and answer with
 * INSITU.WORKER.DONE, which stores the outputs and unblocks the caller. The server's
 * thread never waits on a model, nothing polls, and the caller is woken once, by its
 * reply. A request held by a worker whose connection drops is queued again once; a
 * second loss answers it with the "lost" error. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "insitu_ai.h"

#define STATE_QUEUED 0
#define STATE_RUNNING 1
#define MAX_ATTEMPTS 2

typedef struct request {
    struct request *next, *prev;
    uint64_t id;
    int op, state, attempts;
    RedisModuleBlockedClient *bc;  /* NULL once the caller stopped waiting */
    RedisModuleString *key, *fn, *header;
    char device[32], version[40];
    int n_in, n_out;
    RedisModuleString **inputs, **values, **outputs;
    long long deadline_ms;  /* Unix ms; 0: none */
    uint64_t worker;        /* client id of the worker running it */
} request;

typedef struct worker {
    struct worker *next;
    uint64_t client;
    char device[32];
    RedisModuleBlockedClient *bc;  /* set while it waits in INSITU.WORKER.NEXT */
    long max;
} worker;

typedef struct {
    int ok;
    char message[1024];
} result;

static request queued = {.next = &queued, .prev = &queued},
    running = {.next = &running, .prev = &running};
static worker *workers = NULL;
static int n_workers = 0;
static uint64_t next_id = 1;
static long long no_worker_since = 0;
static RedisModuleTimerID grace_timer = 0;
static int grace_armed = 0;

int dispatch_workers(void) { return n_workers; }

static long long unix_ms(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void list_remove(request *r) {
    r->prev->next = r->next;
    r->next->prev = r->prev;
    r->next = r->prev = r;
}

static void list_push(request *head, request *r, int front) {
    request *after = front ? head : head->prev;
    r->next = after->next;
    r->prev = after;
    after->next->prev = r;
    after->next = r;
}

static void free_strings(RedisModuleString **s, int n) {
    if (s == NULL) return;
    for (int i = 0; i < n; i++)
        if (s[i]) RM_FreeString(NULL, s[i]);
    RM_Free(s);
}

static void request_free(request *r) {
    RM_FreeString(NULL, r->key);
    if (r->fn) RM_FreeString(NULL, r->fn);
    if (r->header) RM_FreeString(NULL, r->header);
    free_strings(r->inputs, r->n_in);
    free_strings(r->values, r->n_in);
    free_strings(r->outputs, r->n_out);
    RM_Free(r);
}

/* The caller's answer; the request is done with the caller (it may still run). */
static void answer(request *r, int ok, const char *message) {
    if (r->bc == NULL) return;
    result *res = RM_Alloc(sizeof *res);
    res->ok = ok;
    snprintf(res->message, sizeof res->message, "%s", message ? message : "");
    RM_UnblockClient(r->bc, res);
    r->bc = NULL;
}

static worker *worker_of(uint64_t client) {
    for (worker *w = workers; w; w = w->next)
        if (w->client == client) return w;
    return NULL;
}

static int device_served(const char *device) {
    for (worker *w = workers; w; w = w->next)
        if (strcmp(w->device, device) == 0) return 1;
    return 0;
}

/* A worker of `device` takes requests for its device, and those of devices no connected
 * worker serves (it reports what its device cannot do). */
static int suits(const worker *w, const request *r) {
    return strcmp(w->device, r->device) == 0 || !device_served(r->device);
}

static void wake_worker(const request *r) {
    for (worker *w = workers; w; w = w->next) {
        if (w->bc != NULL && suits(w, r)) {
            RedisModuleBlockedClient *bc = w->bc;
            w->bc = NULL;
            RM_UnblockClient(bc, NULL);
            return;
        }
    }
}

/* ------------------------------------------------------------------ no worker at all */

static void fail_queued(const char *message) {
    while (queued.next != &queued) {
        request *r = queued.next;
        list_remove(r);
        answer(r, 0, message);
        request_free(r);
    }
}

static void grace_check(RedisModuleCtx *ctx, void *data) {
    (void)data;
    grace_armed = 0;
    if (n_workers > 0 || queued.next == &queued) return;
    long long left = NO_WORKER_GRACE_MS - (RM_Milliseconds() - no_worker_since);
    if (left <= 0) {
        fail_queued("ERR [timeout] no inference worker has served this store for 30 s");
        return;
    }
    grace_timer = RM_CreateTimer(ctx, left, grace_check, NULL);
    grace_armed = 1;
}

static void arm_grace(RedisModuleCtx *ctx) {
    if (n_workers > 0 || grace_armed) return;
    long long left = NO_WORKER_GRACE_MS - (RM_Milliseconds() - no_worker_since);
    grace_timer = RM_CreateTimer(ctx, left > 1 ? left : 1, grace_check, NULL);
    grace_armed = 1;
}

/* ------------------------------------------------------------------ callers */

static request *find_by_bc(RedisModuleBlockedClient *bc) {
    request *heads[2] = {&queued, &running};
    for (int h = 0; h < 2; h++)
        for (request *r = heads[h]->next; r != heads[h]; r = r->next)
            if (r->bc == bc) return r;
    return NULL;
}

/* The caller stopped waiting (timeout or disconnect): a queued request is dropped, a
 * running one finishes without an audience. */
static void caller_gone(RedisModuleBlockedClient *bc) {
    /* A handle is released exactly once: by answer(), or here if it was not answered
     * yet (a handle no request holds was answered already). */
    request *r = find_by_bc(bc);
    if (r == NULL) return;
    r->bc = NULL;
    if (r->state == STATE_QUEUED) {
        list_remove(r);
        request_free(r);
    }
    RM_UnblockClient(bc, NULL);
}

static int caller_reply(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    (void)argv; (void)argc;
    result *res = RM_GetBlockedClientPrivateData(ctx);
    if (res == NULL) return RM_ReplyWithError(ctx, "ERR the request was dropped");
    if (res->ok) return RM_ReplyWithSimpleString(ctx, "OK");
    return RM_ReplyWithError(ctx, res->message);
}

static int caller_timeout(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    (void)argv; (void)argc;
    caller_gone(RM_GetBlockedClientHandle(ctx));
    return RM_ReplyWithSimpleString(ctx, "TIMEDOUT");
}

static void caller_disconnected(RedisModuleCtx *ctx, RedisModuleBlockedClient *bc) {
    (void)ctx;
    caller_gone(bc);
}

static void free_result(RedisModuleCtx *ctx, void *privdata) {
    (void)ctx;
    RM_Free(privdata);
}

int dispatch_submit(RedisModuleCtx *ctx, int op, RedisModuleString *key, RedisModuleString *fn,
                    RedisModuleString *raw_header, const char *device, const char *version,
                    int n_in, RedisModuleString **inputs, RedisModuleString **values,
                    int n_out, RedisModuleString **outputs, long long timeout_ms) {
    request *r = RM_Alloc(sizeof *r);
    memset(r, 0, sizeof *r);
    r->next = r->prev = r;
    r->id = next_id++;
    r->op = op;
    r->key = RM_CreateStringFromString(NULL, key);
    r->fn = fn ? RM_CreateStringFromString(NULL, fn) : NULL;
    r->header = raw_header;
    /* A model stored for "GPU" runs on the workers of GPU 0. */
    snprintf(r->device, sizeof r->device, "%s", strcmp(device, "GPU") == 0 ? "GPU:0" : device);
    snprintf(r->version, sizeof r->version, "%s", version);
    r->n_in = n_in;
    r->n_out = n_out;
    r->values = values;
    r->inputs = n_in ? RM_Alloc(sizeof(RedisModuleString *) * (size_t)n_in) : NULL;
    r->outputs = n_out ? RM_Alloc(sizeof(RedisModuleString *) * (size_t)n_out) : NULL;
    for (int i = 0; i < n_in; i++) r->inputs[i] = RM_CreateStringFromString(NULL, inputs[i]);
    for (int i = 0; i < n_out; i++) r->outputs[i] = RM_CreateStringFromString(NULL, outputs[i]);
    r->deadline_ms = timeout_ms > 0 ? unix_ms() + timeout_ms : 0;
    r->bc = RM_BlockClient(ctx, caller_reply, caller_timeout, free_result, timeout_ms);
    RM_SetDisconnectCallback(r->bc, caller_disconnected);
    list_push(&queued, r, 0);
    wake_worker(r);
    arm_grace(ctx);
    return RM_OK;
}

/* ------------------------------------------------------------------ parsing */

static int parse_timeout(RedisModuleCtx *ctx, RedisModuleString **argv, int argc, int *at,
                         long long *timeout) {
    if (*at < argc && arg_is(argv[*at], "TIMEOUT")) {
        if (*at + 1 >= argc || RM_StringToLongLong(argv[*at + 1], timeout) != RM_OK || *timeout <= 0) {
            RM_ReplyWithError(ctx, "ERR Invalid value for TIMEOUT");
            return -1;
        }
        *at += 2;
    }
    return 0;
}

static int parse_counted(RedisModuleCtx *ctx, RedisModuleString **argv, int argc, int *at,
                         const char *word, const char *command, RedisModuleString ***names, int *n) {
    char msg[256];
    if (*at >= argc || !arg_is(argv[*at], word)) {
        snprintf(msg, sizeof msg, "ERR %s not specified", word);
        RM_ReplyWithError(ctx, msg);
        return -1;
    }
    long long count;
    if (*at + 1 >= argc || RM_StringToLongLong(argv[*at + 1], &count) != RM_OK || count < 0) {
        snprintf(msg, sizeof msg, "ERR Invalid argument for %s count", word);
        RM_ReplyWithError(ctx, msg);
        return -1;
    }
    if (count > argc - *at - 2) {
        snprintf(msg, sizeof msg, "ERR number of %s keys to %s command does not match the "
                 "number of given arguments", word, command);
        RM_ReplyWithError(ctx, msg);
        return -1;
    }
    *names = argv + *at + 2;
    *n = (int)count;
    *at += 2 + (int)count;
    return 0;
}

/* Reads the inputs now (atomically with the command): copies the request owns. NULL with
 * a reply if one is missing or not a tensor. */
static RedisModuleString **capture_inputs(RedisModuleCtx *ctx, RedisModuleString **inputs, int n) {
    RedisModuleString **values = n ? RM_Alloc(sizeof(RedisModuleString *) * (size_t)n) : NULL;
    for (int i = 0; i < n; i++) values[i] = NULL;
    for (int i = 0; i < n; i++) {
        RedisModuleKey *key = RM_OpenKey(ctx, inputs[i], RM_READ);
        int type = RM_KeyType(key);
        const char *err = NULL;
        tensor_view t;
        char why[128];
        size_t len = 0;
        const char *raw = NULL;
        if (type == RM_KEYTYPE_EMPTY) err = "ERR tensor key is empty or in a different shard";
        else if (type != RM_KEYTYPE_STRING) err = "WRONGTYPE Operation against a key holding the wrong kind of value";
        else {
            raw = RM_StringDMA(key, &len, RM_READ);
            if (tensor_parse((const unsigned char *)raw, len, &t, why, sizeof why) != 0)
                err = "WRONGTYPE Operation against a key holding the wrong kind of value";
        }
        if (err == NULL) values[i] = RM_CreateString(NULL, raw, len);
        RM_CloseKey(key);
        if (err != NULL) {
            free_strings(values, n);
            char msg[512];
            size_t klen;
            const char *k = RM_StringPtrLen(inputs[i], &klen);
            /* The key is named after ": " so that a client can tell which input it was. */
            snprintf(msg, sizeof msg, "%s: %.*s", err, (int)(klen < 300 ? klen : 300), k);
            error_text_clean(msg);
            RM_ReplyWithError(ctx, msg);
            return NULL;
        }
    }
    return values;
}

/* The run commands declare no keys to the server (their keys follow INPUTS/OUTPUTS), so
 * the server cannot hold them to the caller's ACL user: check here that the user may read
 * the model and every input and write every output (a per-entity user may write only its
 * own keys). 1 with a NOPERM reply if not. No user (the server itself: replication, AOF)
 * or a server without the ACL API: allowed. */
static int acl_denied(RedisModuleCtx *ctx, RedisModuleString *key, int n_in,
                      RedisModuleString **inputs, int n_out, RedisModuleString **outputs) {
    if (RM_GetCurrentUserName == NULL || RM_GetModuleUserFromUserName == NULL ||
        RM_ACLCheckKeyPermissions == NULL || RM_FreeModuleUser == NULL)
        return 0;
    RedisModuleString *name = RM_GetCurrentUserName(ctx);
    if (name == NULL) return 0;
    RedisModuleUser *user = RM_GetModuleUserFromUserName(name);
    RM_FreeString(ctx, name);
    int denied = user == NULL || RM_ACLCheckKeyPermissions(user, key, RM_CMD_KEY_ACCESS) != RM_OK;
    for (int i = 0; i < n_in && !denied; i++)
        denied = RM_ACLCheckKeyPermissions(user, inputs[i], RM_CMD_KEY_ACCESS) != RM_OK;
    for (int i = 0; i < n_out && !denied; i++)
        denied = RM_ACLCheckKeyPermissions(user, outputs[i],
                                           RM_CMD_KEY_INSERT | RM_CMD_KEY_UPDATE) != RM_OK;
    if (user != NULL) RM_FreeModuleUser(user);
    if (denied)
        RM_ReplyWithError(ctx, "NOPERM this user has no permissions to access one of the keys "
                               "used as arguments");
    return denied;
}

static int submit_run(RedisModuleCtx *ctx, int op, RedisModuleString *key, RedisModuleString *fn,
                      int n_in, RedisModuleString **inputs, int n_out,
                      RedisModuleString **outputs, long long timeout) {
    const char *kind = op == OP_RUN_MODEL ? "model" : "script";
    if (!blocking_allowed(ctx))
        return RM_ReplyWithError(ctx, "ERR Cannot run a model or script within a transaction or a script");
    if (acl_denied(ctx, key, n_in, inputs, n_out, outputs)) return RM_OK;
    record_t r;
    if (record_read(ctx, key, kind, op == OP_RUN_MODEL ? "ERR model key is empty" : "ERR script key is empty", &r) != 0)
        return RM_OK;
    RedisModuleString **values = capture_inputs(ctx, inputs, n_in);
    if (n_in && values == NULL) { record_free(&r); return RM_OK; }
    if (op == OP_RUN_MODEL && native_serves(&r.h)) {  /* ONNX Runtime in this server */
        int rc = native_submit(ctx, op, key, &r, n_in, values, n_out, outputs, timeout);
        record_free(&r);
        return rc;
    }
    RedisModuleString *raw = RM_CreateStringFromString(NULL, r.raw_header);
    char device[32], version[64];
    snprintf(device, sizeof device, "%s", r.h.device);
    snprintf(version, sizeof version, "%s", r.h.version);
    record_free(&r);
    return dispatch_submit(ctx, op, key, fn, raw, device, version, n_in, inputs, values, n_out,
                           outputs, timeout);
}

/* AI.MODELEXECUTE key INPUTS n ... OUTPUTS m ... [TIMEOUT ms] */
int cmd_model_execute(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc < 6) return RM_WrongArity(ctx);
    RM_AutoMemory(ctx);
    RedisModuleString **ins, **outs;
    int n_in, n_out, at = 2;
    long long timeout = 0;
    if (parse_counted(ctx, argv, argc, &at, "INPUTS", "AI.MODELEXECUTE", &ins, &n_in) != 0) return RM_OK;
    if (parse_counted(ctx, argv, argc, &at, "OUTPUTS", "AI.MODELEXECUTE", &outs, &n_out) != 0) return RM_OK;
    if (parse_timeout(ctx, argv, argc, &at, &timeout) != 0) return RM_OK;
    if (at != argc) return RM_ReplyWithError(ctx, "ERR Invalid argument");
    return submit_run(ctx, OP_RUN_MODEL, argv[1], NULL, n_in, ins, n_out, outs, timeout);
}

/* The deprecated uncounted form: [TIMEOUT ms] INPUTS a b ... OUTPUTS c d ... */
static int parse_uncounted(RedisModuleCtx *ctx, RedisModuleString **argv, int argc, int at,
                           RedisModuleString ***ins, int *n_in, RedisModuleString ***outs,
                           int *n_out, long long *timeout) {
    if (parse_timeout(ctx, argv, argc, &at, timeout) != 0) return -1;
    if (at >= argc || !arg_is(argv[at], "INPUTS")) {
        RM_ReplyWithError(ctx, "ERR INPUTS not specified");
        return -1;
    }
    int start = ++at;
    while (at < argc && !arg_is(argv[at], "OUTPUTS")) {
        if (arg_is(argv[at], "$")) {
            RM_ReplyWithError(ctx, "ERR variadic inputs ($) are not supported");
            return -1;
        }
        at++;
    }
    *ins = argv + start;
    *n_in = at - start;
    if (at >= argc) {
        RM_ReplyWithError(ctx, "ERR OUTPUTS not specified");
        return -1;
    }
    start = ++at;
    while (at < argc && !arg_is(argv[at], "TIMEOUT")) at++;
    *outs = argv + start;
    *n_out = at - start;
    if (parse_timeout(ctx, argv, argc, &at, timeout) != 0) return -1;
    if (at != argc) {
        RM_ReplyWithError(ctx, "ERR Invalid argument");
        return -1;
    }
    return 0;
}

/* AI.MODELRUN key [TIMEOUT ms] INPUTS ... OUTPUTS ... (deprecated) */
int cmd_model_run(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc < 4) return RM_WrongArity(ctx);
    RM_AutoMemory(ctx);
    RedisModuleString **ins, **outs;
    int n_in, n_out;
    long long timeout = 0;
    if (parse_uncounted(ctx, argv, argc, 2, &ins, &n_in, &outs, &n_out, &timeout) != 0) return RM_OK;
    return submit_run(ctx, OP_RUN_MODEL, argv[1], NULL, n_in, ins, n_out, outs, timeout);
}

/* AI.SCRIPTRUN key fn [TIMEOUT ms] INPUTS ... OUTPUTS ... (deprecated; SmartRedis's form) */
int cmd_script_run(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc < 5) return RM_WrongArity(ctx);
    RM_AutoMemory(ctx);
    RedisModuleString **ins, **outs;
    int n_in, n_out;
    long long timeout = 0;
    if (parse_uncounted(ctx, argv, argc, 3, &ins, &n_in, &outs, &n_out, &timeout) != 0) return RM_OK;
    return submit_run(ctx, OP_RUN_SCRIPT, argv[1], argv[2], n_in, ins, n_out, outs, timeout);
}

/* AI.SCRIPTEXECUTE key fn [KEYS n ...] [INPUTS n ...] [ARGS n ...] [OUTPUTS n ...] [TIMEOUT ms] */
int cmd_script_execute(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc < 3) return RM_WrongArity(ctx);
    RM_AutoMemory(ctx);
    RedisModuleString **keys = NULL, **ins = NULL, **outs = NULL;
    int n_keys = 0, n_in = 0, n_out = 0, at = 3;
    long long timeout = 0;
    if (at < argc && arg_is(argv[at], "KEYS") &&
        parse_counted(ctx, argv, argc, &at, "KEYS", "AI.SCRIPTEXECUTE", &keys, &n_keys) != 0)
        return RM_OK;
    if (at < argc && arg_is(argv[at], "INPUTS") &&
        parse_counted(ctx, argv, argc, &at, "INPUTS", "AI.SCRIPTEXECUTE", &ins, &n_in) != 0)
        return RM_OK;
    if (at < argc && arg_is(argv[at], "ARGS"))
        return RM_ReplyWithError(ctx, "ERR ARGS are not supported: pass tensors as INPUTS");
    if (at < argc && arg_is(argv[at], "OUTPUTS") &&
        parse_counted(ctx, argv, argc, &at, "OUTPUTS", "AI.SCRIPTEXECUTE", &outs, &n_out) != 0)
        return RM_OK;
    if (parse_timeout(ctx, argv, argc, &at, &timeout) != 0) return RM_OK;
    if (at != argc) return RM_ReplyWithError(ctx, "ERR Invalid argument");
    return submit_run(ctx, OP_RUN_SCRIPT, argv[1], argv[2], n_in, ins, n_out, outs, timeout);
}

/* ------------------------------------------------------------------ workers */

static void reply_request(RedisModuleCtx *ctx, request *r) {
    static const char *ops[] = {"run_model", "run_script", "load"};
    RM_ReplyWithArray(ctx, 10);
    RM_ReplyWithLongLong(ctx, (long long)r->id);
    RM_ReplyWithSimpleString(ctx, ops[r->op]);
    RM_ReplyWithString(ctx, r->key);
    if (r->fn) RM_ReplyWithString(ctx, r->fn);
    else RM_ReplyWithStringBuffer(ctx, "", 0);
    RM_ReplyWithString(ctx, r->header);
    RM_ReplyWithArray(ctx, r->n_in);
    for (int i = 0; i < r->n_in; i++) RM_ReplyWithString(ctx, r->inputs[i]);
    RM_ReplyWithArray(ctx, r->n_in);
    for (int i = 0; i < r->n_in; i++) RM_ReplyWithString(ctx, r->values[i]);
    RM_ReplyWithArray(ctx, r->n_out);
    for (int i = 0; i < r->n_out; i++) RM_ReplyWithString(ctx, r->outputs[i]);
    RM_ReplyWithLongLong(ctx, r->deadline_ms);
    RM_ReplyWithLongLong(ctx, r->attempts);
}

/* Hand every queued request this worker suits (at most w->max) to it. */
static void hand_over(RedisModuleCtx *ctx, worker *w) {
    long n = 0;
    RM_ReplyWithArray(ctx, RM_POSTPONED_LEN);
    for (request *r = queued.next, *next; r != &queued && n < w->max; r = next) {
        next = r->next;
        if (!suits(w, r)) continue;
        list_remove(r);
        r->state = STATE_RUNNING;
        r->worker = w->client;
        r->attempts++;
        list_push(&running, r, 0);
        reply_request(ctx, r);
        n++;
    }
    RM_ReplySetArrayLength(ctx, n);
}

static int worker_reply(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    (void)argv; (void)argc;
    worker *w = worker_of(RM_GetClientId(ctx));
    if (w == NULL) return RM_ReplyWithArray(ctx, 0);
    hand_over(ctx, w);
    return RM_OK;
}

/* Release a worker's NEXT handle if it still holds it (each handle is released once:
 * by wake_worker, or here). */
static void release_worker_bc(RedisModuleBlockedClient *bc) {
    for (worker *w = workers; w; w = w->next) {
        if (w->bc == bc) {
            w->bc = NULL;
            RM_UnblockClient(bc, NULL);
            return;
        }
    }
}

static int worker_timeout(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    (void)argv; (void)argc;
    release_worker_bc(RM_GetBlockedClientHandle(ctx));
    return RM_ReplyWithArray(ctx, 0);
}

static void worker_bc_gone(RedisModuleCtx *ctx, RedisModuleBlockedClient *bc) {
    (void)ctx;
    release_worker_bc(bc);
}

/* INSITU.WORKER.NEXT max block_ms device: up to `max` requests, waiting up to block_ms
 * (0: until there is one) while there is none. Each request is
 * [id, op, key, fn, header, [inputs], [input values], [outputs], deadline_ms, attempt]. */
int cmd_worker_next(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc != 4) return RM_WrongArity(ctx);
    long long max, block;
    size_t dlen;
    const char *device = RM_StringPtrLen(argv[3], &dlen);
    if (RM_StringToLongLong(argv[1], &max) != RM_OK || max < 1 ||
        RM_StringToLongLong(argv[2], &block) != RM_OK || block < 0 || dlen == 0 || dlen >= 32)
        return RM_ReplyWithError(ctx, "ERR usage: INSITU.WORKER.NEXT <max> <block ms> <device>");
    uint64_t client = RM_GetClientId(ctx);
    worker *w = worker_of(client);
    if (w == NULL) {
        w = RM_Alloc(sizeof *w);
        memset(w, 0, sizeof *w);
        w->client = client;
        w->next = workers;
        workers = w;
        n_workers++;
        if (grace_armed) { RM_StopTimer(ctx, grace_timer, NULL); grace_armed = 0; }
    }
    memcpy(w->device, device, dlen);
    w->device[dlen] = 0;
    w->max = (long)max;
    int has_work = 0;
    for (request *r = queued.next; r != &queued; r = r->next)
        if (suits(w, r)) { has_work = 1; break; }
    if (has_work || !blocking_allowed(ctx)) {
        hand_over(ctx, w);
        return RM_OK;
    }
    w->bc = RM_BlockClient(ctx, worker_reply, worker_timeout, NULL, block);
    RM_SetDisconnectCallback(w->bc, worker_bc_gone);
    return RM_OK;
}

static request *running_request(uint64_t id, uint64_t client) {
    for (request *r = running.next; r != &running; r = r->next)
        if (r->id == id && r->worker == client) return r;
    return NULL;
}

void record_drop_if_unchanged(RedisModuleCtx *ctx, RedisModuleString *name,
                              RedisModuleString *expected) {
    RedisModuleKey *key = RM_OpenKey(ctx, name, RM_READ | RM_WRITE);
    RedisModuleString *header = NULL;
    if (RM_KeyType(key) == RM_KEYTYPE_HASH) RM_HashGet(key, RM_HASH_CFIELDS, "header", &header, NULL);
    size_t a, b;
    if (header != NULL && expected != NULL) {
        const char *x = RM_StringPtrLen(header, &a), *y = RM_StringPtrLen(expected, &b);
        if (a == b && memcmp(x, y, a) == 0) {
            RM_DeleteKey(key);
            RM_Replicate(ctx, "DEL", "s", name);
        }
    }
    if (header) RM_FreeString(ctx, header);
    RM_CloseKey(key);
}

/* Remove the record of a model that failed to load, unless it was replaced since. */
static void drop_unloadable(RedisModuleCtx *ctx, request *r) {
    record_drop_if_unchanged(ctx, r->key, r->header);
}

/* INSITU.WORKER.DONE id OK calls duration_us samples value...   (one value per output)
 * INSITU.WORKER.DONE id ERR code message [backend message] */
int cmd_worker_done(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc < 5) return RM_WrongArity(ctx);
    long long id;
    if (RM_StringToLongLong(argv[1], &id) != RM_OK) return RM_ReplyWithError(ctx, "ERR bad request id");
    request *r = running_request((uint64_t)id, RM_GetClientId(ctx));
    if (r == NULL) return RM_ReplyWithError(ctx, "ERR no such request is running on this connection");
    if (arg_is(argv[2], "OK")) {
        long long calls, duration, samples;
        if (argc != 6 + r->n_out || RM_StringToLongLong(argv[3], &calls) != RM_OK ||
            RM_StringToLongLong(argv[4], &duration) != RM_OK ||
            RM_StringToLongLong(argv[5], &samples) != RM_OK)
            return RM_ReplyWithError(ctx, "ERR malformed INSITU.WORKER.DONE");
        for (int i = 0; i < r->n_out; i++) {
            size_t len;
            const char *v = RM_StringPtrLen(argv[6 + i], &len);
            tensor_view t;
            char why[128];
            if (tensor_parse((const unsigned char *)v, len, &t, why, sizeof why) != 0)
                return RM_ReplyWithError(ctx, "ERR an output is not a tensor value");
        }
        if (r->bc != NULL) {  /* nobody waits for a timed-out request's outputs */
            for (int i = 0; i < r->n_out; i++) {
                RedisModuleKey *key = RM_OpenKey(ctx, r->outputs[i], RM_READ | RM_WRITE);
                int type = RM_KeyType(key);
                if (type == RM_KEYTYPE_EMPTY || type == RM_KEYTYPE_STRING) {
                    RM_StringSet(key, argv[6 + i]);
                    RM_Replicate(ctx, "SET", "ss", r->outputs[i], argv[6 + i]);
                }
                RM_CloseKey(key);
            }
        }
        if (r->op != OP_LOAD) stats_add(r->key, calls, duration, samples, 0);
        answer(r, 1, NULL);
    } else if (arg_is(argv[2], "ERR") && (argc == 5 || argc == 6)) {
        size_t clen, mlen, blen = 0;
        const char *code = RM_StringPtrLen(argv[3], &clen), *msg = RM_StringPtrLen(argv[4], &mlen);
        const char *backend = argc == 6 ? RM_StringPtrLen(argv[5], &blen) : "";
        char text[1024];
        int n = snprintf(text, sizeof text, "ERR [%.*s] %.*s", (int)(clen < 32 ? clen : 32), code,
                         (int)(mlen < 600 ? mlen : 600), msg);
        if (blen > 0 && n > 0 && (size_t)n < sizeof text)
            snprintf(text + n, sizeof text - (size_t)n, " [backend] %.*s",
                     (int)(blen < 300 ? blen : 300), backend);
        error_text_clean(text);
        if (r->op == OP_LOAD) drop_unloadable(ctx, r);
        /* A missing model has no statistics: they would outlive it. */
        else if (!(clen == 3 && memcmp(code, "key", 3) == 0)) stats_add(r->key, 0, 0, 0, 1);
        answer(r, 0, text);
    } else {
        return RM_ReplyWithError(ctx, "ERR malformed INSITU.WORKER.DONE");
    }
    list_remove(r);
    request_free(r);
    return RM_ReplyWithSimpleString(ctx, "OK");
}

/* INSITU.STATUS: what the module holds (for operators, `insitu doctor` and tests):
 * [workers, n, queued, n, running, n, retried, n (running requests on their 2nd attempt),
 *  version, n, onnx_threads, n (0: ONNX models go to the workers too), onnx_runs, n (runs
 *  ONNX Runtime made in this server), onnx_pending, n (its loads and runs queued or
 *  running), onnx_sessions, n (models it keeps loaded)] */
int cmd_status(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    (void)argv;
    if (argc != 1) return RM_WrongArity(ctx);
    long long n_queued = 0, n_running = 0, n_retried = 0;
    for (request *r = queued.next; r != &queued; r = r->next) n_queued++;
    for (request *r = running.next; r != &running; r = r->next) {
        n_running++;
        if (r->attempts > 1) n_retried++;
    }
    const char *names[] = {"workers", "queued", "running", "retried", "version",
                           "onnx_threads", "onnx_runs", "onnx_pending", "onnx_sessions"};
    long long values[] = {n_workers, n_queued, n_running, n_retried, MODULE_VERSION,
                          native_threads(), native_run_count(), native_pending_count(),
                          native_session_count()};
    RM_ReplyWithArray(ctx, 18);
    for (int i = 0; i < 9; i++) {
        RM_ReplyWithStringBuffer(ctx, names[i], strlen(names[i]));
        RM_ReplyWithLongLong(ctx, values[i]);
    }
    return RM_OK;
}

/* A worker's connection closed: what it held runs again elsewhere, once. */
static void on_client_change(RedisModuleCtx *ctx, RedisModuleEvent eid, uint64_t sub, void *data) {
    (void)eid;
    if (sub != RM_SUBEVENT_CLIENT_DISCONNECTED) return;
    uint64_t client = ((RedisModuleClientInfo *)data)->id;
    worker **p = &workers;
    while (*p && (*p)->client != client) p = &(*p)->next;
    if (*p == NULL) return;
    worker *w = *p;
    *p = w->next;
    if (w->bc != NULL) RM_UnblockClient(w->bc, NULL);
    RM_Free(w);
    if (--n_workers == 0) no_worker_since = RM_Milliseconds();
    for (request *r = running.next, *next; r != &running; r = next) {
        next = r->next;
        if (r->worker != client) continue;
        list_remove(r);
        if (r->attempts >= MAX_ATTEMPTS || r->bc == NULL) {
            char text[512];
            size_t len;
            const char *key = RM_StringPtrLen(r->key, &len);
            snprintf(text, sizeof text, "ERR [lost] the inference workers running '%.*s' died %d "
                     "times while holding this request; it is not retried again",
                     (int)(len < 200 ? len : 200), key, r->attempts);
            error_text_clean(text);
            answer(r, 0, text);
            request_free(r);
            continue;
        }
        r->state = STATE_QUEUED;
        list_push(&queued, r, 1);
        wake_worker(r);
    }
    if (queued.next != &queued) arm_grace(ctx);
}

int dispatch_init(RedisModuleCtx *ctx) {
    no_worker_since = RM_Milliseconds();
    RedisModuleEvent client_change = {RM_EVENT_CLIENT_CHANGE, 1};
    if (RM_SubscribeToServerEvent(ctx, client_change, on_client_change) != RM_OK) return RM_ERR;
    return RM_OK;
}
