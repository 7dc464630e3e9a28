/* The audit family: stock.audit, which proves the books: every location's
 * reserved count equals the sum of the live allocations in its sku's holds
 * index, every sku with holds is due (in {ns}:due) no later than its
 * earliest one, every id in the expiry index is a live hold, and the
 * ledger {ns}:events replayed from empty gives every location's on_hand
 * and reserved (where the ledger has not been trimmed). Each pass is a
 * loop of bounded calls:
 *
 *   ledger  lua/audit.lua with no sku first: may the ledger be replayed
 *           (has nothing ever been trimmed or deleted from it)? If so,
 *           XRANGE a page at a time into the replay (audit_ledger.h)
 *   skus    SCAN {ns}:stock:* a page at a time; lua/audit.lua compares each
 *           sku's counts with its holds index and reads them with the
 *           ledger entries after the replay's last one, atomically per
 *           sku, reading at most AUDIT_BUDGET index members and stock
 *           locations per call (the rest of the page goes in the next
 *           call); the replay plus those entries is compared with the
 *           counts
 *   others  the same for the skus the ledger names that SCAN did not
 *           return (a stock hash that is gone)
 *   index   ZSCAN {ns}:expiry a page at a time; lua/audit_index.lua checks
 *           that each id still there names a live hold
 *
 * stock.audit {sku} checks that one sku (its ledger entries only; no
 * others, no index pass). */
#ifndef STOCKD_AUDIT_H
#define STOCKD_AUDIT_H

#include "contract.h"

/* lua/audit.lua. After the fixed KEYS: {ns}:stock:<sku_j> for the m skus,
 * then {ns}:holds:<sku_j>. After the fixed ARGV (M is m): sku_1..sku_m.
 * To read the ledger too, one more segment follows each, laid out like a
 * batch script's (contract.h): AUDIT_EACH_KEYS after the holds keys,
 * AUDIT_EACH_ARGV after the skus (READ entries replayed, the last with the
 * id CURSOR; TAIL the most entries after it to read). The statuses: OK,
 * BEHIND (more than TAIL entries follow the cursor: read on, then call
 * again), UNREPLAYABLE (the ledger lost entries the replay has not read).
 * The script's header has the replies. */
#define AUDIT_KEYS(X) X(AUDIT_K_DUE) X(AUDIT_K_EXPIRY)
#define AUDIT_ARGV(X) X(AUDIT_A_BUDGET) X(AUDIT_A_M)
#define AUDIT_EACH_KEYS(X) X(AUDIT_EK_EVENTS)
#define AUDIT_EACH_ARGV(X) X(AUDIT_EA_READ) X(AUDIT_EA_CURSOR) X(AUDIT_EA_TAIL)
#define AUDIT_STATUS(X) X(AUDIT_ST_OK) X(AUDIT_ST_BEHIND) X(AUDIT_ST_UNREPLAYABLE)

/* lua/audit_index.lua. After the fixed KEYS: {ns}:res:<id_i> for the k ids
 * of the page. After the fixed ARGV (K is k): id_1..id_k. */
#define AUDIT_INDEX_KEYS(X) X(AUDIT_INDEX_K_EXPIRY)
#define AUDIT_INDEX_ARGV(X) X(AUDIT_INDEX_A_K)
#define AUDIT_INDEX_STATUS(X) X(AUDIT_INDEX_ST_OK)

struct request;

/* The handler of stock.audit (methods.h). */
void audit_run(struct request *req);

enum { AUDIT_KEYS(CONTRACT_ENUM) AUDIT_K_FIXED };
enum { AUDIT_ARGV(CONTRACT_ENUM) AUDIT_A_FIXED };
enum { AUDIT_EACH_KEYS(CONTRACT_ENUM) AUDIT_EK_FIXED };
enum { AUDIT_EACH_ARGV(CONTRACT_ENUM) AUDIT_EA_FIXED };
enum { AUDIT_STATUS(CONTRACT_ENUM) AUDIT_STATUSES };
enum { AUDIT_INDEX_KEYS(CONTRACT_ENUM) AUDIT_INDEX_K_FIXED };
enum { AUDIT_INDEX_ARGV(CONTRACT_ENUM) AUDIT_INDEX_A_FIXED };
enum { AUDIT_INDEX_STATUS(CONTRACT_ENUM) AUDIT_INDEX_STATUSES };

#endif
