/* Unit tests of route.c: the geometry the reserve script ranks with, and
 * the msgpack form it unpacks. The chord must rank exactly as Redis GEO's
 * great-circle distance does, and max_distance_km must cut where that
 * distance does. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "route.h"

/* Redis 7.0's geohashGetDistance, in metres. */
static double geo_distance(double lat1d, double lon1d, double lat2d, double lon2d)
{
    const double d_r = M_PI / 180.0;
    double lon1r = lon1d * d_r, lon2r = lon2d * d_r;
    double v = sin((lon2r - lon1r) / 2);
    if (v == 0.0)
        return ROUTE_EARTH_RADIUS_M * fabs(lat2d * d_r - lat1d * d_r);
    double lat1r = lat1d * d_r, lat2r = lat2d * d_r;
    double u = sin((lat2r - lat1r) / 2);
    double a = u * u + cos(lat1r) * cos(lat2r) * v * v;
    return 2.0 * ROUTE_EARTH_RADIUS_M * asin(sqrt(a));
}

static double chord2(const struct route_point *a, const struct route_point *b)
{
    double dx = a->x - b->x, dy = a->y - b->y, dz = a->z - b->z;
    return dx * dx + dy * dy + dz * dz;
}

static double rnd(double lo, double hi)
{
    return lo + (hi - lo) * ((double)rand() / RAND_MAX);
}

static void test_points_on_the_unit_sphere(void **state)
{
    (void)state;
    srand(7);
    for (int i = 0; i < 10000; i++) {
        struct route_point p;
        route_point_of(rnd(-90, 90), rnd(-180, 180), &p);
        assert_true(fabs(p.x * p.x + p.y * p.y + p.z * p.z - 1.0) < 1e-12);
    }
}

/* The chord is 2 sin(d / 2R) of the great-circle distance d: ranking by it
 * is ranking by distance. */
static void test_chord_is_the_distance(void **state)
{
    (void)state;
    srand(11);
    for (int i = 0; i < 100000; i++) {
        double la1 = rnd(-90, 90), lo1 = rnd(-180, 180), la2, lo2;
        if (i % 2) { /* near pairs, where ties matter */
            la2 = fmax(-90, fmin(90, la1 + rnd(-0.01, 0.01)));
            lo2 = lo1 + rnd(-0.01, 0.01);
        } else {
            la2 = rnd(-90, 90);
            lo2 = rnd(-180, 180);
        }
        struct route_point a, b;
        route_point_of(la1, lo1, &a);
        route_point_of(la2, lo2, &b);
        double d = geo_distance(la1, lo1, la2, lo2);
        double from_chord = 2.0 * ROUTE_EARTH_RADIUS_M * asin(sqrt(chord2(&a, &b)) / 2.0);
        if (fabs(from_chord - d) > 1e-3)
            fail_msg("(%f,%f)-(%f,%f): %.6f m by the chord, %.6f m by GEO", la1, lo1, la2, lo2,
                     from_chord, d);
    }
}

/* max_distance_km keeps what is within and leaves out what is beyond, to
 * the millimetre. */
static void test_max_distance_cuts_at_the_distance(void **state)
{
    (void)state;
    srand(13);
    for (int i = 0; i < 20000; i++) {
        double la1 = rnd(-80, 80), lo1 = rnd(-180, 180);
        double la2 = la1 + rnd(-20, 20), lo2 = lo1 + rnd(-20, 20);
        la2 = fmax(-90, fmin(90, la2));
        struct route_point a, b;
        route_point_of(la1, lo1, &a);
        route_point_of(la2, lo2, &b);
        double km = geo_distance(la1, lo1, la2, lo2) / 1000.0;
        assert_true(chord2(&a, &b) <= route_chord2_within(km + 1e-6));
        assert_true(chord2(&a, &b) > route_chord2_within(km - 1e-6));
    }
    assert_true(route_chord2_within(20037.6) == 4.0);
    assert_true(route_chord2_within(1e300) == 4.0);
    assert_true(route_chord2_within(1e-9) > 0);
}

