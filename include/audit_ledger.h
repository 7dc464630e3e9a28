/* The ledger half of stock.audit (audit.h), the part that needs no Redis:
 * the ledger stream {ns}:events replayed from empty into sums per (sku,
 * location), the comparison of those sums with the stock counts, and the
 * JSON of the audit's result. Pure. */
#ifndef STOCKD_AUDIT_LEDGER_H
#define STOCKD_AUDIT_LEDGER_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "ident.h"

/* How a ledger entry of quantity q moves the counts of its (sku, location):
 * X(type, on_hand, reserved), each in units of q. The replay rule, declared
 * once; an entry of any other type cannot be replayed. */
#define AUDIT_LEDGER_TYPES(X)                                                                      \
    X("reserve", 0, 1)  /* a hold */                                                               \
    X("release", 0, -1) /* a hold given back */                                                    \
    X("expire", 0, -1)  /* a hold given back at or past its deadline */                            \
    X("commit", -1, -1) /* held units sold */                                                      \
    X("restock", 1, 0)  /* a committed order given back */                                         \
    X("set", 1, 0)      /* stock.set: q is the change it made to on_hand */                        \
    X("adjust", 1, 0)   /* stock.adjust: q is the delta */

/* The most ledger differences a result lists (the others are counted). */
#define AUDIT_LEDGER_LIST 1000

struct ledger_move {
    long long on_hand, reserved;
};

/* Fills *out with the move of an entry of this type and quantity (the
 * entry's text: a whole number, maybe negative). Returns 0, or -1 when the
 * type is not one of AUDIT_LEDGER_TYPES or the quantity is not a whole
 * number that fits. */
int audit_ledger_move(struct str type, struct str quantity, struct ledger_move *out);

/* The sums, per (sku, location), of the entries replayed so far, and which
 * skus the audit has checked. Names are copied in. */
struct audit_ledger;

/* A new, empty book; free it with audit_ledger_free (NULL is fine there). */
struct audit_ledger *audit_ledger_new(void);
void audit_ledger_free(struct audit_ledger *l);
/* Adds a move to the sums of (sku, location). Returns 0, or -1 when a sum
 * would leave the range of long long (nothing is added then). */
int audit_ledger_add(struct audit_ledger *l, struct str sku, struct str location,
                     const struct ledger_move *m);
/* The index of sku in the book, added with no locations when absent. */
int audit_ledger_sku(struct audit_ledger *l, struct str sku);
/* The index of sku, or -1 when the book does not have it. */
int audit_ledger_find(const struct audit_ledger *l, struct str sku);
/* The number of skus; indexes are 0..count-1 in the order they came. */
int audit_ledger_count(const struct audit_ledger *l);
/* Sku i's name, borrowed until the next change of the book. */
struct str audit_ledger_name(const struct audit_ledger *l, int i);
bool audit_ledger_checked(const struct audit_ledger *l, int i);
void audit_ledger_set_checked(struct audit_ledger *l, int i);

/* One location's counts in a stock hash. */
struct ledger_row {
    struct str location;
    long long on_hand, reserved;
};

/* An entry after the book's last one, read at the same moment as the rows. */
struct ledger_tail {
    struct str location;
    struct ledger_move move;
};

/* The ledger's findings, gathered over the audit's calls. */
struct audit_ledger_report {
    bool replayed;           /* false: the ledger could not be replayed (why says why) */
    long long entries;       /* replayed: the entries the comparisons covered;
                              * else what the ledger held when that was found */
    struct buf differences;  /* owned: the list body, AUDIT_LEDGER_LIST objects at most */
    long long n_differences; /* found, listed or not */
    char why[256];
};

/* Compares sku's stock rows (every location of its hash with a count)
 * with the book's sums plus tail (sku's entries after the book's last one,
 * taken at the same moment as the rows): every location either names must
 * have on_hand and reserved equal to the replay's, a location one of them
 * does not name counting 0 there. Each location that differs is added to
 * the report (counted, and listed while there is room), in location
 * order. Returns the number found. */
long long audit_ledger_compare(const struct audit_ledger *l, struct str sku,
                               const struct ledger_row *rows, size_t n_rows,
                               const struct ledger_tail *tail, size_t n_tail,
                               struct audit_ledger_report *r);

/* The result of stock.audit:
 *   {"ok","skus_checked","holds","differences":[...],"stale_index":[...],
 *    "late_due":[...],"ledger":{"replayed","entries","differences":[...],
 *    "omitted"?,"why"?}}
 * where the three lists are bodies made by result.h's result_audit_*; ok
 * is true when they are empty and the ledger found no difference; omitted
 * (the differences not listed) only when some are, why only when the
 * ledger was not replayed. */
void audit_ledger_result(struct buf *out, long long skus_checked, long long holds,
                         const struct buf *differences, const struct buf *stale,
                         const struct buf *late, const struct audit_ledger_report *r);

#endif
