/* Params validation (see validate.h). Each method declares its fields once,
 * in a schema below; one generic walker checks a params object against it. */
#include "validate.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const strategy_names[] = {
    [STRATEGY_AUTO] = "auto",
    [STRATEGY_SINGLE] = "single",
    [STRATEGY_PER_LINE] = "per_line",
    [STRATEGY_SPLIT] = "split",
};

const char *strategy_name(enum strategy s)
{
    return strategy_names[s];
}

static const char *const rule_names[RULE_COUNT] = {
    [RULE_SAME_ZONE] = "same_zone",
    [RULE_NEAREST] = "nearest",
    [RULE_PRIORITY] = "priority",
    [RULE_CHANNEL_ORDER] = "channel_order",
};

const char *rule_name(enum rule r)
{
    return rule_names[r];
}

int rule_lookup(struct str name)
{
    for (int r = 0; r < RULE_COUNT; r++)
        if (str_eq(name, (struct str){rule_names[r], strlen(rule_names[r])}))
            return r;
    return -1;
}

enum field_kind {
    F_IDENT,
    F_INT,
    F_INT_OR_NULL, /* F_INT, or null: sets CLEAR_LOW_STOCK (the one such field) */
    F_REAL,        /* a finite JSON number in [min, max] (above min when nonzero) */
    F_BOOL,
    F_TEXT,
    F_SECRET,
    F_STRATEGY,
    F_ITEMS,
    F_LOCATIONS,
    F_TAGS,
    F_RULES,
    F_DESTINATION,
};

struct field {
    const char *name;
    enum field_kind kind;
    unsigned flag; /* presence bit; 0 means required */
    size_t offset; /* into struct params */
    long long min, max;
    bool nonzero;
    const char *rule; /* the message when the value is wrong */
};

#define IDENT_RULE(f) f " must be 1 to 128 bytes of A-Z a-z 0-9 . _ ~ @ / + = -."
#define REQ 0u
#define UNBOUNDED LLONG_MAX /* F_REAL's max: any finite number */
#define OFF(member) offsetof(struct params, member)

static const struct field f_sku = {"sku", F_IDENT, REQ, OFF(sku), 0, 0, false, IDENT_RULE("sku")};
static const struct field f_location = {"location", F_IDENT,        REQ, OFF(location), 0, 0,
                                        false,      IDENT_RULE("location")};
static const struct field f_channel = {"channel", F_IDENT, REQ, OFF(channel), 0, 0,
                                       false,     IDENT_RULE("channel")};
static const struct field f_reservation_id = {
    "reservation_id", F_IDENT, REQ, OFF(reservation_id), 0, 0, false,
    IDENT_RULE("reservation_id")};

static const struct field *const fields_PING[] = {NULL};
static const struct field *const fields_AUTH[] = {
    &(const struct field){"token", F_SECRET, REQ, OFF(token), 1, TOKEN_MAX, false,
                          "token must be a string of 1 to 1023 bytes."},
    NULL};
static const struct field *const fields_STOCK_SET[] = {
    &f_sku,
    &f_location,
    &(const struct field){"on_hand", F_INT, REQ, OFF(on_hand), 0, STOCK_MAX, false,
                          "on_hand must be a whole number from 0 to 1000000000000000."},
    &(const struct field){"safety_stock", F_INT, HAS_SAFETY_STOCK, OFF(safety_stock), 0, STOCK_MAX,
                          false, "safety_stock must be a whole number from 0 to 1000000000000000."},
    &(const struct field){"backorder_limit", F_INT, HAS_BACKORDER_LIMIT, OFF(backorder_limit), 0,
                          QTY_MAX, false,
                          "backorder_limit must be a whole number from 0 to 1000000000."},
    &(const struct field){"low_stock_threshold", F_INT_OR_NULL, HAS_LOW_STOCK,
                          OFF(low_stock_threshold), 0, STOCK_MAX, false,
                          "low_stock_threshold must be a whole number from 0 to "
                          "1000000000000000, or null to clear it."},
    NULL};
static const struct field f_reason = {"reason", F_TEXT, HAS_REASON, OFF(reason), 1, TEXT_MAX, false,
                                      "reason must be 1 to 256 bytes of printable UTF-8."};
static const struct field *const fields_STOCK_ADJUST[] = {
    &f_sku,
    &f_location,
    &(const struct field){"delta", F_INT, REQ, OFF(delta), -STOCK_MAX, STOCK_MAX, true,
                          "delta must be a non-zero whole number from -1e15 to 1e15."},
    &f_reason,
    NULL};
