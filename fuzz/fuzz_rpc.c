/* Fuzzes the JSON-RPC decoder and the response writers. Whatever the line,
 * decoding ends in a result or an error; every response written (result
 * or error, to whatever id was read) is one line of valid UTF-8 JSON that
 * parses back to the same id. */
#include <string.h>

#include "fuzz.h"
#include "rpc.h"

static void check_response(const struct buf *out, const struct rpc_id *id)
{
    FUZZ_CHECK(out->len > 0 && out->data[out->len - 1] == '\n');
    FUZZ_CHECK(memchr(out->data, '\n', out->len - 1) == NULL);
    FUZZ_CHECK(utf8_valid((const unsigned char *)out->data, out->len));
    cJSON *j = cJSON_ParseWithLength(out->data, out->len - 1);
    FUZZ_CHECK(j != NULL);
    const cJSON *got = cJSON_GetObjectItemCaseSensitive(j, "id");
    switch (id->kind) {
    case RPC_ID_INT:
        FUZZ_CHECK(cJSON_IsNumber(got) && (long long)got->valuedouble == id->num);
        break;
    case RPC_ID_STRING:
        FUZZ_CHECK(cJSON_IsString(got) && strcmp(got->valuestring, id->str) == 0);
        break;
    default:
        FUZZ_CHECK(cJSON_IsNull(got));
    }
    cJSON_Delete(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rpc_request req;
    struct rpc_error err;
    int rc = rpc_decode((const char *)data, size, &req, &err);
    struct buf out;
    buf_init(&out);
    if (rc == 0) {
        FUZZ_CHECK(req.method != NULL);
        FUZZ_CHECK(req.params == NULL || cJSON_IsObject(req.params));
        FUZZ_CHECK(req.id.kind != RPC_ID_NULL);
        rpc_write_result_begin(&out, &req.id);
        buf_appends(&out, "{}");
        rpc_write_result_end(&out);
    } else {
        FUZZ_CHECK(rc < 0 && err.id > E_NONE && err.id < E_COUNT);
        FUZZ_CHECK(-rc == (int)err.id);
        rpc_write_error(&out, &req.id, &err);
    }
    check_response(&out, &req.id);
    buf_free(&out);
    rpc_request_free(&req);
    return 0;
}
