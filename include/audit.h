/* The audit family: stock.audit, which
 * proves the books: every location's reserved count equals the sum of the
 * live holds there. It walks the skus a page at a time (SCAN), lists the
 * live holds (ZRANGE of the expiry index), and has lua/audit.lua compare
 * them in one atomic snapshot per page. */
#ifndef STOCKD_AUDIT_H
#define STOCKD_AUDIT_H

#include "contract.h"

/* lua/audit.lua. After the fixed KEYS: {ns}:res:<id_i> for the k ids of the
 * index, then {ns}:stock:<sku_j> for the m skus of the page. After the fixed
 * ARGV (K is k): id_1..id_k, then m and sku_1..sku_m. */
#define AUDIT_KEYS(X) X(AUDIT_K_EXPIRY)
#define AUDIT_ARGV(X) X(AUDIT_A_K)
#define AUDIT_STATUS(X) X(AUDIT_ST_OK) X(AUDIT_ST_INDEX_MOVED)

struct request;

/* The handler of stock.audit (methods.h). */
void audit_run(struct request *req);

enum { AUDIT_KEYS(CONTRACT_ENUM) AUDIT_K_FIXED };
enum { AUDIT_ARGV(CONTRACT_ENUM) AUDIT_A_FIXED };
enum { AUDIT_STATUS(CONTRACT_ENUM) AUDIT_STATUSES };

#endif
