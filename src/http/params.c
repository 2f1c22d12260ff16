/* src/http/params.c: query, form and JSON parameters alike (see params.h). */
#include "params.h"

#include "../base/err.h"

#include <cjson/cJSON.h>
#include <string.h>
#include <strings.h>

#define MAX_PARAMS 256

static int add(struct http_ctx *ctx, struct api_params *p, struct str name, struct str value)
{
    if (p->n == MAX_PARAMS)
        return KITH_EINVAL;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        struct api_param *v = arena_alloc(&ctx->arena, cap * sizeof(*v));
        if (p->n)
            memcpy(v, p->v, p->n * sizeof(*v));
        p->v = v;
        p->cap = cap;
    }
    if (name.len > 2 && memcmp(name.ptr + name.len - 2, "[]", 2) == 0)
        name.len -= 2;
    p->v[p->n++] = (struct api_param){name, value};
    return KITH_OK;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int http_pct_decode(struct arena *a, struct str in, struct str *out)
{
    char *o = arena_alloc(a, in.len + 1);
    size_t n = 0;
    for (size_t i = 0; i < in.len; i++) {
        int hi, lo;
        if (in.ptr[i] == '%' && i + 2 < in.len && (hi = hexval(in.ptr[i + 1])) >= 0 &&
            (lo = hexval(in.ptr[i + 2])) >= 0) {
            o[n++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            o[n++] = in.ptr[i] == '+' ? ' ' : in.ptr[i];
        }
    }
    o[n] = 0;
    if (memchr(o, 0, n))
        return KITH_EINVAL;
    *out = str_make(o, n);
    return KITH_OK;
}

static int read_urlencoded(struct http_ctx *ctx, struct str s, struct api_params *p)
{
    const char *q = s.ptr, *end = s.ptr + s.len;
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *pe = amp ? amp : end;
        const char *eq = memchr(q, '=', (size_t)(pe - q));
        struct str name, value = STR_LIT("");
        int rc = http_pct_decode(&ctx->arena, str_make(q, (size_t)((eq ? eq : pe) - q)), &name);
        if (!rc && eq)
            rc = http_pct_decode(&ctx->arena, str_make(eq + 1, (size_t)(pe - eq - 1)), &value);
        if (rc)
            return rc;
        if (name.len && (rc = add(ctx, p, name, value)))
            return rc;
        q = amp ? amp + 1 : end;
    }
    return KITH_OK;
}

static int json_value(struct http_ctx *ctx, struct api_params *p, struct str name, cJSON *v)
{
    if (cJSON_IsString(v))
        return add(ctx, p, name, arena_str(&ctx->arena, str_from(v->valuestring)));
    if (cJSON_IsBool(v))
        return add(ctx, p, name, cJSON_IsTrue(v) ? STR_LIT("true") : STR_LIT("false"));
    if (cJSON_IsNumber(v)) {
        char *num = cJSON_PrintUnformatted(v);
        int rc = num ? add(ctx, p, name, arena_str(&ctx->arena, str_from(num))) : KITH_ENOMEM;
        cJSON_free(num);
        return rc;
    }
    if (cJSON_IsArray(v)) {
        for (cJSON *it = v->child; it; it = it->next) {
            if (cJSON_IsArray(it) || cJSON_IsObject(it))
                continue; /* nested structures: read where needed (polls, media) */
            int rc = json_value(ctx, p, name, it);
            if (rc)
                return rc;
        }
        return KITH_OK;
    }
    if (cJSON_IsObject(v)) { /* poll[options] and the like: name[key] */
        for (cJSON *it = v->child; it; it = it->next) {
            const char *sub =
                arena_printf(&ctx->arena, "%.*s[%s]", (int)name.len, name.ptr, it->string);
            int rc = json_value(ctx, p, str_from(sub), it);
            if (rc)
                return rc;
        }
    }
    return KITH_OK; /* null */
}

int api_params_read(struct http_ctx *ctx, struct api_params *out)
{
    memset(out, 0, sizeof(*out));
    int rc = read_urlencoded(ctx, ctx->query, out);
    if (rc || !ctx->body.len)
        return rc;
    struct str ct = http_header(ctx, "Content-Type");
    if (ct.len >= 16 && strncasecmp(ct.ptr, "application/json", 16) == 0) {
        cJSON *doc = cJSON_ParseWithLength(ctx->body.ptr, ctx->body.len);
        if (!cJSON_IsObject(doc)) {
            cJSON_Delete(doc);
            return KITH_EINVAL;
        }
        for (cJSON *it = doc->child; it && !rc; it = it->next)
            rc = json_value(ctx, out, arena_str(&ctx->arena, str_from(it->string)), it);
        cJSON_Delete(doc);
        return rc;
    }
    if (!ct.len ||
        (ct.len >= 33 && strncasecmp(ct.ptr, "application/x-www-form-urlencoded", 33) == 0))
        return read_urlencoded(ctx, ctx->body, out);
    return KITH_OK; /* multipart (media) is read by its own route */
}

struct str api_param_at(const struct api_params *p, const char *name, size_t i)
{
    for (size_t k = 0; k < p->n; k++)
        if (str_eq_cstr(p->v[k].name, name) && i-- == 0)
            return p->v[k].value;
    return STR_NULL;
}

struct str api_param(const struct api_params *p, const char *name)
{
    return api_param_at(p, name, 0);
}
