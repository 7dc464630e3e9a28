/* JSON-RPC 2.0 envelope decoding and response writing (see rpc.h). cJSON is
 * lenient where the protocol is strict (trailing bytes, duplicate keys, NUL
 * in strings, raw control bytes), so a pre-scan and a tree walk close those
 * gaps before anything looks at the values. */
#include "rpc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int rpc_error_set(struct rpc_error *err, enum error_id id)
{
    memset(err, 0, sizeof *err);
    err->id = id;
    return -(int)id;
}

int rpc_error_param(struct rpc_error *err, const char *field, const char *message)
{
    rpc_error_set(err, E_INVALID_PARAMS);
    err->has_field = true;
    size_t n = strlen(field);
    if (n >= sizeof err->field) {
        /* Cut at a character boundary: the answer stays valid UTF-8. */
        n = sizeof err->field - 1;
        while (n > 0 && ((unsigned char)field[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(err->field, field, n);
    err->field[n] = '\0';
    err->message = message;
    return -E_INVALID_PARAMS;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Checks the JSON number grammar at p[*i] (cJSON also takes "01", "1." and
 * ".5"): -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? . Advances *i to the
 * last byte of the number. */
static bool number_ok(const char *p, size_t n, size_t *i)
{
    size_t k = *i;
    if (k < n && p[k] == '-')
        k++;
    if (k >= n || !is_digit(p[k]))
        return false;
    if (p[k] == '0') {
        k++;
        if (k < n && is_digit(p[k]))
            return false;
    } else {
        while (k < n && is_digit(p[k]))
            k++;
    }
    if (k < n && p[k] == '.') {
        k++;
        if (k >= n || !is_digit(p[k]))
            return false;
        while (k < n && is_digit(p[k]))
            k++;
    }
    if (k < n && (p[k] == 'e' || p[k] == 'E')) {
        k++;
        if (k < n && (p[k] == '+' || p[k] == '-'))
            k++;
        if (k >= n || !is_digit(p[k]))
            return false;
        while (k < n && is_digit(p[k]))
            k++;
    }
    *i = k - 1;
    return true;
}

/* Walks the raw bytes once, closing the gaps where cJSON is more lenient
 * than JSON: control bytes (cJSON skips any byte up to 0x20 as white space
 * and keeps them raw inside strings), the number grammar, invalid UTF-8,
 * and the \u0000 escape that cJSON would silently turn into a truncated
 * string. Also bounds the nesting depth before cJSON recurses, and tells
 * whether the request object's id is a number written with a fraction or an
 * exponent (cJSON reads 1.0 and 1e2 as whole numbers, and an id is echoed
 * as it was sent). Returns 0 or a negative error. */
static int prescan(const char *p, size_t n, struct rpc_error *err, bool *id_not_integer)
{
    int depth = 0;
    bool in_string = false;
    size_t str_at = 0;
    bool key_is_id = false, value_is_id = false;
    *id_not_integer = false;
    if (!utf8_valid((const unsigned char *)p, n))
        goto bad_json;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (in_string) {
            if (c < 0x20)
                goto bad_json;
            if (c == '\\') {
                if (i + 1 >= n)
                    goto bad_json;
                if (p[i + 1] == 'u' && i + 5 < n && memcmp(p + i + 2, "0000", 4) == 0) {
                    rpc_error_set(err, E_INVALID_REQUEST);
                    err->message = "Strings must not contain NUL characters.";
                    return -E_INVALID_REQUEST;
                }
                i++;
            } else if (c == '"') {
                in_string = false;
                key_is_id = depth == 1 && i - str_at == 3 && memcmp(p + str_at, "\"id", 3) == 0;
            }
            continue;
        }
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            goto bad_json;
        if (c == ':') {
            value_is_id = key_is_id;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
            continue;
        bool id_value = value_is_id;
        value_is_id = false;
        if (c == '"') {
            in_string = true;
            str_at = i;
        } else if (c == '-' || is_digit((char)c)) {
            size_t start = i;
            if (!number_ok(p, n, &i))
                goto bad_json;
            if (id_value)
                for (size_t k = start; k <= i && k < n; k++)
                    if (p[k] == '.' || p[k] == 'e' || p[k] == 'E')
                        *id_not_integer = true;
        } else if (c == '[' || c == '{') {
            if (++depth > RPC_MAX_DEPTH) {
                rpc_error_set(err, E_INVALID_REQUEST);
                err->message = "The request is nested too deeply.";
                return -E_INVALID_REQUEST;
            }
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return 0;
bad_json:
    return rpc_error_set(err, E_PARSE);
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* True when some object in the tree holds the same key twice. Keys compare
 * byte for byte: the protocol's keys are case-sensitive. Sorting keeps a
 * line with thousands of keys from costing quadratic time. */
static bool has_duplicate_keys(const cJSON *node)
{
    for (; node != NULL; node = node->next) {
        if (cJSON_IsObject(node) && node->child != NULL && node->child->next != NULL) {
            size_t n = 0;
            for (const cJSON *m = node->child; m != NULL; m = m->next)
                n++;
            const char *small[16];
            const char **keys = n <= 16 ? small : xmalloc(n * sizeof *keys);
            size_t i = 0;
            for (const cJSON *m = node->child; m != NULL; m = m->next)
                keys[i++] = m->string;
            qsort(keys, n, sizeof *keys, key_cmp);
            bool dup = false;
            for (i = 1; i < n && !dup; i++)
                dup = strcmp(keys[i - 1], keys[i]) == 0;
            if (keys != small)
                free(keys);
            if (dup)
                return true;
        }
        if (node->child != NULL && has_duplicate_keys(node->child))
            return true;
    }
    return false;
}

/* JSON integers travel as doubles; an id is only accepted when the double is
 * exactly a whole number below 2^53 in magnitude, so it echoes unchanged. */
static bool whole_number(const cJSON *v, long long *out)
{
    if (!cJSON_IsNumber(v))
        return false;
    double d = v->valuedouble;
    /* 2^53 itself is out: 2^53 + 1 parses to it and would echo changed. */
    if (!isfinite(d) || d != floor(d) || fabs(d) >= 9007199254740992.0)
        return false;
    *out = (long long)d;
    return true;
}

static int invalid_request(struct rpc_error *err, const char *message)
{
    rpc_error_set(err, E_INVALID_REQUEST);
    err->message = message;
    return -E_INVALID_REQUEST;
}

int rpc_decode(const char *line, size_t len, struct rpc_request *req, struct rpc_error *err)
{
    memset(req, 0, sizeof *req);
    req->id.kind = RPC_ID_NULL;

    bool id_not_integer;
    int rc = prescan(line, len, err, &id_not_integer);
    if (rc != 0)
        return rc;

    const char *end = NULL;
    req->root = cJSON_ParseWithLengthOpts(line, len, &end, 0);
    if (req->root == NULL)
        return rpc_error_set(err, E_PARSE);
    while (end < line + len && (*end == ' ' || *end == '\t'))
        end++;
    if (end != line + len)
        return rpc_error_set(err, E_PARSE);

    const cJSON *root = req->root;
    if (cJSON_IsArray(root))
        return invalid_request(err, "Batches are not supported.");
    if (!cJSON_IsObject(root))
        return invalid_request(err, "The request must be a JSON object.");

    /* The id first, so that every later error can be answered to it (or,
     * for a notification, not answered at all). */
    const cJSON *id = NULL;
    int n_ids = 0;
    for (const cJSON *m = root->child; m != NULL; m = m->next)
        if (strcmp(m->string, "id") == 0) {
            id = m;
            n_ids++;
        }
    if (n_ids > 1)
        return invalid_request(err, "The request holds a duplicate key.");
    if (id == NULL) {
        req->id.kind = RPC_ID_NONE;
    } else if (cJSON_IsString(id)) {
        req->id.kind = RPC_ID_STRING;
        req->id.str = id->valuestring;
    } else if (!id_not_integer && whole_number(id, &req->id.num)) {
        req->id.kind = RPC_ID_INT;
    } else {
        return invalid_request(err, "id must be a string or an integer below 2^53.");
    }

    if (has_duplicate_keys(root))
        return invalid_request(err, "The request holds a duplicate key.");

    const cJSON *version = NULL, *method = NULL, *params = NULL;
    for (const cJSON *m = root->child; m != NULL; m = m->next) {
        if (strcmp(m->string, "id") == 0)
            continue;
        else if (strcmp(m->string, "jsonrpc") == 0)
            version = m;
        else if (strcmp(m->string, "method") == 0)
            method = m;
        else if (strcmp(m->string, "params") == 0)
            params = m;
        else
            return invalid_request(err, "Unknown member in the request object.");
    }

    if (version != NULL && !(cJSON_IsString(version) && strcmp(version->valuestring, "2.0") == 0))
        return invalid_request(err, "jsonrpc must be \"2.0\".");
    if (!cJSON_IsString(method))
        return invalid_request(err, "method must be a string.");
    if (params != NULL && !cJSON_IsObject(params)) {
        if (cJSON_IsNull(params))
            params = NULL;
        else
            return invalid_request(err, "params must be an object.");
    }
    req->method = method->valuestring;
    req->params = params;
    return 0;
}

void rpc_request_free(struct rpc_request *req)
{
    cJSON_Delete(req->root);
    req->root = NULL;
}

static void write_id(struct buf *out, const struct rpc_id *id)
{
    buf_appends(out, "{\"jsonrpc\":\"2.0\",\"id\":");
    switch (id->kind) {
    case RPC_ID_INT:
        buf_append_int(out, id->num);
        break;
    case RPC_ID_STRING:
        json_write_string(out, id->str, strlen(id->str));
        break;
    default:
        buf_appends(out, "null");
    }
}

void rpc_write_result_begin(struct buf *out, const struct rpc_id *id)
{
    write_id(out, id);
    buf_appends(out, ",\"result\":");
}

void rpc_write_result_end(struct buf *out)
{
    buf_append(out, "}\n", 2);
}

void rpc_write_error(struct buf *out, const struct rpc_id *id, const struct rpc_error *err)
{
    enum error_id e = err->id > E_NONE && err->id < E_COUNT ? err->id : E_INTERNAL;
    const char *message = err->message ? err->message : error_message(e);
    const char *reason = err->reason ? err->reason : error_reason(e);

    write_id(out, id);
    buf_appends(out, ",\"error\":{\"code\":");
    buf_append_int(out, error_code(e));
    buf_appends(out, ",\"message\":");
    json_write_string(out, message, strlen(message));
    buf_appends(out, ",\"data\":{\"reason\":");
    json_write_string(out, reason, strlen(reason));
    if (err->has_field) {
        buf_appends(out, ",\"field\":");
        json_write_string(out, err->field, strlen(err->field));
    }
    if (err->sku.p != NULL) {
        buf_appends(out, ",\"sku\":");
        json_write_string(out, err->sku.p, err->sku.n);
    }
    if (err->location.p != NULL) {
        buf_appends(out, ",\"location\":");
        json_write_string(out, err->location.p, err->location.n);
    }
    if (err->has_quantities) {
        buf_appends(out, ",\"requested\":");
        buf_append_int(out, err->requested);
        buf_appends(out, ",\"available\":");
        buf_append_int(out, err->available);
    }
    if (err->has_reserved) {
        buf_appends(out, ",\"reserved\":");
        buf_append_int(out, err->reserved);
    }
    if (err->has_held) {
        buf_appends(out, ",\"held\":");
        buf_append_int(out, err->held);
    }
    if (err->status.p != NULL) {
        buf_appends(out, ",\"status\":");
        json_write_string(out, err->status.p, err->status.n);
    }
    if (err->explain.p != NULL) {
        buf_appends(out, ",\"explain\":");
        buf_append(out, err->explain.p, err->explain.n);
    }
    buf_appends(out, "}}}\n");
}
