/* Strings and identifiers (see ident.h). */
#include "ident.h"

#include <string.h>

bool str_eq(struct str a, struct str b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

int str_cmp(struct str a, struct str b)
{
    size_t n = a.n < b.n ? a.n : b.n;
    int c = n ? memcmp(a.p, b.p, n) : 0;
    return c != 0 ? c : (a.n > b.n) - (a.n < b.n);
}

bool str_split(struct str list, char sep, size_t *at, struct str *field)
{
    if (list.n == 0 || *at > list.n)
        return false;
    const char *from = list.p + *at;
    const char *end = memchr(from, sep, list.n - *at);
    size_t n = end ? (size_t)(end - from) : list.n - *at;
    *field = (struct str){from, n};
    *at += n + 1; /* past the separator, or past the end after the last field */
    return true;
}

/* [A-Za-z0-9._~@/+=-]: nothing that can split or retag a Redis key
 * (':' '{' '}'), no spaces, no control bytes, no quotes. */
static bool ident_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '~' || c == '@' || c == '/' || c == '+' || c == '=' ||
           c == '-';
}

bool ident_check(const char *s, size_t n, struct ident *out)
{
    if (s == NULL || n == 0 || n > IDENT_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!ident_byte((unsigned char)s[i]))
            return false;
    out->s.p = s;
    out->s.n = n;
    return true;
}

bool text_check(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return utf8_valid(s, n);
}

bool utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        unsigned cp;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + len > n)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        /* No overlong forms, no surrogates, nothing past U+10FFFF. */
        if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
            return false;
        i += len;
    }
    return true;
}
