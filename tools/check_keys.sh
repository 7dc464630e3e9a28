#!/usr/bin/env bash
# A static check of the one path from client strings to Redis keys:
#   1. a struct ident is only ever filled by ident_check (ident.c), never
#      by an initializer or by assigning its fields elsewhere;
#   2. key names are only ever built in keys.c: no other source spells the
#      "{ns}:" hash-tag prefix or a key segment.
# Together with the types (keys_build and args_add_key take only a struct
# ident), every key is built from validated identifiers. Exits non-zero on
# a violation.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0

if grep -nE 'struct ident [A-Za-z_]+ *= *\{|\((const )?struct ident\) *\{' src/*.c | grep -v '^src/ident.c:'; then
  echo "check_keys: a struct ident is initialised outside ident_check" >&2
  status=1
fi
if grep -nE '\.s\.(p|n) *=[^=]|->s\.(p|n) *=[^=]|\.s *= *[^=]' src/*.c | grep -v '^src/ident.c:'; then
  echo "check_keys: a struct ident field is assigned outside ident_check" >&2
  status=1
fi
if grep -nE '"[^"]*\}:|":(stock|channel|res|order|expiry|events)' src/*.c | grep -v '^src/keys.c:'; then
  echo "check_keys: a key name is spelled outside keys.c" >&2
  status=1
fi
[ "$status" -eq 0 ] && echo "check_keys: every key is built by keys.c from identifiers checked by ident_check"
exit "$status"