static const struct field f_locations_opt = {
    "locations", F_LOCATIONS, HAS_LOCATIONS, OFF(locations), 1, MAX_LOCATIONS, false,
    "locations must be an array of 1 to 64 distinct location identifiers."};
static const struct field *const fields_STOCK_GET[] = {&f_sku, &f_locations_opt, NULL};
static const struct field *const fields_CHANNEL_SET[] = {
    &f_channel,
    &(const struct field){"locations", F_LOCATIONS, REQ, OFF(locations), 1, MAX_LOCATIONS, false,
                          "locations must be an array of 1 to 64 distinct location identifiers."},
    &(const struct field){"rules", F_RULES, HAS_RULES, OFF(rules), 1, MAX_RULES, false,
                          "rules must be an array of 1 to 5 distinct names from same_zone, "
                          "nearest, priority, channel_order."},
    NULL};
static const struct field *const fields_CHANNEL_GET[] = {&f_channel, NULL};
#define LAT_RULE(f) f " must be a number from -90 to 90 (degrees of latitude)."
#define LNG_RULE(f) f " must be a number from -180 to 180 (degrees of longitude)."
static const struct field *const fields_LOCATION_SET[] = {
    &f_location,
    &(const struct field){"lat", F_REAL, HAS_COORDS, OFF(coords.lat), -90, 90, false,
                          LAT_RULE("lat")},
    &(const struct field){"lng", F_REAL, HAS_LNG, OFF(coords.lng), -180, 180, false,
                          LNG_RULE("lng")},
    &(const struct field){"zone", F_IDENT, HAS_ZONE, OFF(zone), 0, 0, false, IDENT_RULE("zone")},
    &(const struct field){"priority", F_INT, HAS_PRIORITY, OFF(priority), -PRIORITY_MAX,
                          PRIORITY_MAX, false,
                          "priority must be a whole number from -1000 to 1000."},
    &(const struct field){"tags", F_TAGS, HAS_TAGS, OFF(tags), 0, MAX_TAGS, false,
                          "tags must be an array of at most 16 distinct identifiers."},
    NULL};
static const struct field *const fields_LOCATION_GET[] = {&f_location, NULL};
static const struct field *const fields_LOCATION_LIST[] = {NULL};
static const struct field *const fields_RESERVE[] = {
    &(const struct field){"order_id", F_IDENT, HAS_ORDER_ID, OFF(order_id), 0, 0, false,
                          IDENT_RULE("order_id")},
    &(const struct field){"items", F_ITEMS, REQ, OFF(items), 1, 0, true,
                          "items must be an array of {sku, quantity} objects, each sku once."},
    &(const struct field){"channel", F_IDENT, HAS_CHANNEL, OFF(channel), 0, 0, false,
                          IDENT_RULE("channel")},
    &f_locations_opt,
    &(const struct field){"strategy", F_STRATEGY, HAS_STRATEGY, OFF(strategy), 0, 0, false,
                          "strategy must be one of auto, single, per_line, split."},
    &(const struct field){"ttl_ms", F_INT, HAS_TTL, OFF(ttl_ms), TTL_MIN_MS, TTL_MAX_MS, false,
                          "ttl_ms must be a whole number from 1000 to 86400000."},
    &(const struct field){"destination", F_DESTINATION, HAS_DESTINATION, OFF(destination), 0, 0,
                          false, "destination must be an object {lat, lng, zone?}."},
    &(const struct field){"max_distance_km", F_REAL, HAS_MAX_DISTANCE, OFF(max_distance_km), 0,
                          UNBOUNDED, true, "max_distance_km must be a number above 0 (km)."},
    &(const struct field){"explain", F_BOOL, HAS_EXPLAIN, OFF(explain), 0, 0, false,
                          "explain must be true or false."},
    &(const struct field){"allow_backorder", F_BOOL, HAS_ALLOW_BACKORDER, OFF(allow_backorder), 0,
                          0, false, "allow_backorder must be true or false."},
    &(const struct field){"allow_partial", F_BOOL, HAS_ALLOW_PARTIAL, OFF(allow_partial), 0, 0,
                          false, "allow_partial must be true or false."},
    NULL};
static const struct field *const fields_RESERVATION_GET[] = {&f_reservation_id, NULL};
static const struct field *const fields_COMMIT[] = {&f_reservation_id, NULL};
static const struct field *const fields_RELEASE[] = {&f_reservation_id, &f_reason, NULL};
static const struct field *const fields_EXTEND[] = {
    &f_reservation_id,
    &(const struct field){"ttl_ms", F_INT, REQ, OFF(ttl_ms), TTL_MIN_MS, TTL_MAX_MS, false,
                          "ttl_ms must be a whole number from 1000 to 86400000."},
    NULL};
