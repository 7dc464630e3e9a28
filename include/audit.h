/* The audit family: stock.audit, which proves the books: every location's
 * reserved count equals the sum of the live allocations in its sku's holds
 * index, every sku with holds is due (in {ns}:due) no later than its
 * earliest one, and every id in the expiry index is a live hold. Two passes, each
 * a loop of bounded calls:
 *
 *   skus    SCAN {ns}:stock:* a page at a time; lua/audit.lua compares each
 *           sku's counts with its holds index, atomically per sku, reading
 *           at most AUDIT_BUDGET index members per call (the rest of the
 *           page goes in the next call)
 *   index   ZSCAN {ns}:expiry a page at a time; lua/audit_index.lua checks
 *           that each id still there names a live hold
 *
 * stock.audit {sku} checks that one sku (the first pass only). */
#ifndef STOCKD_AUDIT_H
#define STOCKD_AUDIT_H

#include "contract.h"

/* lua/audit.lua. After the fixed KEYS: {ns}:stock:<sku_j> for the m skus,
 * then {ns}:holds:<sku_j>. After the fixed ARGV (M is m): sku_1..sku_m. */
#define AUDIT_KEYS(X) X(AUDIT_K_DUE) X(AUDIT_K_EXPIRY)
#define AUDIT_ARGV(X) X(AUDIT_A_BUDGET) X(AUDIT_A_M)
#define AUDIT_STATUS(X) X(AUDIT_ST_OK)

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
enum { AUDIT_STATUS(CONTRACT_ENUM) AUDIT_STATUSES };
enum { AUDIT_INDEX_KEYS(CONTRACT_ENUM) AUDIT_INDEX_K_FIXED };
enum { AUDIT_INDEX_ARGV(CONTRACT_ENUM) AUDIT_INDEX_A_FIXED };
enum { AUDIT_INDEX_STATUS(CONTRACT_ENUM) AUDIT_INDEX_STATUSES };

#endif
