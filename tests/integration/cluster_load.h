/* Tenants' orders through a Redis Cluster that changes under them: each
 * order is reserved with its own order_id, then committed, released, left
 * to expire (ttl 1 s) or kept held, every request retried the same after
 * each 2001/2002/2003 until it has a result, so that the final state of
 * every hold is known; then the books each tenant must show (through the
 * API, and in Redis) are checked. */
#ifndef STOCKD_TEST_CLUSTER_LOAD_H
#define STOCKD_TEST_CLUSTER_LOAD_H

#include <stdbool.h>

#include "cluster_util.h"

#define CLD_TENANTS_MAX 4
#define CLD_SKUS 4
#define CLD_LOCATION "L"
#define CLD_ON_HAND 1000000
#define CLD_EXPIRE_TTL_MS 1000

enum cld_kind { CLD_COMMIT, CLD_RELEASE, CLD_EXPIRE, CLD_KEEP };

struct cld_order {
    int tenant;
    int sku;
    enum cld_kind kind;
    int stage;    /* 0: reserve to send, 1: commit/release to send, 2: done */
    char id[48];  /* the acknowledged reservation id */
    long long at; /* monotonic ms when it was started */
};

struct cld_tenant {
    char name[72], token[80];
    int clients; /* connections of the load */
    /* Answers seen. */
    int results, unavailable, timeouts, overloaded;
    long long last_error_at; /* monotonic ms of the latest 2001/2002/2003; 0: none */
};

struct cld_load {
    char prefix[16]; /* order ids are <prefix>-<n> */
    int ports[4], n_ports;
    struct cld_tenant tenant[CLD_TENANTS_MAX];
    int n_tenants;
    struct cld_order *orders;
    int n_orders, cap;
    int done; /* orders finished */
};

/* A load with the tenants (name, token, connections) and the stockd ports
 * its connections are spread over. */
void cld_init(struct cld_load *l, const char *prefix, const int *ports, int n_ports);
void cld_add_tenant(struct cld_load *l, const char *name, const char *token, int clients);
void cld_free(struct cld_load *l);

/* A connection to port, authenticated as tenant t (fails the test when
 * auth is refused). */
int cld_connect(const struct cld_load *l, int t, int port);
/* stock.set of CLD_ON_HAND for every sku at CLD_LOCATION, per tenant. */
void cld_stock(const struct cld_load *l);

/* Runs the load. tick(l, data) is called about every 20 ms: true to go on
 * starting orders, false to stop; the run ends once every order is done.
 * Fails the test when a request goes unanswered for 10 s, on an answer
 * other than the expected result or 2001/2002/2003, or after timeout_ms. */
void cld_run(struct cld_load *l, bool (*tick)(struct cld_load *l, void *data), void *data,
             int timeout_ms);

/* The books of every tenant, through stockd on port and in the cluster:
 * waits (up to wait_ms) until the expired orders' units are back; then per
 * tenant and sku on_hand and reserved are what the orders make them, every
 * order's reservation has its final status, a replayed reserve of every
 * order returns its reservation and changes nothing, the holds indexes hold
 * one entry per kept order and the order bindings name the acknowledged
 * reservations, and stock.audit is ok. */
void cld_check_books(const struct cld_load *l, struct cluster *c, int port, int wait_ms);

#endif
