/* Loading ONNX Runtime at run time and checking that the table of functions is the one
 * this module was written against (see ort_api.h). Pure code apart from libc and
 * libdl: no server API, so that a test program can load and check it on its own. */
#include "ort_api.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

ort_api_t ort;
OrtEnv *ort_env = NULL;
OrtMemoryInfo *ort_cpu = NULL;
OrtAllocator *ort_alloc = NULL;
char ort_version[32] = "";

static void *library = NULL;

typedef struct {
    const void *(*GetApi)(uint32_t version);
    const char *(*GetVersionString)(void);
} OrtApiBase;

/* Index of each function in the OrtApi table (public onnxruntime_c_api.h). */
#define SLOT(name, index) {index, offsetof(ort_api_t, name)}
#ifdef INSITU_ORT_TEST
#define SLOTS_CONST
#else
#define SLOTS_CONST const
#endif
static SLOTS_CONST struct { int index; size_t offset; } SLOTS[] = {
    SLOT(GetErrorCode, 1), SLOT(GetErrorMessage, 2), SLOT(CreateEnv, 3),
    SLOT(CreateSessionFromArray, 8), SLOT(Run, 9), SLOT(CreateSessionOptions, 10),
    SLOT(SetIntraOpNumThreads, 24), SLOT(SetInterOpNumThreads, 25),
    SLOT(SessionGetInputCount, 30), SLOT(SessionGetOutputCount, 31),
    SLOT(SessionGetInputName, 36), SLOT(SessionGetOutputName, 37),
    SLOT(CreateTensorWithDataAsOrtValue, 49), SLOT(GetTensorMutableData, 51),
    SLOT(GetTensorElementType, 60), SLOT(GetDimensionsCount, 61), SLOT(GetDimensions, 62),
    SLOT(GetTensorShapeElementCount, 64), SLOT(GetTensorTypeAndShape, 65),
    SLOT(GetValueType, 67), SLOT(CreateCpuMemoryInfo, 69),
    SLOT(GetAllocatorWithDefaultOptions, 78), SLOT(ReleaseEnv, 92), SLOT(ReleaseStatus, 93),
    SLOT(ReleaseMemoryInfo, 94), SLOT(ReleaseSession, 95), SLOT(ReleaseValue, 96),
    SLOT(ReleaseTensorTypeAndShapeInfo, 99), SLOT(ReleaseSessionOptions, 100),
    SLOT(AddSessionConfigEntry, 130),
};
#undef SLOT

#ifdef INSITU_ORT_TEST
/* Test builds only: move slot i by delta, as a header of another layout would. */
int ort_api_test_shift(size_t i, int delta) {
    if (i >= sizeof SLOTS / sizeof *SLOTS) return -1;
    SLOTS[i].index += delta;
    return SLOTS[i].index;
}
#endif

/* The probe: y = a * a + b for float a, b of shape [N, 3] (ONNX IR 7, opset 13), as
 * serialized by onnx's helper API. */
static const unsigned char PROBE[] = {
    8, 7, 18, 6, 105, 110, 115, 105, 116, 117, 58, 96, 10, 14, 10, 1, 97, 10, 1, 97, 18,
    1, 116, 34, 3, 77, 117, 108, 10, 14, 10, 1, 116, 10, 1, 98, 18, 1, 121, 34, 3, 65,
    100, 100, 18, 5, 112, 114, 111, 98, 101, 90, 17, 10, 1, 97, 18, 12, 10, 10, 8, 1,
    18, 6, 10, 0, 10, 2, 8, 3, 90, 17, 10, 1, 98, 18, 12, 10, 10, 8, 1, 18, 6, 10, 0,
    10, 2, 8, 3, 98, 17, 10, 1, 121, 18, 12, 10, 10, 8, 1, 18, 6, 10, 0, 10, 2, 8, 3,
    66, 4, 10, 0, 16, 13};

