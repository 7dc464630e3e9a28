/* Script contracts. The C side and the Lua side of a script must agree on
 * the positions of its fixed KEYS and ARGV and on the status codes of its
 * reply. Each script's contract is declared once, as X-macros in the header
 * of the module that calls it:
 *
 *   #define <SCRIPT>_KEYS(X)    X(<SCRIPT>_K_<NAME>) ...   fixed KEYS, in order
 *   #define <SCRIPT>_ARGV(X)    X(<SCRIPT>_A_<NAME>) ...   fixed ARGV, in order
 *   #define <SCRIPT>_STATUS(X)  X(<SCRIPT>_ST_<NAME>) ...  the first reply element
 *
 * (<SCRIPT> is the script's file name in upper case; KEYS and ARGV may name
 * another script's list, `#define A_KEYS(X) B_KEYS(X)`, to share a layout.)
 * C makes enums of them with CONTRACT_ENUM; at build time
 * tools/embed_lua.cmake reads the same lines and starts the script with
 *
 *   local ST_<NAME>, ... = 0, ...            -- statuses
 *   local K_<NAME>, ... = KEYS[1], ...       -- and K_FIXED, their count
 *   local A_<NAME>, ... = ARGV[1], ...       -- and A_FIXED
 *
 * so that neither side can drift from the other. Variable parts (a key per
 * line, a list of ids) follow the fixed ones and are described in the
 * script's header.
 *
 * A batch script (store_eval_batched) runs many calls in one: its KEYS are
 * the fixed ones, then one segment per call; its ARGV the fixed ones, then
 * one segment per call, in the same order. Each segment starts with the
 * names of
 *
 *   #define <SCRIPT>_EACH_KEYS(X)  X(<SCRIPT>_EK_<NAME>) ...
 *   #define <SCRIPT>_EACH_ARGV(X)  X(<SCRIPT>_EA_<NAME>) ...
 *
 * which the script gets as offsets from the segment's start
 * (local EK_<NAME>, ... = 0, ...; EK_FIXED, EA_FIXED their counts). */
#ifndef STOCKD_CONTRACT_H
#define STOCKD_CONTRACT_H

#define CONTRACT_ENUM(name) name,

#endif
