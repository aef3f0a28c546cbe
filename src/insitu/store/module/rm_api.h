/* The subset of the Valkey/Redis module API this module uses, declared here (the server
 * hands out function pointers by name at load time; see rm_api.c). Only what is used is
 * declared; values of constants are the module ABI's, stable since Redis 6 / Valkey 7. */
#ifndef INSITU_RM_API_H
#define INSITU_RM_API_H

#include <stddef.h>
#include <stdint.h>

/* Everything of this module but RedisModule_OnLoad is hidden: Redis exports its own
 * functions as RM_<name>, which would otherwise take the place of these pointers. */
#pragma GCC visibility push(hidden)

#define RM_OK 0
#define RM_ERR 1
#define RM_APIVER_1 1

#define RM_READ (1 << 0)
#define RM_WRITE (1 << 1)

#define RM_KEYTYPE_EMPTY 0
#define RM_KEYTYPE_STRING 1
#define RM_KEYTYPE_HASH 3

/* Key-spec flags, as RM_ACLCheckKeyPermissions takes them (Redis 7.0 / Valkey 7). */
#define RM_CMD_KEY_ACCESS (1 << 4)
#define RM_CMD_KEY_UPDATE (1 << 5)
#define RM_CMD_KEY_INSERT (1 << 6)

#define RM_HASH_NONE 0
#define RM_HASH_CFIELDS (1 << 2)

#define RM_POSTPONED_LEN (-1L)

#define RM_CTX_FLAGS_MULTI (1 << 1)
#define RM_CTX_FLAGS_CLUSTER (1 << 5)
#define RM_CTX_FLAGS_LOADING (1 << 13)
#define RM_CTX_FLAGS_DENY_BLOCKING (1 << 21)

#define RM_EVENT_CLIENT_CHANGE 4
#define RM_SUBEVENT_CLIENT_DISCONNECTED 1
#define RM_EVENT_FLUSHDB 2

#define RM_NOTIFY_GENERIC (1 << 2)
#define RM_NOTIFY_EXPIRED (1 << 8)
#define RM_NOTIFY_EVICTED (1 << 9)

typedef struct RedisModuleCtx RedisModuleCtx;
typedef struct RedisModuleKey RedisModuleKey;
typedef struct RedisModuleString RedisModuleString;
typedef struct RedisModuleBlockedClient RedisModuleBlockedClient;
typedef struct RedisModuleUser RedisModuleUser;
typedef uint64_t RedisModuleTimerID;
typedef long long mstime_t;

typedef struct RedisModuleEvent {
    uint64_t id;
    uint64_t dataver;
} RedisModuleEvent;

typedef struct RedisModuleClientInfo {
    uint64_t version;
    uint64_t flags;
    uint64_t id;
    char addr[46];
    uint16_t port;
    uint16_t db;
} RedisModuleClientInfo;

typedef int (*RedisModuleCmdFunc)(RedisModuleCtx *ctx, RedisModuleString **argv, int argc);
typedef void (*RedisModuleDisconnectFunc)(RedisModuleCtx *ctx, RedisModuleBlockedClient *bc);
typedef void (*RedisModuleTimerProc)(RedisModuleCtx *ctx, void *data);
typedef void (*RedisModuleEventCallback)(RedisModuleCtx *ctx, RedisModuleEvent eid,
                                         uint64_t subevent, void *data);
typedef int (*RedisModuleNotificationFunc)(RedisModuleCtx *ctx, int type, const char *event,
                                           RedisModuleString *key);

#define RM_FN(ret, name, args) extern ret(*RM_##name) args
RM_FN(int, SetModuleAttribs, (RedisModuleCtx *, const char *, int, int));
RM_FN(int, IsModuleNameBusy, (const char *));
RM_FN(int, CreateCommand, (RedisModuleCtx *, const char *, RedisModuleCmdFunc, const char *,
                           int, int, int));
