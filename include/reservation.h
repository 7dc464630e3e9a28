/* The reservation family: reservation.get, commit, release, extend,
 * reservation.update and reservation.transfer (all but the get run through
 * transition.c), the replay of a bound reserve, and the contracts of the
 * scripts it calls itself. */
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

enum { RESERVATION_GET_KEYS(CONTRACT_ENUM) RESERVATION_GET_K_FIXED };
enum { RESERVATION_GET_ARGV(CONTRACT_ENUM) RESERVATION_GET_A_FIXED };
enum { RESERVATION_GET_STATUS(CONTRACT_ENUM) RESERVATION_GET_STATUSES };

struct request;
struct ident;

/* The handlers (methods.h). */
void reservation_get(struct request *req);
void reservation_commit(struct request *req);
void reservation_release(struct request *req);
void reservation_extend(struct request *req);
void reservation_update(struct request *req);
void reservation_transfer(struct request *req);

/* The start of the ctx of a request that may replay (reserve's): what to
 * do when the bound record is gone; NULL for a get. */
struct replay_ctx {
    void (*gone)(struct request *req);
};

/* The second half of a reserve whose order_id is bound already: reads the
 * bound reservation `id` and answers it, replayed, if it holds the same
 * items as req's (1004 otherwise). When the record is gone (its retention
 * ended after the binding was read), gone(req) runs instead: the binding
 * is treated as absent. req's ctx must start with a struct replay_ctx. */
void reservation_replay(struct request *req, const struct ident *id,
                        void (*gone)(struct request *req));

#endif
