/* The part of ONNX Runtime's C API the module uses, declared here (no header ships with
 * the onnxruntime wheel). The library hands out one table of function pointers
 * (OrtApiBase.GetApi); each function is found by its index in that table, which ONNX
 * Runtime only ever appends to. The indices below are those of the public
 * onnxruntime_c_api.h; ort_api_load() checks them by running a known model and comparing
 * every figure it returns, and leaves the feature off if anything differs. */
#ifndef INSITU_ORT_API_H
#define INSITU_ORT_API_H

#include <stddef.h>
#include <stdint.h>

#pragma GCC visibility push(hidden)

/* The table layout asked for: every slot used is older than this version, and any
 * runtime at least as new serves it. */
#define INSITU_ORT_API_VERSION 16

/* ONNXTensorElementDataType */
#define ORT_FLOAT 1
#define ORT_UINT8 2
#define ORT_INT8 3
#define ORT_UINT16 4
#define ORT_INT16 5
#define ORT_INT32 6
#define ORT_INT64 7
#define ORT_BOOL 9
#define ORT_FLOAT16 10
#define ORT_DOUBLE 11
#define ORT_UINT32 12
#define ORT_UINT64 13

#define ORT_INVALID_ARGUMENT 2  /* OrtErrorCode */
#define ORT_LOGGING_ERROR 3     /* OrtLoggingLevel */
#define ORT_ARENA_ALLOCATOR 1   /* OrtAllocatorType */
#define ORT_MEM_DEFAULT 0       /* OrtMemType */
#define ORT_TYPE_TENSOR 1       /* ONNXType */

typedef struct OrtStatus OrtStatus;
typedef struct OrtEnv OrtEnv;
typedef struct OrtSession OrtSession;
typedef struct OrtSessionOptions OrtSessionOptions;
typedef struct OrtRunOptions OrtRunOptions;
typedef struct OrtValue OrtValue;
typedef struct OrtMemoryInfo OrtMemoryInfo;
typedef struct OrtAllocator OrtAllocator;
typedef struct OrtTensorTypeAndShapeInfo OrtTensorTypeAndShapeInfo;

typedef struct {
    int (*GetErrorCode)(const OrtStatus *);
    const char *(*GetErrorMessage)(const OrtStatus *);
    OrtStatus *(*CreateEnv)(int level, const char *logid, OrtEnv **out);
    OrtStatus *(*CreateSessionFromArray)(const OrtEnv *, const void *data, size_t len,
                                         const OrtSessionOptions *, OrtSession **out);
    OrtStatus *(*Run)(OrtSession *, const OrtRunOptions *, const char *const *input_names,
                      const OrtValue *const *inputs, size_t n_in,
                      const char *const *output_names, size_t n_out, OrtValue **outputs);
    OrtStatus *(*CreateSessionOptions)(OrtSessionOptions **out);
    OrtStatus *(*SetIntraOpNumThreads)(OrtSessionOptions *, int);
    OrtStatus *(*SetInterOpNumThreads)(OrtSessionOptions *, int);
    OrtStatus *(*SessionGetInputCount)(const OrtSession *, size_t *);
    OrtStatus *(*SessionGetOutputCount)(const OrtSession *, size_t *);
    OrtStatus *(*SessionGetInputName)(const OrtSession *, size_t, OrtAllocator *, char **);
    OrtStatus *(*SessionGetOutputName)(const OrtSession *, size_t, OrtAllocator *, char **);
    OrtStatus *(*CreateTensorWithDataAsOrtValue)(const OrtMemoryInfo *, void *data, size_t len,
                                                 const int64_t *shape, size_t ndim, int type,
                                                 OrtValue **out);
    OrtStatus *(*GetTensorMutableData)(OrtValue *, void **);
    OrtStatus *(*GetTensorElementType)(const OrtTensorTypeAndShapeInfo *, int *);
    OrtStatus *(*GetDimensionsCount)(const OrtTensorTypeAndShapeInfo *, size_t *);
    OrtStatus *(*GetDimensions)(const OrtTensorTypeAndShapeInfo *, int64_t *, size_t);
    OrtStatus *(*GetTensorShapeElementCount)(const OrtTensorTypeAndShapeInfo *, size_t *);
    OrtStatus *(*GetTensorTypeAndShape)(const OrtValue *, OrtTensorTypeAndShapeInfo **);
    OrtStatus *(*GetValueType)(const OrtValue *, int *);
    OrtStatus *(*CreateCpuMemoryInfo)(int allocator_type, int mem_type, OrtMemoryInfo **);
    OrtStatus *(*GetAllocatorWithDefaultOptions)(OrtAllocator **);
    void (*ReleaseEnv)(OrtEnv *);
    void (*ReleaseStatus)(OrtStatus *);
    void (*ReleaseMemoryInfo)(OrtMemoryInfo *);
    void (*ReleaseSession)(OrtSession *);
    void (*ReleaseValue)(OrtValue *);
    void (*ReleaseTensorTypeAndShapeInfo)(OrtTensorTypeAndShapeInfo *);
    void (*ReleaseSessionOptions)(OrtSessionOptions *);
    OrtStatus *(*AddSessionConfigEntry)(OrtSessionOptions *, const char *, const char *);
} ort_api_t;

extern ort_api_t ort;
extern OrtEnv *ort_env;
extern OrtMemoryInfo *ort_cpu;
extern OrtAllocator *ort_alloc;
extern char ort_version[32];

/* dlopen() `path`, fill `ort` and run the probe model. 0 if the runtime works; else -1
 * with the reason in why (nothing is left loaded). */
int ort_api_load(const char *path, char *why, size_t whylen);

/* The session options every model gets: `intra_op` threads (0: the runtime's default),
 * one inter-op thread, no spinning. NULL with the reason in why. */
OrtSessionOptions *ort_session_options(int intra_op, char *why, size_t whylen);

/* Free what the default allocator gave (names). */
void ort_free(void *p);

/* "[ONNXRuntimeError] : <code> : <NAME> : <message>" (as the Python binding words it)
 * into out; releases st. Returns the error code. */
int ort_status_text(OrtStatus *st, char *out, size_t outlen);

#pragma GCC visibility pop

#endif
