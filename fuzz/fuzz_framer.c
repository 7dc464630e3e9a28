/* Fuzzes the framer. The first two bytes choose the line limit and a chunk
 * size; the rest is fed whole and in chunks, and both ways must give the
 * same lines and the same status (a differential check), and every line
 * must respect the framing rules. */
#include <stdbool.h>
#include <string.h>

#include "framer.h"
#include "fuzz.h"

struct collected {
    struct buf lines; /* each line followed by "\n" */
    size_t max_line;
    size_t count;
};

static int on_line(void *ctx, const char *line, size_t len)
{
    struct collected *c = ctx;
    FUZZ_CHECK(len <= c->max_line);
    FUZZ_CHECK(memchr(line, '\n', len) == NULL);
    /* One CR before the LF is cut; "a\r\r\n" is the line "a\r". */
    bool blank = true;
    for (size_t i = 0; i < len; i++)
        blank &= line[i] == ' ' || line[i] == '\t';
    FUZZ_CHECK(!blank);
    buf_append(&c->lines, line, len);
    buf_appendc(&c->lines, '\n');
    c->count++;
    return 0;
}

static enum framer_status run(const uint8_t *data, size_t size, size_t max_line, size_t chunk,
                              struct collected *out)
{
    struct framer fr;
    framer_init(&fr, max_line);
    buf_init(&out->lines);
    out->max_line = max_line;
    out->count = 0;
    enum framer_status st = FRAMER_OK;
    for (size_t at = 0; at < size && st == FRAMER_OK; at += chunk) {
        size_t n = size - at < chunk ? size - at : chunk;
        st = framer_feed(&fr, (const char *)data + at, n, on_line, out, NULL);
    }
    if (st == FRAMER_OK)
        FUZZ_CHECK(framer_pending(&fr) <= max_line + 1);
    framer_free(&fr);
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t max_line = 1 + data[0] % 64;
    size_t chunk = 1 + data[1] % 16;
    data += 2;
    size -= 2;

    struct collected whole, pieces;
    enum framer_status a = run(data, size, max_line, size ? size : 1, &whole);
    enum framer_status b = run(data, size, max_line, chunk, &pieces);
    FUZZ_CHECK(a == b);
    FUZZ_CHECK(whole.count == pieces.count);
    FUZZ_CHECK(whole.lines.len == pieces.lines.len);
    FUZZ_CHECK(whole.lines.len == 0 || memcmp(whole.lines.data, pieces.lines.data,
                                              whole.lines.len) == 0);
    FUZZ_CHECK(whole.lines.len <= size + whole.count);
    buf_free(&whole.lines);
    buf_free(&pieces.lines);
    return 0;
}
