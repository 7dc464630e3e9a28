/* The method table (see methods.h). */
#include "methods.h"

#include <string.h>

static const struct {
    const char *name;
    unsigned flags;
} method_table[METHOD_COUNT + 1] = {
#define X(name, wire, handler, flags) [METHOD_##name] = {wire, flags},
    STOCKD_METHODS(X)
#undef X
        [METHOD_COUNT] = {"unknown", 0},
};

int method_lookup(const char *name)
{
    for (int m = 0; m < METHOD_COUNT; m++)
        if (strcmp(method_table[m].name, name) == 0)
            return m;
    return -1;
}

const char *method_name(enum method_id m)
{
    return method_table[m >= 0 && m < METHOD_COUNT ? m : METHOD_COUNT].name;
}

unsigned method_flags(enum method_id m)
{
    return method_table[m >= 0 && m < METHOD_COUNT ? m : METHOD_COUNT].flags;
}
