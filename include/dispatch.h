/* The dispatcher: the handler of every method of the method table
 * (methods.h), for the request kernel, which knows no family itself. */
#ifndef STOCKD_DISPATCH_H
#define STOCKD_DISPATCH_H

#include "methods.h"
#include "request.h"

/* Indexed by enum method_id; every entry is set. */
extern const request_handler_fn dispatch_handlers[METHOD_COUNT];

#endif