static const char *CODE_NAMES[] = {
    "OK", "FAIL", "INVALID_ARGUMENT", "NO_SUCHFILE", "NO_MODEL", "ENGINE_ERROR",
    "RUNTIME_EXCEPTION", "INVALID_PROTOBUF", "MODEL_LOADED", "NOT_IMPLEMENTED",
    "INVALID_GRAPH", "EP_FAIL"};

int ort_status_text(OrtStatus *st, char *out, size_t outlen) {
    int code = ort.GetErrorCode(st);
    const char *name = code >= 0 && code < (int)(sizeof CODE_NAMES / sizeof *CODE_NAMES)
                           ? CODE_NAMES[code] : "UNKNOWN";
    snprintf(out, outlen, "[ONNXRuntimeError] : %d : %s : %s", code, name,
             ort.GetErrorMessage(st));
    ort.ReleaseStatus(st);
    return code;
}

/* Runs `call`; on a failure, words it into why and returns -1 from the caller. */
#define TRY(call)                                                                  \
    do {                                                                           \
        OrtStatus *st_ = (call);                                                   \
        if (st_ != NULL) {                                                         \
            char text_[400];                                                       \
            ort_status_text(st_, text_, sizeof text_);                             \
            snprintf(why, whylen, "%s failed: %s", #call, text_);                  \
            goto fail;                                                             \
        }                                                                          \
    } while (0)

OrtSessionOptions *ort_session_options(int intra_op, char *why, size_t whylen) {
    OrtSessionOptions *opts = NULL;
    TRY(ort.CreateSessionOptions(&opts));
    if (intra_op > 0) TRY(ort.SetIntraOpNumThreads(opts, intra_op));
    TRY(ort.SetInterOpNumThreads(opts, 1));
    /* Threads that spin while waiting for work burn the CPUs the simulation shares. */
    TRY(ort.AddSessionConfigEntry(opts, "session.intra_op.allow_spinning", "0"));
    TRY(ort.AddSessionConfigEntry(opts, "session.inter_op.allow_spinning", "0"));
    return opts;
fail:
    if (opts) ort.ReleaseSessionOptions(opts);
    return NULL;
}

/* OrtAllocator is a public struct of function pointers: version, Alloc, Free, Info. */
typedef struct {
    uint32_t version;
    void *(*Alloc)(OrtAllocator *, size_t);
    void (*Free)(OrtAllocator *, void *);
} allocator_head;

void ort_free(void *p) {
    ((allocator_head *)(void *)ort_alloc)->Free(ort_alloc, p);
}

static int thread_count(void) {
    int n = 0;
    DIR *dir = opendir("/proc/self/task");
    if (dir == NULL) return -1;
    for (struct dirent *e; (e = readdir(dir)) != NULL;) n += e->d_name[0] != '.';
    closedir(dir);
    return n;
}

static int check(int ok, const char *what, char *why, size_t whylen) {
    if (!ok) snprintf(why, whylen, "the probe model's %s is not as expected", what);
    return ok;
}

/* Every function of the table, on the probe model: names, counts, types, shape, values,
 * and the error codes of a corrupt model and of an input of the wrong type. */
static int probe(char *why, size_t whylen) {
    OrtSessionOptions *opts = ort_session_options(1, why, whylen);
    OrtSession *session = NULL;
    OrtValue *in[2] = {NULL, NULL}, *out = NULL, *bad[2] = {NULL, NULL};
    OrtTensorTypeAndShapeInfo *info = NULL;
    char *name = NULL;
    int ok = 0;
    if (opts == NULL) return -1;
    OrtStatus *st = ort.CreateSessionFromArray(ort_env, "not a model", 11, opts, &session);
    if (!check(st != NULL && ort.GetErrorCode(st) != 0 && strlen(ort.GetErrorMessage(st)) > 0,
               "corrupt twin's error", why, whylen)) {
        if (st) ort.ReleaseStatus(st);
        goto fail;
    }
    ort.ReleaseStatus(st);
    session = NULL;
    TRY(ort.CreateSessionFromArray(ort_env, PROBE, sizeof PROBE, opts, &session));
    size_t n_in = 0, n_out = 0;
    TRY(ort.SessionGetInputCount(session, &n_in));
    TRY(ort.SessionGetOutputCount(session, &n_out));
    if (!check(n_in == 2 && n_out == 1, "input and output count", why, whylen)) goto fail;
    TRY(ort.SessionGetInputName(session, 1, ort_alloc, &name));
    if (!check(strcmp(name, "b") == 0, "input name", why, whylen)) goto fail;
    ort_free(name);
    name = NULL;
    TRY(ort.SessionGetOutputName(session, 0, ort_alloc, &name));
    if (!check(strcmp(name, "y") == 0, "output name", why, whylen)) goto fail;
    ort_free(name);
    name = NULL;
    float a[3] = {1.0f, 2.0f, 3.0f}, b[3] = {10.0f, 20.0f, 30.0f};
    double d[3] = {1.0, 2.0, 3.0};
    int64_t shape[2] = {1, 3};
    const char *ins[] = {"a", "b"}, *outs[] = {"y"};
    TRY(ort.CreateTensorWithDataAsOrtValue(ort_cpu, a, sizeof a, shape, 2, ORT_FLOAT, &in[0]));
    TRY(ort.CreateTensorWithDataAsOrtValue(ort_cpu, b, sizeof b, shape, 2, ORT_FLOAT, &in[1]));
    TRY(ort.Run(session, NULL, ins, (const OrtValue *const *)in, 2, outs, 1, &out));
    int type = -1, elem = -1;
    size_t ndim = 0, count = 0;
    int64_t dims[2] = {0, 0};
    float *y = NULL;
    TRY(ort.GetValueType(out, &type));
    TRY(ort.GetTensorTypeAndShape(out, &info));
    TRY(ort.GetTensorElementType(info, &elem));
    TRY(ort.GetDimensionsCount(info, &ndim));
    if (!check(type == ORT_TYPE_TENSOR && elem == ORT_FLOAT && ndim == 2, "output type", why,
               whylen)) goto fail;
    TRY(ort.GetDimensions(info, dims, 2));
    TRY(ort.GetTensorShapeElementCount(info, &count));
    TRY(ort.GetTensorMutableData(out, (void **)&y));
    if (!check(dims[0] == 1 && dims[1] == 3 && count == 3, "output shape", why, whylen) ||
        !check(y[0] == 11.0f && y[1] == 24.0f && y[2] == 39.0f, "output", why, whylen))
        goto fail;
    TRY(ort.CreateTensorWithDataAsOrtValue(ort_cpu, d, sizeof d, shape, 2, ORT_DOUBLE, &bad[0]));
    TRY(ort.CreateTensorWithDataAsOrtValue(ort_cpu, b, sizeof b, shape, 2, ORT_FLOAT, &bad[1]));
    OrtValue *none = NULL;
    st = ort.Run(session, NULL, ins, (const OrtValue *const *)bad, 2, outs, 1, &none);
    if (!check(st != NULL && ort.GetErrorCode(st) == ORT_INVALID_ARGUMENT,
               "error for an input of the wrong type", why, whylen)) {
        if (st) ort.ReleaseStatus(st);
        if (none) ort.ReleaseValue(none);
        goto fail;
    }
    ort.ReleaseStatus(st);
    /* The thread settings: 3 intra-op threads are the caller's and 2 pool threads. */
    OrtSessionOptions *three = ort_session_options(3, why, whylen);
    OrtSession *pooled = NULL;
    int before = thread_count();
    if (three == NULL) goto fail;
    st = ort.CreateSessionFromArray(ort_env, PROBE, sizeof PROBE, three, &pooled);
    int after = thread_count();
    ort.ReleaseSessionOptions(three);
    if (st) ort.ReleaseStatus(st);
    if (pooled) ort.ReleaseSession(pooled);
    if (!check(st == NULL && after - before == 2, "intra-op thread pool", why, whylen)) goto fail;
    ok = 1;
fail:
    if (name) ort_free(name);
    if (info) ort.ReleaseTensorTypeAndShapeInfo(info);
    if (out) ort.ReleaseValue(out);
    for (int i = 0; i < 2; i++) {
        if (in[i]) ort.ReleaseValue(in[i]);
        if (bad[i]) ort.ReleaseValue(bad[i]);
    }
    if (session) ort.ReleaseSession(session);
    ort.ReleaseSessionOptions(opts);
    return ok ? 0 : -1;
}

static void unload(void) {
    if (ort_cpu) ort.ReleaseMemoryInfo(ort_cpu);
    if (ort_env) ort.ReleaseEnv(ort_env);
    ort_cpu = NULL;
    ort_env = NULL;
    ort_alloc = NULL;
    if (library) dlclose(library);
    library = NULL;
}

/* Load and probe in this process. */
static int load_here(const char *path, char *why, size_t whylen) {
    library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        snprintf(why, whylen, "cannot load %s: %s", path, dlerror());
        return -1;
    }
    const OrtApiBase *(*get_base)(void) =
        (const OrtApiBase *(*)(void))dlsym(library, "OrtGetApiBase");
    const OrtApiBase *base = get_base ? get_base() : NULL;
    if (base == NULL) {
        snprintf(why, whylen, "%s has no OrtGetApiBase: not ONNX Runtime", path);
        goto fail;
    }
    const char *version = base->GetVersionString();
    int major = 0, minor = 0;
    snprintf(ort_version, sizeof ort_version, "%s", version ? version : "");
    if (sscanf(ort_version, "%d.%d", &major, &minor) != 2 || major != 1 ||
        minor < INSITU_ORT_API_VERSION) {
        snprintf(why, whylen, "ONNX Runtime %s is not supported (1.%d or newer is)", ort_version,
                 INSITU_ORT_API_VERSION);
        goto fail;
    }
    void *const *table = (void *const *)base->GetApi(INSITU_ORT_API_VERSION);
    if (table == NULL) {
        snprintf(why, whylen, "ONNX Runtime %s does not serve API version %d", ort_version,
                 INSITU_ORT_API_VERSION);
        goto fail;
    }
    for (size_t i = 0; i < sizeof SLOTS / sizeof *SLOTS; i++) {
        void *fn = table[SLOTS[i].index];
        if (fn == NULL) {
            snprintf(why, whylen, "ONNX Runtime %s lacks function %d", ort_version, SLOTS[i].index);
            goto fail;
        }
        memcpy((char *)&ort + SLOTS[i].offset, &fn, sizeof fn);
    }
    TRY(ort.CreateEnv(ORT_LOGGING_ERROR, "insitu", &ort_env));
    TRY(ort.CreateCpuMemoryInfo(ORT_ARENA_ALLOCATOR, ORT_MEM_DEFAULT, &ort_cpu));
    TRY(ort.GetAllocatorWithDefaultOptions(&ort_alloc));
    if (probe(why, whylen) != 0) goto fail;
    return 0;
fail:
    unload();
    return -1;
}

int ort_api_load(const char *path, char *why, size_t whylen) {
    /* First in a child: a table that is not what this module expects could crash the
     * probe, and the server must start anyway (with the feature off). */
    int fds[2];
    if (pipe(fds) != 0) {
        snprintf(why, whylen, "pipe() failed");
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        snprintf(why, whylen, "fork() failed");
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        char text[512] = "";
        int rc = load_here(path, text, sizeof text);
        if (rc == 0) unload();  /* the release functions are checked too */
        if (rc != 0 && write(fds[1], text, strlen(text)) < 0) rc = 2;
        _exit(rc == 0 ? 0 : 1);
    }
    close(fds[1]);
    char text[512];
    ssize_t n = read(fds[0], text, sizeof text - 1);
    close(fds[0]);
    text[n > 0 ? n : 0] = 0;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            snprintf(why, whylen, "waitpid() failed for the probe");
            return -1;
        }
    }
    if (WIFSIGNALED(status)) {
        snprintf(why, whylen, "the probe of %s died of signal %d", path, WTERMSIG(status));
        return -1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(why, whylen, "%s", text[0] ? text : "the probe failed");
        return -1;
    }
    return load_here(path, why, whylen);
}
