/* The dispatcher: from a method to its handler, as the method table
 * (methods.h) says. Nothing else happens here; the kernel (request.c) has
 * decoded, authenticated, admitted and validated the request already. */
#include "request.h"

typedef void (*handler_fn)(struct request *req);

static const handler_fn handlers[METHOD_COUNT] = {
#define X(name, wire, handler, flags) [METHOD_##name] = handler,
    STOCKD_METHODS(X)
#undef X
};

void dispatch(struct request *req)
{
    assert(req->method >= 0 && req->method < METHOD_COUNT);
    handlers[req->method](req);
}
