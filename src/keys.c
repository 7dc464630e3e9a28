/* Redis key names (see keys.h). */
#include "keys.h"

#include <string.h>

static const struct {
    const char *segment;
    int has_id;
} key_table[] = {
#define X(name, seg, has_id) [KEY_##name] = {seg, has_id},
    STOCKD_KEYS(X)
#undef X
};

void keys_build(struct buf *out, const struct ident *ns, enum key_kind kind, const struct ident *id)
{
    buf_appendc(out, '{');
    buf_append(out, ns->p, ns->n);
    buf_append(out, "}:", 2);
    buf_appends(out, key_table[kind].segment);
    if (key_table[kind].has_id) {
        buf_appendc(out, ':');
        buf_append(out, id->p, id->n);
    }
}

void keys_pattern(struct buf *out, const struct ident *ns, enum key_kind kind)
{
    buf_appendc(out, '{');
    buf_append(out, ns->p, ns->n);
    buf_append(out, "}:", 2);
    buf_appends(out, key_table[kind].segment);
    buf_append(out, ":*", 2);
}

size_t keys_prefix_len(const struct ident *ns, enum key_kind kind)
{
    return ns->n + 4 + strlen(key_table[kind].segment); /* "{" "}:" ":" */
}
