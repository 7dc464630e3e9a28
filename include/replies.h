/* hiredis reply objects from free lists instead of malloc: the object
 * functions of the reader of stockd's Redis connections. hiredis frees a
 * reply as soon as its callback returns, so a few objects of each size
 * serve every call, and a reply tree (a batch's array, one array per order,
 * an element per field) costs no allocation once warm. The objects are
 * ordinary redisReply structs to everything that reads them. */
#ifndef STOCKD_REPLIES_H
#define STOCKD_REPLIES_H

#include <hiredis/hiredis.h>

struct replies;

/* A pool; free with replies_free once every object is back (every reader
 * that uses it has been freed). */
struct replies *replies_new(void);
void replies_free(struct replies *p);
/* Makes c's reader take its reply objects from p. */
void replies_attach(struct replies *p, redisContext *c);

#endif
