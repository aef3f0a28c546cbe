/* ONNX models run inside the server, as RedisAI runs them: AI.MODELEXECUTE of an ONNX
 * model stored for the CPU without batching blocks its caller, the main thread hands the
 * captured inputs to a thread pool of this module, a pool thread runs the model's cached
 * ONNX Runtime session, and the reply callback (main thread again) stores the outputs and
 * answers OK: no worker hop, no Python, one wake-up for the caller. Everything else
 * (TorchScript, TF, GPUs, batching) still goes to insitu's inference workers (dispatch.c).
 *
 * Threads: only pool threads call ONNX Runtime's Run; only the main thread touches the
 * keyspace and the server API (but RM_UnblockClient, which is thread-safe). The session
 * cache is shared under one mutex; a session lives while a cache slot or a job holds it. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "native.h"

int native_on = 0, native_pool = 0, native_intra_op = 1;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static model *cache = NULL;
static long long clock_tick = 0;
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_cond = PTHREAD_COND_INITIALIZER;
static job *queue_head = NULL, *queue_tail = NULL;


static long long now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

long long native_unix_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------ session cache */

static void model_free(model *m) {
    if (m->session) ort.ReleaseSession(m->session);
    for (size_t i = 0; m->in_names && i < m->n_in; i++) free(m->in_names[i]);
    for (size_t i = 0; m->out_names && i < m->n_out; i++) free(m->out_names[i]);
    free(m->in_names);
    free(m->out_names);
    free(m->blob);
    free(m->key);
    pthread_mutex_destroy(&m->load_lock);
    free(m);
}

void model_release(model *m) {
    pthread_mutex_lock(&cache_lock);
    int last = --m->refs == 0;
    pthread_mutex_unlock(&cache_lock);
    if (last) model_free(m);
}

/* Drop the cache's reference to `key`'s session (under cache_lock); 1 if it was the last. */
static model *unlink_key(const char *key, size_t len) {
    for (model **p = &cache; *p; p = &(*p)->next) {
        if ((*p)->key_len == len && memcmp((*p)->key, key, len) == 0) {
            model *m = *p;
            *p = m->next;
            return --m->refs == 0 ? m : NULL;
        }
    }
    return NULL;
}

void native_forget(RedisModuleString *key) {
    if (cache == NULL) return;  /* only the main thread changes the list */
    size_t len;
    const char *k = RM_StringPtrLen(key, &len);
    pthread_mutex_lock(&cache_lock);
    model *dead = unlink_key(k, len);
    pthread_mutex_unlock(&cache_lock);
    if (dead) model_free(dead);
}

long long native_session_count(void) {
    long long n = 0;
    pthread_mutex_lock(&cache_lock);
    for (model *m = cache; m; m = m->next) n++;
    pthread_mutex_unlock(&cache_lock);
    return n;
}

void native_forget_all(void) {
    pthread_mutex_lock(&cache_lock);
    model *all = cache, *dead = NULL;
    cache = NULL;
    while (all) {
        model *m = all;
        all = m->next;
        if (--m->refs == 0) { m->next = dead; dead = m; }
    }
    pthread_mutex_unlock(&cache_lock);
    while (dead) { model *m = dead; dead = m->next; model_free(m); }
}

/* The cached session of `key` at `version` (a reference the caller releases); a new,
 * not yet loaded one made from the record's blob if there is none. NULL with a reply if
 * the blob cannot be read. */
