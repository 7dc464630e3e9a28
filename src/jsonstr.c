/* JSON string escaping (see jsonstr.h). */
#include "jsonstr.h"

void json_write_string(struct buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    buf_reserve(out, n + 2);
    buf_appendc(out, '"');
    size_t run = 0; /* bytes copied verbatim in one go */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        buf_append(out, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"':
            buf_append(out, "\\\"", 2);
            break;
        case '\\':
            buf_append(out, "\\\\", 2);
            break;
        case '\n':
            buf_append(out, "\\n", 2);
            break;
        case '\r':
            buf_append(out, "\\r", 2);
            break;
        case '\t':
            buf_append(out, "\\t", 2);
            break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            buf_append(out, u, sizeof u);
        }
        }
    }
    buf_append(out, s + run, n - run);
    buf_appendc(out, '"');
}
