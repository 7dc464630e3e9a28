/* stockd-export's command line: each flag with an environment variable and
 * a default, declared once in the option table in options.c and read by
 * flags.c (as stockd's config.c table is). Pure: the environment comes through a callback. Secrets
 * never come from argv: a --redis URL with a password in it, or a --pg
 * connection string with one, is refused (the process list shows argv to
 * every user of the machine); they come from the environment or a file. */
#ifndef STOCKD_EXPORT_OPTIONS_H
#define STOCKD_EXPORT_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h" /* struct redis_url, config_parse_redis_url */
#include "flags.h"  /* config_getenv_fn, CONFIG_* */
#include "ident.h"
#include "log.h"

#define EXPORT_PATH_MAX 4096
#define EXPORT_NAME_MAX 63 /* PostgreSQL's identifier length */

/* How a batch goes into PostgreSQL (docs/export.md has the measurements). */
enum insert_mode {
    INSERT_COPY,   /* COPY into a temp table, then INSERT ... SELECT ... ON CONFLICT */
    INSERT_VALUES, /* one INSERT ... VALUES (...), (...) ON CONFLICT DO NOTHING */
};

struct export_config {
    struct redis_url redis;
    char redis_password_file[EXPORT_PATH_MAX];
    char namespace_buf[IDENT_MAX + 1];
    struct ident ns;          /* points into namespace_buf */
    char pg[EXPORT_PATH_MAX]; /* libpq connection string; empty: libpq's PG* variables */
    bool pg_from_argv;        /* pg came from --pg (then it must hold no password) */
    char pg_password_file[EXPORT_PATH_MAX];
    char table_schema[EXPORT_NAME_MAX + 1]; /* empty: the search_path's */
    char table[EXPORT_NAME_MAX + 1];
    char group[IDENT_MAX + 1];
    char consumer[IDENT_MAX + 1];
    long long batch;
    long long block_ms;  /* how long one wait for new entries lasts */
    long long linger_ms; /* after a batch that was not full, wait this long for more */
    char http_host[256];
    int http_port;
    enum insert_mode insert;
    enum log_level log_level;
    enum log_format log_format;
};

/* Fills cfg from defaults, then the environment, then argv (a flag wins).
 * --help and --version write to out (a FILE *). On CONFIG_ERROR errbuf
 * holds one line, which never repeats a password. */
enum config_result export_options_parse(struct export_config *cfg, int argc, char **argv,
                                        config_getenv_fn env, void *out, char *errbuf,
                                        size_t errlen);

/* Reads a secret from path into out (n bytes): one line, trailing white
 * space dropped. Returns 0, or -1 with errbuf saying why (never the
 * secret). */
int export_read_secret(const char *path, const char *what, char *out, size_t n, char *errbuf,
                       size_t errlen);

#endif
