/* The reservation family: reservation.get, commit, release and extend
 * (commit and release run through transition.c), the replay of a bound
 * reserve, and the contracts of the scripts it calls itself. */
#ifndef STOCKD_RESERVATION_H
#define STOCKD_RESERVATION_H

#include "contract.h"

/* lua/reservation_get.lua. With MODE 'replay', ARGV goes on with sku and
 * quantity per line of the retried reserve. */
#define RESERVATION_GET_KEYS(X) X(RESERVATION_GET_K_RES)
#define RESERVATION_GET_ARGV(X) X(RESERVATION_GET_A_ID) X(RESERVATION_GET_A_MODE)
#define RESERVATION_GET_STATUS(X)                                                                  \
    X(RESERVATION_GET_ST_FOUND) X(RESERVATION_GET_ST_REPLAYED) X(RESERVATION_GET_ST_NOT_FOUND)     \
    X(RESERVATION_GET_ST_MISMATCH)

/* lua/extend.lua */
#define EXTEND_KEYS(X) X(EXTEND_K_RES) X(EXTEND_K_EXPIRY)
#define EXTEND_ARGV(X) X(EXTEND_A_ID) X(EXTEND_A_TTL)
#define EXTEND_STATUS(X)                                                                           \
    X(EXTEND_ST_EXTENDED) X(EXTEND_ST_NOT_FOUND) X(EXTEND_ST_EXPIRED) X(EXTEND_ST_COMMITTED)       \
    X(EXTEND_ST_RELEASED)

enum { RESERVATION_GET_KEYS(CONTRACT_ENUM) RESERVATION_GET_K_FIXED };
enum { RESERVATION_GET_ARGV(CONTRACT_ENUM) RESERVATION_GET_A_FIXED };
enum { RESERVATION_GET_STATUS(CONTRACT_ENUM) RESERVATION_GET_STATUSES };
enum { EXTEND_KEYS(CONTRACT_ENUM) EXTEND_K_FIXED };
enum { EXTEND_ARGV(CONTRACT_ENUM) EXTEND_A_FIXED };
enum { EXTEND_STATUS(CONTRACT_ENUM) EXTEND_STATUSES };

struct request;
struct ident;

/* The handlers (methods.h). */
void reservation_get(struct request *req);
void reservation_commit(struct request *req);
void reservation_release(struct request *req);
void reservation_extend(struct request *req);

/* The second half of a reserve whose order_id is bound already: reads the
 * bound reservation `id` and answers it, replayed, if it holds the same
 * items as req's (1004 otherwise). */
void reservation_replay(struct request *req, const struct ident *id);

#endif