RM_FN(void *, Alloc, (size_t));
RM_FN(void *, Realloc, (void *, size_t));
RM_FN(void, Free, (void *));
RM_FN(void, AutoMemory, (RedisModuleCtx *));
RM_FN(int, WrongArity, (RedisModuleCtx *));
RM_FN(int, ReplyWithError, (RedisModuleCtx *, const char *));
RM_FN(int, ReplyWithSimpleString, (RedisModuleCtx *, const char *));
RM_FN(int, ReplyWithLongLong, (RedisModuleCtx *, long long));
RM_FN(int, ReplyWithDouble, (RedisModuleCtx *, double));
RM_FN(int, ReplyWithArray, (RedisModuleCtx *, long));
RM_FN(void, ReplySetArrayLength, (RedisModuleCtx *, long));
RM_FN(int, ReplyWithStringBuffer, (RedisModuleCtx *, const char *, size_t));
RM_FN(int, ReplyWithString, (RedisModuleCtx *, RedisModuleString *));
RM_FN(int, ReplyWithNull, (RedisModuleCtx *));
RM_FN(const char *, StringPtrLen, (const RedisModuleString *, size_t *));
RM_FN(RedisModuleString *, CreateString, (RedisModuleCtx *, const char *, size_t));
RM_FN(RedisModuleString *, CreateStringFromString, (RedisModuleCtx *, const RedisModuleString *));
RM_FN(RedisModuleString *, CreateStringPrintf, (RedisModuleCtx *, const char *, ...));
RM_FN(void, FreeString, (RedisModuleCtx *, RedisModuleString *));
RM_FN(int, StringToLongLong, (const RedisModuleString *, long long *));
RM_FN(void *, OpenKey, (RedisModuleCtx *, RedisModuleString *, int));
RM_FN(void, CloseKey, (RedisModuleKey *));
RM_FN(int, KeyType, (RedisModuleKey *));
RM_FN(int, DeleteKey, (RedisModuleKey *));
RM_FN(int, StringSet, (RedisModuleKey *, RedisModuleString *));
RM_FN(char *, StringDMA, (RedisModuleKey *, size_t *, int));
RM_FN(int, HashSet, (RedisModuleKey *, int, ...));
RM_FN(int, HashGet, (RedisModuleKey *, int, ...));
RM_FN(int, ReplicateVerbatim, (RedisModuleCtx *));
RM_FN(int, Replicate, (RedisModuleCtx *, const char *, const char *, ...));
RM_FN(RedisModuleBlockedClient *, BlockClient,
      (RedisModuleCtx *, RedisModuleCmdFunc, RedisModuleCmdFunc,
       void (*)(RedisModuleCtx *, void *), long long));
RM_FN(int, UnblockClient, (RedisModuleBlockedClient *, void *));
RM_FN(void *, GetBlockedClientPrivateData, (RedisModuleCtx *));
RM_FN(RedisModuleBlockedClient *, GetBlockedClientHandle, (RedisModuleCtx *));
RM_FN(void, SetDisconnectCallback, (RedisModuleBlockedClient *, RedisModuleDisconnectFunc));
RM_FN(unsigned long long, GetClientId, (RedisModuleCtx *));
RM_FN(int, GetContextFlags, (RedisModuleCtx *));
RM_FN(int, SubscribeToServerEvent, (RedisModuleCtx *, RedisModuleEvent, RedisModuleEventCallback));
RM_FN(int, SubscribeToKeyspaceEvents, (RedisModuleCtx *, int, RedisModuleNotificationFunc));
RM_FN(RedisModuleTimerID, CreateTimer, (RedisModuleCtx *, mstime_t, RedisModuleTimerProc, void *));
RM_FN(int, StopTimer, (RedisModuleCtx *, RedisModuleTimerID, void **));
RM_FN(long long, Milliseconds, (void));
RM_FN(void, Log, (RedisModuleCtx *, const char *, const char *, ...));
/* Optional (NULL on a server without them): the ACL checks of the run commands' keys. */
RM_FN(RedisModuleString *, GetCurrentUserName, (RedisModuleCtx *));
RM_FN(RedisModuleUser *, GetModuleUserFromUserName, (RedisModuleString *));
RM_FN(int, ACLCheckKeyPermissions, (RedisModuleUser *, RedisModuleString *, int));
RM_FN(int, FreeModuleUser, (RedisModuleUser *));
#undef RM_FN

/* Resolves every pointer above and registers the module; RM_ERR if the server lacks one. */
int rm_init(RedisModuleCtx *ctx, const char *name, int version);

#pragma GCC visibility pop

#endif
