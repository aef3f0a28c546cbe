/* Shared by native.c (the session cache and the pool threads) and native_cmd.c (the main
 * thread's side: submitting, replying). See native.c. */
#ifndef INSITU_NATIVE_H
#define INSITU_NATIVE_H

#include "insitu_ai.h"
#include "ort_api.h"

#pragma GCC visibility push(hidden)

#define CACHE_MAX 64 /* sessions kept; the least recently used goes first */

typedef struct model {
    struct model *next;
    char *key;
    size_t key_len;
    char version[64];
    int refs;         /* cache slot + jobs; under cache_lock */
    long long used;   /* last use (LRU), under cache_lock */
    pthread_mutex_t load_lock;
    int state;        /* 0 not loaded, 1 ready, -1 failed: under load_lock */
    char *blob;       /* until loaded */
    size_t blob_len;
    OrtSession *session;
    size_t n_in, n_out;
    char **in_names, **out_names;
    char error[700];  /* why it failed to load */
} model;

typedef struct job {
    struct job *next;
    int op;
    RedisModuleBlockedClient *bc;
    model *m;
    RedisModuleString *key, *header;
    int n_in, n_out;
    RedisModuleString **values, **outputs;
    tensor_view *views;
    long long deadline_ms;
    /* results, written by the pool thread before it unblocks the caller */
    int ok, input_error;
    char message[1024];
    unsigned char **out_values;
    size_t *out_lens;
    long long duration_us, samples;
} job;

extern int native_on, native_pool, native_intra_op;

/* The cached session of `key` at the record's version (a reference: model_release it);
 * NULL with a reply if the record's blob cannot be read. Main thread. */
model *model_get(RedisModuleCtx *ctx, RedisModuleString *key, const record_t *r);
void model_release(model *m);
/* Queue a job for the pool; a pool thread runs it and unblocks j->bc with it. */
void native_enqueue(job *j);
void *native_pool_main(void *arg);
long long native_unix_ms(void);

#pragma GCC visibility pop

#endif
