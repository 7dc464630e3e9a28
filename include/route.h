/* An order's route (destination, max_distance_km, explain), and a
 * location's entry in the ranking's index, in the form the reserve
 * script's ranking reads them (lua/lib/routing.lua): the geometry is
 * worked out here, once and in one place, so that the script only unpacks
 * it. Pure. */
#ifndef STOCKD_ROUTE_H
#define STOCKD_ROUTE_H

#include <stdbool.h>

#include "buf.h"
#include "ident.h"

/* Redis GEO's earth radius (geohashGetDistance), in metres. */
#define ROUTE_EARTH_RADIUS_M 6372797.560856

struct route {
    bool has_dest;
    double lat, lng; /* degrees, when has_dest */
    struct str zone; /* n == 0 for none */
    bool has_max;
    double max_km; /* > 0, when has_max */
    bool explain;
};

/* A point on the unit sphere, and its latitude and longitude in radians
 * with the cosine of its latitude: what the ranking computes with. */
struct route_point {
    double x, y, z, lat, lng, cos_lat;
};
void route_point_of(double lat_deg, double lng_deg, struct route_point *out);

/* The squared length of the longest chord of the unit sphere whose
 * great-circle distance is within km (4, the whole sphere, from half its
 * circumference on). */
double route_chord2_within(double km);

/* Appends a location's entry in the index {ns}:locations, what the
 * ranking reads of it (lua/lib/routing.lua, read_locations), as msgpack
 * values: x, y, z, lat, lng, cos(lat) of its point (each false without
 * coordinates), its priority, its zone ("" for none). */
void route_pack_location(struct buf *out, bool has_coords, double lat, double lng,
                         long long priority, struct str zone);

/* Appends the route as msgpack values, in this order: the destination's
 * x, y, z, lat, lng, cos(lat) (each false without one), its zone (a
 * string, "" for none), the squared chord within max_distance_km (false
 * without), explain (a boolean). */
void route_pack(struct buf *out, const struct route *r);

#endif
