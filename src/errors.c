/* The error table (see errors.h). */
#include "errors.h"

static const struct {
    int code;
    const char *reason;
    const char *message;
} error_table[E_COUNT] = {
    [E_NONE] = {0, "ok", ""},
#define X(name, code, reason, msg) [E_##name] = {code, reason, msg},
    STOCKD_ERRORS(X)
#undef X
};

static enum error_id known(enum error_id e)
{
    return e >= E_NONE && e < E_COUNT ? e : E_INTERNAL;
}

int error_code(enum error_id e)
{
    return error_table[known(e)].code;
}

const char *error_reason(enum error_id e)
{
    return error_table[known(e)].reason;
}

const char *error_message(enum error_id e)
{
    return error_table[known(e)].message;
}
