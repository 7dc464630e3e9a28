/* The location family: location.set, location.get and location.list, and
 * the contracts of their scripts (see contract.h). A location's record
 * (coordinates, zone, priority, tags) is what the reserve script's ranking
 * reads (PROTOCOL-2: locations and routing). */
#ifndef STOCKD_LOCATION_H
#define STOCKD_LOCATION_H

#include "contract.h"

/* lua/location_set.lua */
#define LOCATION_SET_KEYS(X)                                                                       \
    X(LOCATION_SET_K_LOCATION) X(LOCATION_SET_K_LOCATIONS) X(LOCATION_SET_K_GEO)
#define LOCATION_SET_ARGV(X)                                                                       \
    X(LOCATION_SET_A_LOCATION) X(LOCATION_SET_A_LAT) X(LOCATION_SET_A_LNG) X(LOCATION_SET_A_ZONE)  \
    X(LOCATION_SET_A_PRIORITY) X(LOCATION_SET_A_TAGS) X(LOCATION_SET_A_ENTRY)
#define LOCATION_SET_STATUS(X) X(LOCATION_SET_ST_OK)

/* lua/location_get.lua */
#define LOCATION_GET_KEYS(X) X(LOCATION_GET_K_LOCATION)
#define LOCATION_GET_STATUS(X) X(LOCATION_GET_ST_OK) X(LOCATION_GET_ST_NOT_FOUND)

/* lua/location_list.lua: one page of the index (location.list takes as
 * many as it has and sorts them). */
#define LOCATION_LIST_KEYS(X) X(LOCATION_LIST_K_LOCATIONS)
#define LOCATION_LIST_ARGV(X)                                                                      \
    X(LOCATION_LIST_A_PREFIX) X(LOCATION_LIST_A_CURSOR) X(LOCATION_LIST_A_COUNT)
#define LOCATION_LIST_STATUS(X) X(LOCATION_LIST_ST_OK)

struct request;

/* The handlers (methods.h). */
void location_set(struct request *req);
void location_get(struct request *req);
void location_list(struct request *req);

enum { LOCATION_SET_KEYS(CONTRACT_ENUM) LOCATION_SET_K_FIXED };
enum { LOCATION_SET_ARGV(CONTRACT_ENUM) LOCATION_SET_A_FIXED };
enum { LOCATION_SET_STATUS(CONTRACT_ENUM) LOCATION_SET_STATUSES };
enum { LOCATION_GET_KEYS(CONTRACT_ENUM) LOCATION_GET_K_FIXED };
enum { LOCATION_GET_STATUS(CONTRACT_ENUM) LOCATION_GET_STATUSES };
enum { LOCATION_LIST_KEYS(CONTRACT_ENUM) LOCATION_LIST_K_FIXED };
enum { LOCATION_LIST_ARGV(CONTRACT_ENUM) LOCATION_LIST_A_FIXED };
enum { LOCATION_LIST_STATUS(CONTRACT_ENUM) LOCATION_LIST_STATUSES };

#endif