model *model_get(RedisModuleCtx *ctx, RedisModuleString *key, const record_t *r) {
    size_t len;
    const char *k = RM_StringPtrLen(key, &len);
    model *dead = NULL, *found = NULL;
    pthread_mutex_lock(&cache_lock);
    for (model *m = cache; m; m = m->next) {
        if (m->key_len == len && memcmp(m->key, k, len) == 0) {
            if (strcmp(m->version, r->h.version) == 0) {
                m->refs++;
                m->used = ++clock_tick;
                found = m;
            } else {
                dead = unlink_key(k, len);  /* replaced since: that session is stale */
            }
            break;
        }
    }
    pthread_mutex_unlock(&cache_lock);
    if (dead) model_free(dead);
    if (found) return found;
    size_t blob_len;
    char *blob = record_blob(ctx, key, r, &blob_len);
    if (blob == NULL) return NULL;
    model *m = calloc(1, sizeof *m);
    if (m == NULL) { RM_Free(blob); RM_ReplyWithError(ctx, "ERR out of memory"); return NULL; }
    m->blob = malloc(blob_len ? blob_len : 1);
    m->key = malloc(len + 1);
    if (m->blob == NULL || m->key == NULL) {
        free(m->blob); free(m->key); free(m); RM_Free(blob);
        RM_ReplyWithError(ctx, "ERR out of memory");
        return NULL;
    }
    memcpy(m->blob, blob, blob_len);
    RM_Free(blob);
    m->blob_len = blob_len;
    memcpy(m->key, k, len);
    m->key[len] = 0;
    m->key_len = len;
    snprintf(m->version, sizeof m->version, "%s", r->h.version);
    pthread_mutex_init(&m->load_lock, NULL);
    m->refs = 2;  /* the cache's and the caller's */
    pthread_mutex_lock(&cache_lock);
    m->used = ++clock_tick;
    m->next = cache;
    cache = m;
    int n = 0;
    model *oldest = NULL;
    for (model *c = cache; c; c = c->next, n++)
        if (oldest == NULL || c->used < oldest->used) oldest = c;
    dead = n > CACHE_MAX ? unlink_key(oldest->key, oldest->key_len) : NULL;
    pthread_mutex_unlock(&cache_lock);
    if (dead) model_free(dead);
    return m;
}

static char *name_copy(char *ort_name) {
    char *copy = strdup(ort_name);
    ort_free(ort_name);
    return copy;
}

/* Load m's session once (pool thread). 0 if it is ready. */
static int model_load(model *m) {
    pthread_mutex_lock(&m->load_lock);
    if (m->state == 0) {
        char why[600] = "";
        OrtSessionOptions *opts = ort_session_options(native_intra_op, why, sizeof why);
        OrtStatus *st = opts ? ort.CreateSessionFromArray(ort_env, m->blob, m->blob_len, opts,
                                                          &m->session) : NULL;
        if (opts) ort.ReleaseSessionOptions(opts);
        if (st) ort_status_text(st, why, sizeof why);
        if (opts && st == NULL) {
            st = ort.SessionGetInputCount(m->session, &m->n_in);
            if (st == NULL) st = ort.SessionGetOutputCount(m->session, &m->n_out);
            m->in_names = calloc(m->n_in + 1, sizeof(char *));
            m->out_names = calloc(m->n_out + 1, sizeof(char *));
            int short_of_memory = m->in_names == NULL || m->out_names == NULL;
            for (size_t i = 0; st == NULL && !short_of_memory && i < m->n_in; i++) {
                char *name = NULL;
                st = ort.SessionGetInputName(m->session, i, ort_alloc, &name);
                if (st == NULL) short_of_memory = (m->in_names[i] = name_copy(name)) == NULL;
            }
            for (size_t i = 0; st == NULL && !short_of_memory && i < m->n_out; i++) {
                char *name = NULL;
                st = ort.SessionGetOutputName(m->session, i, ort_alloc, &name);
                if (st == NULL) short_of_memory = (m->out_names[i] = name_copy(name)) == NULL;
            }
            if (st) ort_status_text(st, why, sizeof why);
            else if (short_of_memory) snprintf(why, sizeof why, "out of memory");
        }
        if (why[0] == 0) m->state = 1;
        else {
            m->state = -1;
            snprintf(m->error, sizeof m->error, "%s", why);
        }
        free(m->blob);
        m->blob = NULL;
    }
    int ready = m->state == 1;
    pthread_mutex_unlock(&m->load_lock);
    return ready ? 0 : -1;
}

/* ------------------------------------------------------------------ running */

static int onnx_type(const dtype_t *dt) {
    static const int map[] = {0, ORT_DOUBLE, ORT_FLOAT, ORT_FLOAT16, ORT_INT8, ORT_INT16,
                              ORT_INT32, ORT_INT64, ORT_UINT8, ORT_UINT16, ORT_UINT32,
                              ORT_UINT64, ORT_BOOL};
    return dt->code > 0 && dt->code <= 12 ? map[dt->code] : 0;
}

