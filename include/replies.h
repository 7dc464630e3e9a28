/* hiredis reply objects from free lists instead of malloc: the object
 * functions of the reader of stockd's Redis connections. hiredis frees a
 * reply as soon as its callback returns, so a few objects of each size
 * serve every call, and a reply tree (a batch's array, one array per order,
 * an element per field) costs no allocation once warm. The objects are
 * ordinary redisReply structs to everything that reads them. A reply can
 * be kept past its callback, and released later. */
#ifndef STOCKD_REPLIES_H
#define STOCKD_REPLIES_H

#include <stdbool.h>

#include <hiredis/hiredis.h>

struct replies;

/* A pool; free with replies_free once every object is back (every reader
 * that uses it has been freed). */
struct replies *replies_new(void);
void replies_free(struct replies *p);
/* Makes c's reader take its reply objects from p. */
void replies_attach(struct replies *p, redisContext *c);
/* True when c's reader takes its reply objects from a pool (any). */
bool replies_attached(const redisContext *c);

/* Keeping a reply past its callback (the store holds a write's reply until
 * the WAIT after it answers). r is the root of a reply tree of a pool's
 * reader, inside its callback: hiredis's free after the callback leaves it
 * whole, and it stays valid until replies_release(r), which frees the tree
 * (NULL: nothing). Every kept reply is released before its pool is freed.
 * Keeping a reply that is kept already is a bug (asserted). */
void replies_keep(redisReply *r);
void replies_release(redisReply *r);

#endif
