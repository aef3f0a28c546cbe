/* The main thread's side of running ONNX models in the server (see native.c): the switch
 * (module arguments), submitting a run or a load, and the blocked caller's callbacks,
 * which store the outputs, answer and count. */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "native.h"

static long long native_runs = 0, native_pending = 0;  /* main thread only */

int native_threads(void) { return native_on ? native_pool : 0; }
long long native_run_count(void) { return native_runs; }
long long native_pending_count(void) { return native_pending; }

int native_serves(const model_header *h) {
    return native_on && strcmp(h->kind, "model") == 0 && strcmp(h->backend, "ONNX") == 0 &&
           strcmp(h->device, "CPU") == 0 && h->batch_size == 0;
}

static void free_strings(RedisModuleString **s, int n) {
    if (s == NULL) return;
    for (int i = 0; i < n; i++)
        if (s[i]) RM_FreeString(NULL, s[i]);
    RM_Free(s);
}

static void job_free(job *j) {
    if (j->m) model_release(j->m);
    RM_FreeString(NULL, j->key);
    if (j->header) RM_FreeString(NULL, j->header);
    free_strings(j->values, j->n_in);
    free_strings(j->outputs, j->n_out);
    RM_Free(j->views);
    for (int i = 0; j->out_values && i < j->n_out; i++) free(j->out_values[i]);
    free(j->out_values);
    free(j->out_lens);
    RM_Free(j);
}

/* Main thread, caller still connected: store the outputs (as INSITU.WORKER.DONE does) and
 * answer. */
static int reply_cb(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    (void)argv; (void)argc;
    job *j = RM_GetBlockedClientPrivateData(ctx);
    if (j == NULL) return RM_ReplyWithError(ctx, "ERR the request was dropped");
    if (!j->ok) {
        if (j->op == OP_LOAD) {
            record_drop_if_unchanged(ctx, j->key, j->header);
            native_forget(j->key);
        }
        /* Its deadline passed before a pool thread took it: what RedisAI answers for a run
         * that timed out in its queue (and what timeout_cb would have said had the server
         * noticed the deadline first). */
        if (strncmp(j->message, "ERR [timeout]", 13) == 0)
            return RM_ReplyWithSimpleString(ctx, "TIMEDOUT");
        return RM_ReplyWithError(ctx, j->message);
    }
    for (int i = 0; j->op == OP_RUN_MODEL && i < j->n_out; i++) {
        RedisModuleKey *key = RM_OpenKey(ctx, j->outputs[i], RM_READ | RM_WRITE);
        int type = RM_KeyType(key);
        if (type == RM_KEYTYPE_EMPTY || type == RM_KEYTYPE_STRING) {
            RedisModuleString *v = RM_CreateString(ctx, (const char *)j->out_values[i], j->out_lens[i]);
            RM_StringSet(key, v);
            RM_Replicate(ctx, "SET", "ss", j->outputs[i], v);
            RM_FreeString(ctx, v);
        }
        RM_CloseKey(key);
    }
    return RM_ReplyWithSimpleString(ctx, "OK");
}

static int timeout_cb(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    (void)argv; (void)argc;
    /* The pool thread holding the job still unblocks it (then only free_cb runs). */
    return RM_ReplyWithSimpleString(ctx, "TIMEDOUT");
}

/* Main thread, always, once: count the run (AI.INFO) and free the job. */
static void free_cb(RedisModuleCtx *ctx, void *data) {
    (void)ctx;
    job *j = data;
    if (j->op == OP_RUN_MODEL) {
        if (j->ok) {
            stats_add(j->key, 1, j->duration_us, j->samples, 0);
            native_runs++;
        } else if (strncmp(j->message, "ERR [timeout]", 13) != 0) {
            stats_add(j->key, 0, 0, 0, 1);
        }
    }
    native_pending--;
    job_free(j);
}

