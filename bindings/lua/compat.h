/*
 * compat.h - the few differences between the Lua 5.1 C API (LuaJIT, which
 * OpenResty embeds) and Lua 5.4 that the hookline module meets. Everything
 * else in bindings/lua is written once against the common subset.
 *
 * LuaJIT 2.1 already provides luaL_newlib, luaL_setfuncs, luaL_testudata and
 * luaL_setmetatable, so the 5.1 shims below are guarded on luaL_newlib to
 * apply only to a plain PUC Lua 5.1.
 */
#ifndef HOOKLINE_LUA_COMPAT_H
#define HOOKLINE_LUA_COMPAT_H

#include <lauxlib.h>
#include <lua.h>

#include <math.h>
#include <stdint.h>

#if LUA_VERSION_NUM < 502 && !defined(luaL_newlib)
/* Plain Lua 5.1: none of the 5.2 auxiliary functions exist. */
static inline void luaL_setfuncs(lua_State *L, const luaL_Reg *l, int nup)
{
    luaL_checkstack(L, nup + 1, "too many upvalues");
    for (; l->name != NULL; l++) {
        int i;
        for (i = 0; i < nup; i++)
            lua_pushvalue(L, -nup);
        lua_pushcclosure(L, l->func, nup);
        lua_setfield(L, -(nup + 2), l->name);
    }
    lua_pop(L, nup);
}

#define luaL_newlibtable(L, l) lua_createtable(L, 0, (int)(sizeof(l) / sizeof((l)[0]) - 1))
#define luaL_newlib(L, l) (luaL_newlibtable(L, l), luaL_setfuncs(L, l, 0))

static inline void luaL_setmetatable(lua_State *L, const char *tname)
{
    luaL_getmetatable(L, tname);
    lua_setmetatable(L, -2);
}
#endif

#if LUA_VERSION_NUM < 502
/* Lua 5.1 and LuaJIT name the raw length lua_objlen. */
#ifndef lua_rawlen
#define lua_rawlen(L, i) lua_objlen(L, (i))
#endif
#ifndef lua_absindex
#define lua_absindex(L, i) \
    ((i) > 0 || (i) <= LUA_REGISTRYINDEX ? (i) : lua_gettop(L) + (i) + 1)
#endif
#endif

/*
 * hll_tointeger64 - read the number at `idx` as an exact int64. Returns 1
 * and sets *out when the value is a number with an integral value in range
 * (a 5.4 integer, or a float such as LuaJIT's 1614265330.0), else 0.
 * Strings are not converted: a timestamp given as "123" is a caller bug.
 */
static inline int hll_tointeger64(lua_State *L, int idx, int64_t *out)
{
    lua_Number d;
    if (lua_type(L, idx) != LUA_TNUMBER)
        return 0;
#if LUA_VERSION_NUM >= 503
    if (lua_isinteger(L, idx)) {
        *out = (int64_t)lua_tointeger(L, idx);
        return 1;
    }
#endif
    d = lua_tonumber(L, idx);
    /* 2^63 is exactly representable; the range is [-2^63, 2^63). */
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != floor(d))
        return 0;
    *out = (int64_t)d;
    return 1;
}

#endif /* HOOKLINE_LUA_COMPAT_H */