static const dtype_t *dtype_of_onnx(int type) {
    for (int code = 1; code <= 12; code++) {
        const dtype_t *dt = dtype_by_code(code);
        if (dt && onnx_type(dt) == type) return dt;
    }
    return NULL;
}

static void fail(job *j, int input_error, const char *code, const char *fmt, const char *a,
                 const char *backend) {
    char text[700];
    snprintf(text, sizeof text, fmt, a);
    int n = snprintf(j->message, sizeof j->message, "ERR [%s] %s", code, text);
    if (backend && n > 0 && (size_t)n < sizeof j->message)
        snprintf(j->message + n, sizeof j->message - (size_t)n, " [backend] %s", backend);
    error_text_clean(j->message);
    j->ok = 0;
    j->input_error = input_error;
}

/* One output as a stored tensor value (malloc'ed) into j's slot i; -1 with j failed. */
static int encode_output(job *j, int i, OrtValue *v) {
    OrtTensorTypeAndShapeInfo *info = NULL;
    int type = 0, elem = 0;
    size_t ndim = 0, count = 0;
    int64_t dims[TENSOR_MAX_NDIM];
    void *data = NULL;
    OrtStatus *st = ort.GetValueType(v, &type);
    if (st == NULL && type != ORT_TYPE_TENSOR) {
        fail(j, 0, "run", "output %s of the ONNX model is not a tensor", j->m->out_names[i], NULL);
        return -1;
    }
    if (st == NULL) st = ort.GetTensorTypeAndShape(v, &info);
    if (st == NULL) st = ort.GetTensorElementType(info, &elem);
    if (st == NULL) st = ort.GetDimensionsCount(info, &ndim);
    if (st == NULL && ndim > TENSOR_MAX_NDIM) ndim = TENSOR_MAX_NDIM + 1;
    if (st == NULL && ndim <= TENSOR_MAX_NDIM) st = ort.GetDimensions(info, dims, ndim);
    if (st == NULL) st = ort.GetTensorShapeElementCount(info, &count);
    if (info) ort.ReleaseTensorTypeAndShapeInfo(info);
    if (st == NULL && count > 0) st = ort.GetTensorMutableData(v, &data);
    if (st != NULL) {
        char text[600];
        ort_status_text(st, text, sizeof text);
        fail(j, 0, "run", "reading an output of the ONNX model failed: %s", text, text);
        return -1;
    }
    const dtype_t *dt = dtype_of_onnx(elem);
    if (dt == NULL || ndim > TENSOR_MAX_NDIM) {
        fail(j, 0, "run", "output %s of the ONNX model has a type insitu tensors cannot hold",
             j->m->out_names[i], NULL);
        return -1;
    }
    uint64_t udims[TENSOR_MAX_NDIM];
    for (size_t d = 0; d < ndim; d++) udims[d] = (uint64_t)dims[d];
    size_t header = TENSOR_FIXED_HEADER + 8 * ndim, nbytes = count * dt->itemsize;
    unsigned char *value = malloc(header + nbytes + 1);
    if (value == NULL) {
        fail(j, 0, "run", "%s", "out of memory for the outputs", NULL);
        return -1;
    }
    tensor_write_header(value, dt, (int)ndim, udims);
    if (nbytes) memcpy(value + header, data, nbytes);
    j->out_values[i] = value;
    j->out_lens[i] = header + nbytes;
    return 0;
}