int native_submit(RedisModuleCtx *ctx, int op, RedisModuleString *key, const record_t *r,
                  int n_in, RedisModuleString **values, int n_out, RedisModuleString **outputs,
                  long long timeout_ms) {
    job *j = RM_Alloc(sizeof *j);
    memset(j, 0, sizeof *j);
    j->op = op;
    j->key = RM_CreateStringFromString(NULL, key);
    j->header = RM_CreateStringFromString(NULL, r->raw_header);
    j->n_in = n_in;
    j->values = values;  /* owned from here */
    j->n_out = n_out;
    j->outputs = n_out ? RM_Alloc(sizeof(RedisModuleString *) * (size_t)n_out) : NULL;
    for (int i = 0; i < n_out; i++) j->outputs[i] = RM_CreateStringFromString(NULL, outputs[i]);
    j->views = n_in ? RM_Alloc(sizeof(tensor_view) * (size_t)n_in) : NULL;
    for (int i = 0; i < n_in; i++) {
        /* Checked by capture_inputs; the bytes stay put until free_cb frees the copy. */
        size_t len;
        const char *raw = RM_StringPtrLen(values[i], &len);
        char why[128];
        tensor_parse((const unsigned char *)raw, len, &j->views[i], why, sizeof why);
    }
    j->m = model_get(ctx, key, r);
    if (j->m == NULL) {  /* replied */
        job_free(j);
        return RM_OK;
    }
    j->deadline_ms = timeout_ms > 0 ? native_unix_ms() + timeout_ms : 0;
    j->bc = RM_BlockClient(ctx, reply_cb, timeout_cb, free_cb, timeout_ms);
    native_pending++;
    native_enqueue(j);
    return RM_OK;
}

/* A key deleted, renamed away, expired or evicted: if it held a model, its session goes. */
static int on_key_gone(RedisModuleCtx *ctx, int type, const char *event, RedisModuleString *key) {
    (void)ctx; (void)type;
    if (strcmp(event, "del") == 0 || strcmp(event, "rename_from") == 0 ||
        strcmp(event, "expired") == 0 || strcmp(event, "evicted") == 0)
        native_forget(key);
    return RM_OK;
}

static void on_flush(RedisModuleCtx *ctx, RedisModuleEvent eid, uint64_t sub, void *data) {
    (void)ctx; (void)eid; (void)sub; (void)data;
    native_forget_all();
}

static int owned_cpus(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
    int n = CPU_COUNT(&set);
    return n > 0 ? n : 1;
}

int native_init(RedisModuleCtx *ctx, const char *library, int threads, int intra) {
    if (library == NULL) {
        RM_Log(ctx, "notice", "insitu: ONNX models run in the inference workers (no ONNX "
               "Runtime library was given)");
        return RM_OK;
    }
    char why[600];
    if (ort_api_load(library, why, sizeof why) != 0) {
        RM_Log(ctx, "warning", "insitu: ONNX models run in the inference workers: %s", why);
        return RM_OK;
    }
    native_pool = threads > 0 ? threads : owned_cpus();
    native_intra_op = intra > 0 ? intra : 1;
    sigset_t all, old;
    sigfillset(&all);
    /* The server's signals stay with its main thread. */
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int started = 0;
    for (; started < native_pool; started++) {
        pthread_t t;
        if (pthread_create(&t, NULL, native_pool_main, NULL) != 0) break;
        pthread_setname_np(t, "insitu-onnx");  /* for top -H and the benchmarks */
        pthread_detach(t);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (started == 0) {
        RM_Log(ctx, "warning", "insitu: ONNX models run in the inference workers: no thread");
        return RM_OK;
    }
    native_pool = started;
    RedisModuleEvent flush = {RM_EVENT_FLUSHDB, 1};
    RM_SubscribeToServerEvent(ctx, flush, on_flush);
    RM_SubscribeToKeyspaceEvents(ctx, RM_NOTIFY_GENERIC | RM_NOTIFY_EXPIRED | RM_NOTIFY_EVICTED,
                                 on_key_gone);
    native_on = 1;
    RM_Log(ctx, "notice", "insitu: ONNX Runtime %s runs ONNX CPU models in the server: %d "
           "threads, %d intra-op thread(s) per run", ort_version, native_pool, native_intra_op);
    return RM_OK;
}
