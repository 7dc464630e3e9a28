/* The dispatcher (see dispatch.h): from a method to its handler, as the
 * method table says. A method whose handler is not declared by its family
 * does not compile. */
#include "dispatch.h"

#include "audit.h"
#include "location.h"
#include "reservation.h"
#include "reserve.h"
#include "stock.h"
#include "ui_data.h"

const request_handler_fn dispatch_handlers[METHOD_COUNT] = {
#define X(name, wire, handler, flags) [METHOD_##name] = handler,
    STOCKD_METHODS(X)
#undef X
};
