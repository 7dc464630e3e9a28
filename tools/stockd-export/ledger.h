/* The ledger as the exporter reads it, without Redis or PostgreSQL: stream
 * ids, one entry of {ns}:events turned into a table row, and the arithmetic
 * that finds entries trimmed away before they were exported (a gap). Pure:
 * the unit tests feed it plain arrays. */
#ifndef STOCKD_EXPORT_LEDGER_H
#define STOCKD_EXPORT_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ident.h" /* struct str */

/* A Redis stream id, "<ms>-<seq>". */
struct stream_id {
    uint64_t ms;
    uint64_t seq;
};

/* "18446744073709551615-18446744073709551615" and its NUL. */
#define STREAM_ID_MAX 42

/* Parses "<ms>-<seq>" (both decimal, no sign, no leading '+'). Returns
 * false for anything else, including a missing "-<seq>". */
bool stream_id_parse(const char *s, size_t n, struct stream_id *out);
/* Writes id as "<ms>-<seq>" into out (STREAM_ID_MAX bytes); returns out. */
char *stream_id_format(struct stream_id id, char *out);
/* <0, 0, >0 as a is before, equal to or after b. */
int stream_id_cmp(struct stream_id a, struct stream_id b);
/* The greatest id before id (id must not be 0-0). */
struct stream_id stream_id_prev(struct stream_id id);

/* The fields of a ledger entry, in the order stockd writes them (lua/lib/
 * common.lua `ledger`), and the table's columns after the id columns.
 * X(enum name, field name) */
#define LEDGER_FIELDS(X)                                                                           \
    X(TYPE, "type")                                                                                \
    X(SKU, "sku")                                                                                  \
    X(LOCATION, "location")                                                                        \
    X(QUANTITY, "quantity")                                                                        \
    X(RESERVATION, "reservation")                                                                  \
    X(REASON, "reason")

enum ledger_field {
#define X(name, text) LF_##name,
    LEDGER_FIELDS(X)
#undef X
        LF_COUNT
};

/* The name of a field ("type", ...). */
const char *ledger_field_name(enum ledger_field f);

/* What was wrong with an entry; a row is written anyway (an entry that can
 * never be written would stop the export for good), with NULL where a
 * value is missing or unusable. */
enum {
    ROW_MISSING_FIELD = 1 << 0,   /* a field stockd always writes is absent */
    ROW_BAD_QUANTITY = 1 << 1,    /* quantity is not a whole number in bigint's range */
    ROW_BAD_TEXT = 1 << 2,        /* a value is not UTF-8, or holds a NUL byte */
    ROW_UNKNOWN_FIELD = 1 << 3,   /* a field stockd does not write (ignored) */
    ROW_DUPLICATE_FIELD = 1 << 4, /* a field given twice (the first is kept) */
    ROW_BIG_ID = 1 << 5, /* an id (written by hand) beyond bigint: ms and seq are clamped */
};

/* One entry as a table row. The values are borrowed from the reply the
 * entry came in, and are valid while it is. */
struct ledger_row {
    struct stream_id id;
    char id_text[STREAM_ID_MAX];
    struct str value[LF_COUNT]; /* p == NULL: NULL in the table */
    long long quantity;         /* when value[LF_QUANTITY].p != NULL */
    unsigned problems;          /* ROW_* */
};

/* Fills row from an entry: its id and its n_pairs (field, value) pairs.
 * The empty reservation and reason ('' for none in the ledger) become NULL.
 * Returns false when the id is not a stream id (nothing else is fatal:
 * row->problems says what was odd). */
bool ledger_row_read(struct ledger_row *row, struct str id, const struct str *pairs,
                     size_t n_pairs);

/* What XINFO STREAM says of the ledger. */
struct stream_info {
    long long length;        /* entries in the stream now */
    long long entries_added; /* entries ever added (Redis 7.0) */
    bool has_first;          /* the stream is not empty */
    struct stream_id first;  /* its first entry */
    struct stream_id last_generated;
};

/* What XINFO GROUPS says of the export group. */
struct group_info {
    struct stream_id last_delivered;
    bool lag_known; /* Redis 7.0, and no deletion it cannot count */
    long long lag;  /* entries added after last_delivered, by Redis's count */
    long long pending;
};

/* A gap: entries added after the group's last delivered id that were
 * removed before they were delivered. Trimming keeps no record of the ids
 * it removed, so the bounds are exclusive: every missing id is after
 * `after` and, when before_known, before `before` (the first entry that is
 * left); the exact first and last missing ids are not known. */
struct ledger_gap {
    long long missing;
    struct stream_id after;
    bool before_known; /* false: the stream is empty, nothing was left */
    struct stream_id before;
};

/* Compares the count Redis keeps of the entries the group has not read yet
 * with the entries that are there. Returns true and fills *gap when some
 * are missing; false when none are, or when it cannot be told (lag
 * unknown: *countable is then false). Only head trimming is detected:
 * entries deleted one by one (XDEL) after the first entry are not. */
bool ledger_gap_find(const struct stream_info *s, const struct group_info *g,
                     struct ledger_gap *gap, bool *countable);

/* The group's read counter as it should be once a read that started at
 * the group's last delivered id has returned n_read entries ending at
 * last_read (the first n_read entries of the stream, since the read began
 * after a gap): entries ever added before the first entry, plus those read.
 * When nothing was read and the stream is empty, the group is put at the
 * last generated id. XGROUP SETID ... ENTRIESREAD takes these, so that
 * Redis's lag counts only what is really left. */
void ledger_gap_repair(const struct stream_info *s, struct stream_id last_read, long long n_read,
                       struct stream_id *id, long long *entries_read);

/* The text of a timestamptz for an id's ms: "YYYY-MM-DD HH:MM:SS.mmm+00"
 * into out (at least 40 bytes). */
void ledger_time_text(uint64_t ms, char *out, size_t n);

#endif