static const struct field *const fields_RESERVATION_UPDATE[] = {
    &f_reservation_id,
    &(const struct field){"items", F_ITEMS, REQ, OFF(items), 1, 0, false,
                          "items must be an array of {sku, quantity} objects, each sku once."},
    NULL};
static const struct field *const fields_RESERVATION_TRANSFER[] = {
    &f_reservation_id,
    &f_sku,
    &(const struct field){"from", F_IDENT, REQ, OFF(from), 0, 0, false, IDENT_RULE("from")},
    &(const struct field){"to", F_IDENT, REQ, OFF(to), 0, 0, false, IDENT_RULE("to")},
    &(const struct field){"quantity", F_INT, HAS_QUANTITY, OFF(quantity), 1, QTY_MAX, false,
                          "quantity must be a whole number from 1 to 1000000000."},
    NULL};
static const struct field *const fields_STOCK_AUDIT[] = {
    &(const struct field){"sku", F_IDENT, HAS_SKU, OFF(sku), 0, 0, false, IDENT_RULE("sku")},
    NULL};
static const struct field *const fields_UI_LEDGER[] = {
    &(const struct field){"count", F_INT, HAS_COUNT, OFF(count), 1, UI_LEDGER_MAX, false,
                          "count must be a whole number from 1 to 100."},
    NULL};
static const struct field *const fields_UI_HOLDS[] = {NULL};
static const struct field *const fields_UI_LOW_STOCK[] = {
    &(const struct field){"count", F_INT, HAS_COUNT, OFF(count), 1, UI_LOW_STOCK_MAX, false,
                          "count must be a whole number from 1 to 200."},
    NULL};

/* Every method of methods.h has a schema named after it: a method without
 * one does not compile. */
static const struct field *const *const method_fields[METHOD_COUNT] = {
#define X(name, wire, handler, flags) [METHOD_##name] = fields_##name,
    STOCKD_METHODS(X)
#undef X
};

static bool int_in_range(const cJSON *v, long long min, long long max, bool nonzero, long long *out)
{
    if (!cJSON_IsNumber(v))
        return false;
    double d = v->valuedouble;
    if (!isfinite(d) || d != floor(d) || d < (double)min || d > (double)max)
        return false;
    long long x = (long long)d;
    if (nonzero && x == 0)
        return false;
    *out = x;
    return true;
}

/* A finite number in [min, max]; above min rather than at it when open. */
static bool real_in_range(const cJSON *v, double min, double max, bool open, double *out)
{
    if (!cJSON_IsNumber(v))
        return false;
    double d = v->valuedouble;
    if (!isfinite(d) || d < min || d > max || (open && d == min))
        return false;
    *out = d;
    return true;
}

static bool ident_value(const cJSON *v, struct ident *out)
{
    return cJSON_IsString(v) && ident_check(v->valuestring, strlen(v->valuestring), out);
}

/* A list of f->min..f->max distinct identifiers into list, its length
 * into *count; a repeat is refused with the message repeat. */
static int check_ident_list(const struct field *f, const cJSON *v, struct ident *list,
                            unsigned *count, const char *repeat, struct rpc_error *err)
{
    int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : -1;
    if (n < f->min || n > f->max)
        return rpc_error_param(err, f->name, f->rule);
    unsigned i = 0;
    for (const cJSON *e = v->child; e != NULL; e = e->next, i++) {
        if (!ident_value(e, &list[i]))
            return rpc_error_param(err, f->name, f->rule);
        for (unsigned k = 0; k < i; k++)
            if (str_eq(list[k].s, list[i].s))
                return rpc_error_param(err, f->name, repeat);
    }
    *count = i;
    return 0;
}

static int check_rules(const struct field *f, const cJSON *v, struct params *out,
                       struct rpc_error *err)
{
    int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : -1;
    if (n < f->min || n > f->max)
        return rpc_error_param(err, f->name, f->rule);
    unsigned i = 0;
    for (const cJSON *e = v->child; e != NULL; e = e->next, i++) {
        int r = cJSON_IsString(e) ? rule_lookup((struct str){e->valuestring, strlen(e->valuestring)})
                                  : -1;
        if (r < 0)
            return rpc_error_param(err, f->name, f->rule);
        for (unsigned k = 0; k < i; k++)
            if (out->rules[k] == (enum rule)r)
                return rpc_error_param(err, f->name, "rules must not repeat a rule.");
        out->rules[i] = (enum rule)r;
    }
    out->n_rules = i;
    return 0;
}

