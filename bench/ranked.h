/* The ranked workload's map (stockd-bench --workload ranked): locations
 * and destinations drawn from fixed seeds over Europe, each destination
 * with the location nearest to it worked out beforehand, and the check
 * that a hold went there. */
#ifndef STOCKD_BENCH_RANKED_H
#define STOCKD_BENCH_RANKED_H

#include <stdbool.h>
#include <stddef.h>

#define RANKED_MAX_LOCATIONS 64 /* channel.set's limit */

struct ranked_dest {
    char json[56]; /* {"lat":<lat>,"lng":<lng>} */
    int nearest;   /* index of the nearest location; -1: a near tie, not checked */
};

/* Draws n locations (n <= RANKED_MAX_LOCATIONS) and the destinations. */
void ranked_map_init(int n);
/* Location l's coordinates as JSON members: "lat":<lat>,"lng":<lng>. */
const char *ranked_location_json(int l);
/* A destination, picked by a random number r. */
const struct ranked_dest *ranked_dest_at(unsigned r);
/* True when the answer line of a 1-unit reserve holds its unit at location
 * <prefix>-L<nearest> (false for nearest == -1 never happens: the caller
 * checks only what it can). */
bool ranked_at_nearest(const char *line, size_t len, const char *prefix, int nearest);

#endif
