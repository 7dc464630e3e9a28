/* Redis Cluster hash slots: which of the 16384 slots a key lives in
 * (CRC16-XMODEM of the key, or of its hash tag, modulo 16384), as Redis
 * computes it for CLUSTER KEYSLOT. Pure. */
#ifndef STOCKD_SLOT_H
#define STOCKD_SLOT_H

#include <stddef.h>
#include <stdint.h>

#define SLOT_COUNT 16384

/* CRC16-XMODEM (polynomial 0x1021, initial 0) of n bytes. */
uint16_t slot_crc16(const char *p, size_t n);
/* The slot of a key: of the bytes between its first '{' and the next '}'
 * when there are some, else of the whole key. */
unsigned slot_of_key(const char *p, size_t n);
/* The slot of the hash tag p (its bytes, without the braces). */
unsigned slot_of_tag(const char *p, size_t n);

#endif