static void run_job(job *j) {
    j->ok = 1;
    if (model_load(j->m) != 0) {
        fail(j, 0, "load", "onnxruntime cannot load the model: %s", j->m->error, j->m->error);
        return;
    }
    if (j->op == OP_LOAD) return;
    if (j->deadline_ms && native_unix_ms() > j->deadline_ms) {  /* the caller has its TIMEDOUT */
        fail(j, 0, "timeout", "%s", "the run did not start before its TIMEOUT", NULL);
        return;
    }
    model *m = j->m;
    if ((size_t)j->n_in != m->n_in) {
        char text[300];
        snprintf(text, sizeof text, "the ONNX model takes %zu input(s) (%s%s); %d given", m->n_in,
                 m->n_in ? m->in_names[0] : "", m->n_in > 1 ? ", ..." : "", j->n_in);
        fail(j, 1, "input", "%s", text, NULL);
        return;
    }
    if ((size_t)j->n_out != m->n_out) {
        char text[300];
        snprintf(text, sizeof text, "'%.200s' returned %zu output(s), but %d output key(s) were "
                 "given", m->key, m->n_out, j->n_out);
        fail(j, 1, "input", "%s", text, NULL);
        return;
    }
    OrtValue **ins = calloc((size_t)j->n_in + 1, sizeof *ins);
    OrtValue **outs = calloc((size_t)j->n_out + 1, sizeof *outs);
    unsigned char **copies = calloc((size_t)j->n_in + 1, sizeof *copies);
    j->out_values = calloc((size_t)j->n_out + 1, sizeof *j->out_values);
    j->out_lens = calloc((size_t)j->n_out + 1, sizeof *j->out_lens);
    OrtStatus *st = NULL;
    if (!ins || !outs || !copies || !j->out_values || !j->out_lens) {
        fail(j, 0, "run", "%s", "out of memory", NULL);
        goto done;
    }
    for (int i = 0; i < j->n_in && st == NULL; i++) {
        tensor_view *t = &j->views[i];
        int64_t shape[TENSOR_MAX_NDIM];
        for (int d = 0; d < t->ndim; d++) shape[d] = (int64_t)t->dims[d];
        void *data = (void *)t->data;
        int fortran = t->fortran && t->ndim > 1 && t->count > 0;
        /* ONNX Runtime reads C order, and elements at their natural alignment (a stored
         * value's data follows a header that may leave it anywhere). */
        if (t->data_len > 0 && (fortran || (uintptr_t)data % t->dtype->itemsize != 0)) {
            copies[i] = aligned_alloc(64, (t->data_len + 63) / 64 * 64);
            if (copies[i] == NULL) { fail(j, 0, "run", "%s", "out of memory", NULL); goto done; }
            if (fortran) tensor_copy_c_order(t, copies[i]);
            else memcpy(copies[i], data, t->data_len);
            data = copies[i];
        }
        st = ort.CreateTensorWithDataAsOrtValue(ort_cpu, data, t->data_len, shape,
                                                (size_t)t->ndim, onnx_type(t->dtype), &ins[i]);
    }
    long long start = now_us();
    if (st == NULL)
        st = ort.Run(m->session, NULL, (const char *const *)m->in_names,
                     (const OrtValue *const *)ins, m->n_in, (const char *const *)m->out_names,
                     m->n_out, outs);
    j->duration_us = now_us() - start;
    if (st != NULL) {
        char text[600];
        int code = ort_status_text(st, text, sizeof text);
        fail(j, code == ORT_INVALID_ARGUMENT, code == ORT_INVALID_ARGUMENT ? "input" : "run",
             "ONNX run failed: %s", text, text);
        goto done;
    }
    for (int i = 0; i < j->n_out; i++)
        if (encode_output(j, i, outs[i]) != 0) goto done;
    j->samples = j->n_in && j->views[0].ndim > 0 ? (long long)j->views[0].dims[0] : 1;
done:
    for (int i = 0; ins && i < j->n_in; i++) if (ins[i]) ort.ReleaseValue(ins[i]);
    for (int i = 0; outs && i < j->n_out; i++) if (outs[i]) ort.ReleaseValue(outs[i]);
    for (int i = 0; copies && i < j->n_in; i++) free(copies[i]);
    free(ins);
    free(outs);
    free(copies);
}

void native_enqueue(job *j) {
    j->next = NULL;
    pthread_mutex_lock(&queue_lock);
    if (queue_tail) queue_tail->next = j;
    else queue_head = j;
    queue_tail = j;
    pthread_cond_signal(&queue_cond);
    pthread_mutex_unlock(&queue_lock);
}

void *native_pool_main(void *arg) {
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&queue_lock);
        while (queue_head == NULL) pthread_cond_wait(&queue_cond, &queue_lock);
        job *j = queue_head;
        queue_head = j->next;
        if (queue_head == NULL) queue_tail = NULL;
        pthread_mutex_unlock(&queue_lock);
        run_job(j);
        RM_UnblockClient(j->bc, j);  /* thread-safe: the reply runs on the main thread */
    }
    return NULL;
}