static int check_destination(const struct field *f, const cJSON *v, struct params *out,
                             struct rpc_error *err)
{
    if (!cJSON_IsObject(v))
        return rpc_error_param(err, f->name, f->rule);
    struct destination *d = &out->destination;
    const cJSON *lat = NULL, *lng = NULL, *zone = NULL;
    for (const cJSON *m = v->child; m != NULL; m = m->next) {
        if (strcmp(m->string, "lat") == 0)
            lat = m;
        else if (strcmp(m->string, "lng") == 0)
            lng = m;
        else if (strcmp(m->string, "zone") == 0)
            zone = m;
        else {
            char name[64];
            snprintf(name, sizeof name, "destination.%s", m->string);
            return rpc_error_param(err, name, "Unknown field in destination.");
        }
    }
    if (lat == NULL)
        return rpc_error_param(err, "destination.lat", "A required field is missing.");
    if (lng == NULL)
        return rpc_error_param(err, "destination.lng", "A required field is missing.");
    if (!real_in_range(lat, -90, 90, false, &d->at.lat))
        return rpc_error_param(err, "destination.lat", LAT_RULE("destination.lat"));
    if (!real_in_range(lng, -180, 180, false, &d->at.lng))
        return rpc_error_param(err, "destination.lng", LNG_RULE("destination.lng"));
    if (zone == NULL)
        return 0;
    if (!ident_value(zone, &d->zone))
        return rpc_error_param(err, "destination.zone", IDENT_RULE("destination.zone"));
    out->present |= HAS_DEST_ZONE;
    return 0;
}

static int item_error(struct rpc_error *err, unsigned i, const char *member, const char *message)
{
    char name[64];
    snprintf(name, sizeof name, "items[%u]%s%s", i, *member ? "." : "", member);
    return rpc_error_param(err, name, message);
}

/* reserve's items (nonzero) ask for 1 unit at least; reservation.update's
 * may ask for 0: the line is dropped. */
static int check_items(const struct field *f, const cJSON *v, const struct limits *lim,
                       struct params *out, struct rpc_error *err)
{
    int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : -1;
    if (n < 1)
        return rpc_error_param(err, f->name, f->rule);
    if ((unsigned)n > lim->max_items)
        return rpc_error_param(err, f->name, "items holds more lines than max_items allows.");
    unsigned i = 0;
    for (const cJSON *e = v->child; e != NULL; e = e->next, i++) {
        if (!cJSON_IsObject(e))
            return item_error(err, i, "", "Each item must be an object {sku, quantity}.");
        const cJSON *sku = NULL, *qty = NULL;
        for (const cJSON *m = e->child; m != NULL; m = m->next) {
            if (strcmp(m->string, "sku") == 0)
                sku = m;
            else if (strcmp(m->string, "quantity") == 0)
                qty = m;
            else
                return item_error(err, i, m->string, "Unknown field in an item.");
        }
        struct line_item *it = &out->items[i];
        if (!ident_value(sku, &it->sku))
            return item_error(err, i, "sku", IDENT_RULE("sku"));
        if (!int_in_range(qty, f->nonzero ? 1 : 0, QTY_MAX, false, &it->quantity))
            return item_error(err, i, "quantity",
                              f->nonzero ? "quantity must be a whole number from 1 to 1000000000."
                                         : "quantity must be a whole number from 0 to 1000000000.");
        for (unsigned k = 0; k < i; k++)
            if (str_eq(out->items[k].sku.s, it->sku.s))
                return rpc_error_param(err, f->name, "Each sku may appear only once in items.");
    }
    out->n_items = i;
    return 0;
}

