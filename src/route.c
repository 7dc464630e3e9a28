/* An order's route for the reserve script (see route.h). */
#include "route.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

void route_point_of(double lat_deg, double lng_deg, struct route_point *out)
{
    const double d_r = M_PI / 180.0; /* Redis GEO's deg_rad, Lua's math.pi / 180 */
    out->lat = lat_deg * d_r;
    out->lng = lng_deg * d_r;
    out->cos_lat = cos(out->lat);
    out->x = out->cos_lat * cos(out->lng);
    out->y = out->cos_lat * sin(out->lng);
    out->z = sin(out->lat);
}

double route_chord2_within(double km)
{
    double angle = km * 1000.0 / ROUTE_EARTH_RADIUS_M;
    if (!(angle < M_PI))
        return 4.0;
    double chord = 2.0 * sin(angle / 2.0);
    return chord * chord;
}

/* msgpack: float 64 (0xcb, big-endian IEEE 754), false (0xc2), true
 * (0xc3), str 8 (0xd9, length, bytes; a zone is at most 128 bytes). */
static void pack_double(struct buf *out, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    char b[9];
    b[0] = (char)0xcb;
    for (int i = 0; i < 8; i++)
        b[1 + i] = (char)(bits >> (56 - 8 * i));
    buf_append(out, b, sizeof b);
}

static void pack_bool(struct buf *out, bool v)
{
    buf_appendc(out, (char)(v ? 0xc3 : 0xc2));
}

static void pack_str(struct buf *out, struct str s)
{
    buf_appendc(out, (char)0xd9);
    buf_appendc(out, (char)(unsigned char)s.n);
    buf_append(out, s.p, s.n);
}

/* A point as x, y, z, lat, lng, cos(lat); six falses for none. */
static void pack_point(struct buf *out, bool has, double lat, double lng)
{
    if (!has) {
        for (int i = 0; i < 6; i++)
            pack_bool(out, false);
        return;
    }
    struct route_point p;
    route_point_of(lat, lng, &p);
    const double v[] = {p.x, p.y, p.z, p.lat, p.lng, p.cos_lat};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        pack_double(out, v[i]);
}

void route_pack_location(struct buf *out, bool has_coords, double lat, double lng,
                         long long priority, struct str zone)
{
    pack_point(out, has_coords, lat, lng);
    pack_double(out, (double)priority); /* -1000..1000: exact */
    pack_str(out, zone);
}

void route_pack(struct buf *out, const struct route *r)
{
    pack_point(out, r->has_dest, r->lat, r->lng);
    pack_str(out, r->zone);
    if (r->has_max)
        pack_double(out, route_chord2_within(r->max_km));
    else
        pack_bool(out, false);
    pack_bool(out, r->explain);
}
