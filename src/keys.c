/* Redis key names (see keys.h). */
#include "keys.h"

#include <assert.h>
#include <string.h>

static const struct {
    const char *segment;
    int has_id;
} key_table[] = {
#define X(name, seg, has_id) [KEY_##name] = {seg, has_id},
    STOCKD_KEYS(X)
#undef X
};

static void prefix(struct buf *out, const struct ident *ns, enum key_kind kind)
{
    buf_appendc(out, '{');
    buf_append(out, ns->s.p, ns->s.n);
    buf_append(out, "}:", 2);
    buf_appends(out, key_table[kind].segment);
}

void keys_build(struct buf *out, const struct ident *ns, enum key_kind kind, const struct ident *id)
{
    prefix(out, ns, kind);
    if (key_table[kind].has_id) {
        assert(id != NULL && id->s.n > 0);
        buf_appendc(out, ':');
        buf_append(out, id->s.p, id->s.n);
    }
}

void keys_prefix(struct buf *out, const struct ident *ns, enum key_kind kind)
{
    assert(key_table[kind].has_id);
    prefix(out, ns, kind);
    buf_appendc(out, ':');
}

void keys_pattern(struct buf *out, const struct ident *ns, enum key_kind kind)
{
    prefix(out, ns, kind);
    buf_append(out, ":*", 2);
}

size_t keys_prefix_len(const struct ident *ns, enum key_kind kind)
{
    return ns->s.n + 4 + strlen(key_table[kind].segment); /* "{" "}:" ":" */
}