/* A reader of the msgpack route_pack writes. */
struct reader {
    const unsigned char *p, *end;
};

static double read_double(struct reader *r)
{
    assert_true(r->end - r->p >= 9 && r->p[0] == 0xcb);
    uint64_t bits = 0;
    for (int i = 1; i <= 8; i++)
        bits = bits << 8 | r->p[i];
    r->p += 9;
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

static bool read_bool(struct reader *r)
{
    assert_true(r->p < r->end && (r->p[0] == 0xc2 || r->p[0] == 0xc3));
    return *r->p++ == 0xc3;
}

static void read_str(struct reader *r, const char *want)
{
    assert_true(r->end - r->p >= 2 && r->p[0] == 0xd9 && r->p[1] == strlen(want));
    assert_memory_equal(r->p + 2, want, strlen(want));
    r->p += 2 + strlen(want);
}

static void test_pack(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out);

    /* Only explain: no destination, no zone, no limit. */
    struct route r = {.zone = STR_LIT(""), .explain = true};
    route_pack(&out, &r);
    struct reader rd = {(const unsigned char *)out.data, (const unsigned char *)out.data + out.len};
    for (int i = 0; i < 6; i++)
        assert_false(read_bool(&rd));
    read_str(&rd, "");
    assert_false(read_bool(&rd));
    assert_true(read_bool(&rd));
    assert_ptr_equal(rd.p, rd.end);

    /* Everything. */
    buf_reset(&out);
    r = (struct route){true, 52.52, -13.405, STR_LIT("EU/DE"), true, 12.5, false};
    route_pack(&out, &r);
    rd =
        (struct reader){(const unsigned char *)out.data, (const unsigned char *)out.data + out.len};
    struct route_point p;
    route_point_of(52.52, -13.405, &p);
    const double want[] = {p.x, p.y, p.z, p.lat, p.lng, p.cos_lat};
    for (int i = 0; i < 6; i++)
        assert_true(read_double(&rd) == want[i]);
    read_str(&rd, "EU/DE");
    assert_true(read_double(&rd) == route_chord2_within(12.5));
    assert_false(read_bool(&rd));
    assert_ptr_equal(rd.p, rd.end);

    /* A location's entry: its point, priority and zone; none: six falses. */
    buf_reset(&out);
    route_pack_location(&out, true, 52.52, -13.405, -7, STR_LIT("DE"));
    rd = (struct reader){(const unsigned char *)out.data, (const unsigned char *)out.data + out.len};
    for (int i = 0; i < 6; i++)
        assert_true(read_double(&rd) == want[i]);
    assert_true(read_double(&rd) == -7.0);
    read_str(&rd, "DE");
    assert_ptr_equal(rd.p, rd.end);
    buf_reset(&out);
    route_pack_location(&out, false, 0, 0, 1000, STR_LIT(""));
    rd = (struct reader){(const unsigned char *)out.data, (const unsigned char *)out.data + out.len};
    for (int i = 0; i < 6; i++)
        assert_false(read_bool(&rd));
    assert_true(read_double(&rd) == 1000.0);
    read_str(&rd, "");
    assert_ptr_equal(rd.p, rd.end);

    /* The longest zone. */
    buf_reset(&out);
    char zone[IDENT_MAX + 1];
    memset(zone, 'z', IDENT_MAX);
    zone[IDENT_MAX] = '\0';
    r = (struct route){.zone = {zone, IDENT_MAX}};
    route_pack(&out, &r);
    rd = (struct reader){(const unsigned char *)out.data + 6,
                         (const unsigned char *)out.data + out.len};
    read_str(&rd, zone);
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_points_on_the_unit_sphere),
        cmocka_unit_test(test_chord_is_the_distance),
        cmocka_unit_test(test_max_distance_cuts_at_the_distance),
        cmocka_unit_test(test_pack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
