/* src/http/params.c: query, form and JSON parameters alike (see params.h). */
#include "params.h"

#include "../base/err.h"

#include <cjson/cJSON.h>
#include <stdio.h>
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
    p->v[p->n++] = (struct api_param){name, value, STR_NULL, STR_NULL};
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
        int i = 0;
        for (cJSON *it = v->child; it; it = it->next, i++) {
            int rc = KITH_OK;
            if (cJSON_IsObject(it)) { /* fields_attributes: [{name, value}] as name[i][key] */
                const char *sub = arena_printf(&ctx->arena, "%.*s[%d]", (int)name.len, name.ptr, i);
                rc = json_value(ctx, p, str_from(sub), it);
            } else if (!cJSON_IsArray(it)) {
                rc = json_value(ctx, p, name, it);
            }
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

/* The value of attribute attr (name="...") in a header's value. */
static struct str header_attr(struct str h, const char *attr)
{
    size_t n = strlen(attr);
    for (size_t i = 0; i + n + 1 < h.len; i++) {
        if ((i == 0 || h.ptr[i - 1] == ' ' || h.ptr[i - 1] == ';') &&
            strncasecmp(h.ptr + i, attr, n) == 0 && h.ptr[i + n] == '=') {
            const char *v = h.ptr + i + n + 1, *end = h.ptr + h.len;
            if (v < end && *v == '"') {
                const char *q = memchr(v + 1, '"', (size_t)(end - v - 1));
                return q ? str_make(v + 1, (size_t)(q - v - 1)) : STR_NULL;
            }
            const char *e = v;
            while (e < end && *e != ';' && *e != ' ')
                e++;
            return str_make(v, (size_t)(e - v));
        }
    }
    return STR_NULL;
}

/* multipart/form-data (RFC 7578): each part's name, filename, type and bytes. */
static int read_multipart(struct http_ctx *ctx, struct str ct, struct api_params *p)
{
    struct str boundary = header_attr(ct, "boundary");
    if (!boundary.len || boundary.len > 200)
        return KITH_EINVAL;
    char delim[210];
    int dl = snprintf(delim, sizeof(delim), "--%.*s", (int)boundary.len, boundary.ptr);
    const char *s = ctx->body.ptr, *end = s + ctx->body.len;
    const char *at = memmem(s, (size_t)(end - s), delim, (size_t)dl);
    if (!at)
        return KITH_EINVAL;
    for (;;) {
        s = at + dl;
        if (end - s >= 2 && s[0] == '-' && s[1] == '-')
            return KITH_OK; /* the closing delimiter */
        if (end - s < 2 || s[0] != '\r' || s[1] != '\n')
            return KITH_EINVAL;
        s += 2;
        const char *hend = memmem(s, (size_t)(end - s), "\r\n\r\n", 4);
        if (!hend)
            return KITH_EINVAL;
        struct str disp = STR_NULL, type = STR_NULL;
        for (const char *line = s; line < hend;) {
            const char *le = memmem(line, (size_t)(hend + 2 - line), "\r\n", 2);
            if (!le)
                le = hend;
            struct str l = str_make(line, (size_t)(le - line));
            if (l.len > 20 && strncasecmp(l.ptr, "Content-Disposition:", 20) == 0)
                disp = str_trim(str_make(l.ptr + 20, l.len - 20));
            else if (l.len > 13 && strncasecmp(l.ptr, "Content-Type:", 13) == 0)
                type = str_trim(str_make(l.ptr + 13, l.len - 13));
            line = le + 2;
        }
        const char *body = hend + 4;
        char next[214];
        int nl = snprintf(next, sizeof(next), "\r\n%s", delim);
        const char *bend = memmem(body, (size_t)(end - body), next, (size_t)nl);
        if (!bend)
            return KITH_EINVAL;
        struct str name = header_attr(disp, "name");
        if (name.len) {
            int rc =
                add(ctx, p, arena_str(&ctx->arena, name), str_make(body, (size_t)(bend - body)));
            if (rc)
                return rc;
            struct api_param *e = &p->v[p->n - 1];
            e->filename = header_attr(disp, "filename");
            e->content_type = type;
        }
        at = bend + 2;
    }
}

const struct api_param *api_param_entry(const struct api_params *p, const char *name)
{
    for (size_t k = 0; k < p->n; k++)
        if (str_eq_cstr(p->v[k].name, name))
            return &p->v[k];
    return NULL;
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
    if (ct.len >= 19 && strncasecmp(ct.ptr, "multipart/form-data", 19) == 0)
        return read_multipart(ctx, ct, out);
    return KITH_OK; /* another type: only the query string counts */
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
