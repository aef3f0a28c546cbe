/* Resolving the module API: the first word of the context the server passes to
 * RedisModule_OnLoad is its "GetApi" function, which fills a pointer by name. */
#include "rm_api.h"

#define RM_DEF(ret, name, args) ret(*RM_##name) args = NULL
RM_DEF(int, SetModuleAttribs, (RedisModuleCtx *, const char *, int, int));
RM_DEF(int, IsModuleNameBusy, (const char *));
RM_DEF(int, CreateCommand, (RedisModuleCtx *, const char *, RedisModuleCmdFunc, const char *,
                            int, int, int));
RM_DEF(void *, Alloc, (size_t));
RM_DEF(void *, Realloc, (void *, size_t));
RM_DEF(void, Free, (void *));
RM_DEF(void, AutoMemory, (RedisModuleCtx *));
RM_DEF(int, WrongArity, (RedisModuleCtx *));
RM_DEF(int, ReplyWithError, (RedisModuleCtx *, const char *));
RM_DEF(int, ReplyWithSimpleString, (RedisModuleCtx *, const char *));
RM_DEF(int, ReplyWithLongLong, (RedisModuleCtx *, long long));
RM_DEF(int, ReplyWithDouble, (RedisModuleCtx *, double));
RM_DEF(int, ReplyWithArray, (RedisModuleCtx *, long));
RM_DEF(void, ReplySetArrayLength, (RedisModuleCtx *, long));
RM_DEF(int, ReplyWithStringBuffer, (RedisModuleCtx *, const char *, size_t));
RM_DEF(int, ReplyWithString, (RedisModuleCtx *, RedisModuleString *));
RM_DEF(int, ReplyWithNull, (RedisModuleCtx *));
RM_DEF(const char *, StringPtrLen, (const RedisModuleString *, size_t *));
RM_DEF(RedisModuleString *, CreateString, (RedisModuleCtx *, const char *, size_t));
RM_DEF(RedisModuleString *, CreateStringFromString, (RedisModuleCtx *, const RedisModuleString *));
RM_DEF(RedisModuleString *, CreateStringPrintf, (RedisModuleCtx *, const char *, ...));
RM_DEF(void, FreeString, (RedisModuleCtx *, RedisModuleString *));
RM_DEF(int, StringToLongLong, (const RedisModuleString *, long long *));
RM_DEF(void *, OpenKey, (RedisModuleCtx *, RedisModuleString *, int));
RM_DEF(void, CloseKey, (RedisModuleKey *));
RM_DEF(int, KeyType, (RedisModuleKey *));
RM_DEF(int, DeleteKey, (RedisModuleKey *));
RM_DEF(int, StringSet, (RedisModuleKey *, RedisModuleString *));
RM_DEF(char *, StringDMA, (RedisModuleKey *, size_t *, int));
RM_DEF(int, HashSet, (RedisModuleKey *, int, ...));
RM_DEF(int, HashGet, (RedisModuleKey *, int, ...));
RM_DEF(int, ReplicateVerbatim, (RedisModuleCtx *));
RM_DEF(int, Replicate, (RedisModuleCtx *, const char *, const char *, ...));
RM_DEF(RedisModuleBlockedClient *, BlockClient,
       (RedisModuleCtx *, RedisModuleCmdFunc, RedisModuleCmdFunc,
        void (*)(RedisModuleCtx *, void *), long long));
RM_DEF(int, UnblockClient, (RedisModuleBlockedClient *, void *));
RM_DEF(void *, GetBlockedClientPrivateData, (RedisModuleCtx *));
RM_DEF(RedisModuleBlockedClient *, GetBlockedClientHandle, (RedisModuleCtx *));
RM_DEF(void, SetDisconnectCallback, (RedisModuleBlockedClient *, RedisModuleDisconnectFunc));
RM_DEF(unsigned long long, GetClientId, (RedisModuleCtx *));
RM_DEF(int, GetContextFlags, (RedisModuleCtx *));
RM_DEF(int, SubscribeToServerEvent, (RedisModuleCtx *, RedisModuleEvent, RedisModuleEventCallback));
RM_DEF(int, SubscribeToKeyspaceEvents, (RedisModuleCtx *, int, RedisModuleNotificationFunc));
RM_DEF(RedisModuleTimerID, CreateTimer, (RedisModuleCtx *, mstime_t, RedisModuleTimerProc, void *));
RM_DEF(int, StopTimer, (RedisModuleCtx *, RedisModuleTimerID, void **));
RM_DEF(long long, Milliseconds, (void));
RM_DEF(void, Log, (RedisModuleCtx *, const char *, const char *, ...));
RM_DEF(RedisModuleString *, GetCurrentUserName, (RedisModuleCtx *));
RM_DEF(RedisModuleUser *, GetModuleUserFromUserName, (RedisModuleString *));
RM_DEF(int, ACLCheckKeyPermissions, (RedisModuleUser *, RedisModuleString *, int));
RM_DEF(int, FreeModuleUser, (RedisModuleUser *));

typedef int (*GetApiFn)(const char *, void *);

int rm_init(RedisModuleCtx *ctx, const char *name, int version) {
    GetApiFn get_api = (GetApiFn)(uintptr_t)((void **)ctx)[0];
#define GET(f) \
    if (get_api("RedisModule_" #f, (void *)&RM_##f) != RM_OK || RM_##f == NULL) return RM_ERR
    GET(SetModuleAttribs); GET(IsModuleNameBusy); GET(CreateCommand); GET(Alloc);
    GET(Realloc); GET(Free); GET(AutoMemory); GET(WrongArity); GET(ReplyWithError);
    GET(ReplyWithSimpleString); GET(ReplyWithLongLong); GET(ReplyWithDouble);
    GET(ReplyWithArray); GET(ReplySetArrayLength); GET(ReplyWithStringBuffer);
    GET(ReplyWithString); GET(ReplyWithNull); GET(StringPtrLen); GET(CreateString);
    GET(CreateStringFromString); GET(CreateStringPrintf); GET(FreeString);
    GET(StringToLongLong); GET(OpenKey); GET(CloseKey); GET(KeyType); GET(DeleteKey);
    GET(StringSet); GET(StringDMA); GET(HashSet); GET(HashGet); GET(ReplicateVerbatim);
    GET(Replicate); GET(BlockClient); GET(UnblockClient); GET(GetBlockedClientPrivateData);
    GET(GetBlockedClientHandle); GET(SetDisconnectCallback); GET(GetClientId);
    GET(GetContextFlags); GET(SubscribeToServerEvent); GET(SubscribeToKeyspaceEvents); GET(CreateTimer); GET(StopTimer);
    GET(Milliseconds); GET(Log);
#undef GET
#define GET_OPTIONAL(f) \
    if (get_api("RedisModule_" #f, (void *)&RM_##f) != RM_OK) RM_##f = NULL
    GET_OPTIONAL(GetCurrentUserName); GET_OPTIONAL(GetModuleUserFromUserName);
    GET_OPTIONAL(ACLCheckKeyPermissions); GET_OPTIONAL(FreeModuleUser);
#undef GET_OPTIONAL
    if (RM_IsModuleNameBusy(name)) return RM_ERR;
    RM_SetModuleAttribs(ctx, name, version, RM_APIVER_1);
    return RM_OK;
}
