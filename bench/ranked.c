/* The ranked workload's map (see ranked.h). */
#include "ranked.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h" /* xmalloc */

/* Both are spread over Europe (a box of about 3,800 x 3,500 km) and drawn
 * from fixed seeds: every run sees the same map, and a --no-setup run the
 * map its setup run created. Destinations come from a precomputed pool so
 * that the load generator spends no time on trigonometry under load. */
#define MAP_LAT_MIN 36.0
#define MAP_LAT_MAX 70.0
#define MAP_LNG_MIN (-10.0)
#define MAP_LNG_MAX 40.0
#define LOCATION_SEED 0x10ca7e5eed5ULL
#define DEST_SEED 0xde57111a7e5ULL
#define N_DESTS 4096

struct place {
    double lat, lng; /* exactly the numbers json says */
    char json[48];   /* "lat":<lat>,"lng":<lng> */
};

static struct place loc_places[RANKED_MAX_LOCATIONS];
static int n_locations;
static struct ranked_dest *dests; /* N_DESTS of them, owned here for the whole run */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double draw(uint64_t *s, double lo, double hi)
{
    return lo + (hi - lo) * (double)(splitmix64(s) >> 11) / 9007199254740992.0; /* 2^53 */
}

/* A point on the map with 6 decimals (about 0.1 m). Its doubles are read
 * back from the text stockd is sent, so that the distances computed here
 * and in stockd start from the very same numbers. */
static void place_draw(uint64_t *s, struct place *p)
{
    char lat[24], lng[24];
    snprintf(lat, sizeof lat, "%.6f", draw(s, MAP_LAT_MIN, MAP_LAT_MAX));
    snprintf(lng, sizeof lng, "%.6f", draw(s, MAP_LNG_MIN, MAP_LNG_MAX));
    p->lat = strtod(lat, NULL);
    p->lng = strtod(lng, NULL);
    snprintf(p->json, sizeof p->json, "\"lat\":%s,\"lng\":%s", lat, lng);
}

/* Great-circle distance in metres: Redis GEO's haversine
 * (geohashGetDistance), which stockd's nearest rule uses too. */
static double geo_distance_m(const struct place *a, const struct place *b)
{
    double lat1 = a->lat * (M_PI / 180.0), lat2 = b->lat * (M_PI / 180.0);
    double u = sin((lat2 - lat1) / 2.0);
    double v = sin((b->lng - a->lng) * (M_PI / 180.0) / 2.0);
    return 2.0 * 6372797.560856 * asin(sqrt(u * u + cos(lat1) * cos(lat2) * v * v));
}

void ranked_map_init(int n)
{
    n_locations = n;
    uint64_t s = LOCATION_SEED;
    for (int l = 0; l < n; l++)
        place_draw(&s, &loc_places[l]);
    dests = xmalloc(N_DESTS * sizeof *dests);
    s = DEST_SEED;
    for (int i = 0; i < N_DESTS; i++) {
        struct place d;
        place_draw(&s, &d);
        snprintf(dests[i].json, sizeof dests[i].json, "{%s}", d.json);
        double best = INFINITY, second = INFINITY;
        int at = -1;
        for (int l = 0; l < n; l++) {
            double m = geo_distance_m(&d, &loc_places[l]);
            if (m < best) {
                second = best;
                best = m;
                at = l;
            } else if (m < second) {
                second = m;
            }
        }
        /* stockd takes distances within a millimetre for a tie, broken by
         * channel order; a metre of margin keeps rounding out of the check. */
        dests[i].nearest = second - best < 1.0 ? -1 : at;
    }
}

const char *ranked_location_json(int l)
{
    return loc_places[l].json;
}

const struct ranked_dest *ranked_dest_at(unsigned r)
{
    return &dests[r % N_DESTS];
}

bool ranked_at_nearest(const char *line, size_t len, const char *prefix, int nearest)
{
    static const char key[] = "\"location\":\"";
    const char *at = memmem(line, len, key, sizeof key - 1);
    size_t plen = strlen(prefix);
    if (at == NULL)
        return false;
    at += sizeof key - 1;
    /* The line goes on past the name (its closing quote), so atoi stops there. */
    return (size_t)(line + len - at) > plen + 2 && memcmp(at, prefix, plen) == 0 &&
           memcmp(at + plen, "-L", 2) == 0 && atoi(at + plen + 2) == nearest;
}
