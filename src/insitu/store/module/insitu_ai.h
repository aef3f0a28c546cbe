/* Shared declarations of the module's parts: store.c (tensors, models, scripts, AI.INFO,
 * AI.CONFIG), dispatch.c (execution requests and the inference workers' channel). */
#ifndef INSITU_AI_H
#define INSITU_AI_H

#include "record.h"
#include "rm_api.h"
#include "tensor.h"

#define OP_RUN_MODEL 0
#define OP_RUN_SCRIPT 1
#define OP_LOAD 2

#define RECORD_CHUNK (1024 * 1024)  /* bytes per chunk:<i> field, as the Python writer */
#define NO_WORKER_GRACE_MS 30000
#define MODULE_VERSION 10000  /* 1.0.0 */

extern long long model_chunk_size;  /* AI.CONFIG MODEL_CHUNK_SIZE (MODELGET replies) */

/* A stored model or script, read from its hash (owned strings; free with record_free). */
typedef struct {
    RedisModuleString *raw_header;
    model_header h;
    char *arena;
} record_t;

/* Open `key` and read its record. Returns 0; or replies with the error and returns -1:
 * `missing` is the error text for an empty key. */
int record_read(RedisModuleCtx *ctx, RedisModuleString *key, const char *kind,
                const char *missing, record_t *out);
void record_free(record_t *r);
/* What AI.MODELSTORE / AI.SCRIPTSET store beside the blob. */
typedef struct {
    const char *kind, *backend, *device;
    const char *tag;
    size_t tag_len;
    long long batch_size, min_batch_size, min_batch_timeout;
    RedisModuleString **inputs, **outputs;
    int n_in, n_out;
} record_spec;

/* Replace `key` with a record of `spec` and `blob`; its new version is written to
 * version_out (33 bytes). Replies with an error and returns -1 if it cannot. */
int record_write(RedisModuleCtx *ctx, RedisModuleString *key, const record_spec *spec,
                 const char *blob, size_t blob_len, char *version_out);

/* Statistics kept per model key (AI.INFO). */
void stats_add(RedisModuleString *key, long long calls, long long duration_us,
               long long samples, long long errors);
void stats_drop(RedisModuleString *key);

/* The blob of a record (RM_Alloc'ed, *len bytes); NULL with a reply if chunks are missing. */
char *record_blob(RedisModuleCtx *ctx, RedisModuleString *name, const record_t *r, size_t *len);
/* Delete `key` if its record still has `header` (a model that failed to load). */
void record_drop_if_unchanged(RedisModuleCtx *ctx, RedisModuleString *key,
                              RedisModuleString *header);

/* native.c, native_cmd.c: ONNX models run by ONNX Runtime in the server's own threads. */
/* Load `library` (NULL: off) and start `threads` pool threads (0: the CPUs this process
 * may run on), `intra` intra-op threads per run. Logs why if the feature stays off. */
int native_init(RedisModuleCtx *ctx, const char *library, int threads, int intra);
/* True if runs of the model with header h go to ONNX Runtime in the server. */
int native_serves(const model_header *h);
/* Block the caller and queue a run (op OP_RUN_MODEL; `values` are input copies the job
 * now owns) or a load (OP_LOAD) of `key`; replies itself. */
int native_submit(RedisModuleCtx *ctx, int op, RedisModuleString *key, const record_t *r,
                  int n_in, RedisModuleString **values, int n_out, RedisModuleString **outputs,
                  long long timeout_ms);
void native_forget(RedisModuleString *key);  /* a model key was replaced or deleted */
void native_forget_all(void);
int native_threads(void);                    /* pool threads; 0 when off */
long long native_run_count(void);            /* runs made */
long long native_pending_count(void);        /* jobs queued or running */
long long native_session_count(void);        /* sessions cached */

/* dispatch.c */
int dispatch_init(RedisModuleCtx *ctx);
/* Block the caller and queue a request; replies itself. `values` are copies the request
 * now owns; `raw_header` is retained. */
int dispatch_submit(RedisModuleCtx *ctx, int op, RedisModuleString *key, RedisModuleString *fn,
                    RedisModuleString *raw_header, const char *device, const char *version,
                    int n_in, RedisModuleString **inputs, RedisModuleString **values,
                    int n_out, RedisModuleString **outputs, long long timeout_ms);
int dispatch_workers(void);  /* connected workers */
int cmd_model_execute(RedisModuleCtx *ctx, RedisModuleString **argv, int argc);
int cmd_model_run(RedisModuleCtx *ctx, RedisModuleString **argv, int argc);
int cmd_script_execute(RedisModuleCtx *ctx, RedisModuleString **argv, int argc);
int cmd_script_run(RedisModuleCtx *ctx, RedisModuleString **argv, int argc);
int cmd_worker_next(RedisModuleCtx *ctx, RedisModuleString **argv, int argc);
int cmd_worker_done(RedisModuleCtx *ctx, RedisModuleString **argv, int argc);
int cmd_status(RedisModuleCtx *ctx, RedisModuleString **argv, int argc);

/* helpers */
int arg_is(RedisModuleString *arg, const char *word);
int blocking_allowed(RedisModuleCtx *ctx);
/* Make `text` a printable ASCII line (an error reply), in place. */
void error_text_clean(char *text);

#endif