static int check_field(const struct field *f, const cJSON *v, const struct limits *lim,
                       struct params *out, struct rpc_error *err)
{
    char *slot = (char *)out + f->offset;
    switch (f->kind) {
    case F_IDENT:
        if (!ident_value(v, (struct ident *)(void *)slot))
            return rpc_error_param(err, f->name, f->rule);
        return 0;
    case F_INT:
        if (!int_in_range(v, f->min, f->max, f->nonzero, (long long *)(void *)slot))
            return rpc_error_param(err, f->name, f->rule);
        return 0;
    case F_INT_OR_NULL:
        if (cJSON_IsNull(v)) {
            out->present |= CLEAR_LOW_STOCK;
            return 0;
        }
        if (!int_in_range(v, f->min, f->max, f->nonzero, (long long *)(void *)slot))
            return rpc_error_param(err, f->name, f->rule);
        return 0;
    case F_REAL:
        if (!real_in_range(v, (double)f->min, f->max == UNBOUNDED ? HUGE_VAL : (double)f->max,
                           f->nonzero, (double *)(void *)slot))
            return rpc_error_param(err, f->name, f->rule);
        return 0;
    case F_BOOL:
        if (!cJSON_IsBool(v))
            return rpc_error_param(err, f->name, f->rule);
        *(bool *)(void *)slot = cJSON_IsTrue(v);
        return 0;
    case F_TEXT: {
        size_t n = cJSON_IsString(v) ? strlen(v->valuestring) : 0;
        if (n < (size_t)f->min || n > (size_t)f->max ||
            !text_check((const unsigned char *)v->valuestring, n))
            return rpc_error_param(err, f->name, f->rule);
        struct str *t = (struct str *)(void *)slot;
        t->p = v->valuestring;
        t->n = n;
        return 0;
    }
    case F_SECRET: {
        /* Any bytes: a secret is compared, never shown or stored. */
        size_t n = cJSON_IsString(v) ? strlen(v->valuestring) : 0;
        if (n < (size_t)f->min || n > (size_t)f->max)
            return rpc_error_param(err, f->name, f->rule);
        struct str *t = (struct str *)(void *)slot;
        t->p = v->valuestring;
        t->n = n;
        return 0;
    }
    case F_STRATEGY:
        for (int s = STRATEGY_AUTO; s <= STRATEGY_SPLIT; s++)
            if (cJSON_IsString(v) && strcmp(v->valuestring, strategy_names[s]) == 0) {
                out->strategy = (enum strategy)s;
                return 0;
            }
        return rpc_error_param(err, f->name, f->rule);
    case F_ITEMS:
        return check_items(f, v, lim, out, err);
    case F_LOCATIONS:
        return check_ident_list(f, v, out->locations, &out->n_locations,
                                "locations must not repeat a location.", err);
    case F_TAGS:
        return check_ident_list(f, v, out->tags, &out->n_tags, "tags must not repeat a tag.", err);
    case F_RULES:
        return check_rules(f, v, out, err);
    case F_DESTINATION:
        return check_destination(f, v, out, err);
    }
    return rpc_error_set(err, E_INTERNAL);
}

/* The fields that only make sense with another one. */
static int check_together(enum method_id m, struct params *out, struct rpc_error *err)
{
    if (m == METHOD_RESERVATION_TRANSFER && str_eq(out->from.s, out->to.s))
        return rpc_error_param(err, "to", "to must be another location than from.");
    if ((out->present & HAS_COORDS) && !(out->present & HAS_LNG))
        return rpc_error_param(err, "lng", "lat and lng must be given together.");
    if ((out->present & HAS_LNG) && !(out->present & HAS_COORDS))
        return rpc_error_param(err, "lat", "lat and lng must be given together.");
    out->present &= ~HAS_LNG; /* HAS_COORDS now stands for both */
    if ((out->present & HAS_MAX_DISTANCE) && !(out->present & HAS_DESTINATION))
        return rpc_error_param(err, "max_distance_km",
                               "max_distance_km needs a destination to measure from.");
    return 0;
}

int params_validate(enum method_id m, const cJSON *params, const struct limits *lim,
                    struct params *out, struct rpc_error *err)
{
    const struct field *const *fields = method_fields[m];
    out->present = 0;
    out->strategy = STRATEGY_AUTO;
    out->ttl_ms = lim->default_ttl_ms;
    out->n_items = 0;
    out->n_locations = 0;
    out->n_tags = 0;
    out->n_rules = 0;
    out->priority = 0;
    out->explain = false;
    out->allow_backorder = false;
    out->allow_partial = false;

    /* Every member must be a declared field: a misspelt optional field would
     * otherwise be silently ignored. */
    if (params != NULL) {
        for (const cJSON *v = params->child; v != NULL; v = v->next) {
            const struct field *f = NULL;
            for (size_t i = 0; fields[i] != NULL && f == NULL; i++)
                if (strcmp(fields[i]->name, v->string) == 0)
                    f = fields[i];
            if (f == NULL)
                return rpc_error_param(err, v->string, "Unknown field.");
            int rc = check_field(f, v, lim, out, err);
            if (rc != 0)
                return rc;
            out->present |= f->flag;
        }
    }
    for (size_t i = 0; fields[i] != NULL; i++) {
        if (fields[i]->flag != REQ)
            continue;
        if (params == NULL || cJSON_GetObjectItemCaseSensitive(params, fields[i]->name) == NULL)
            return rpc_error_param(err, fields[i]->name, "A required field is missing.");
    }
    return check_together(m, out, err);
}
