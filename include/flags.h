/* Command-line flags, each with an environment variable and a default, for
 * every program of the project: a program declares its flags once in a
 * table (stockd's in config.c, stockd-export's in its options.c), and this
 * module reads defaults, environment and argv from it, sets the kinds they
 * share, writes the one-line messages and prints --help. Pure: the
 * environment comes through a callback and nothing is opened. */
#ifndef STOCKD_FLAGS_H
#define STOCKD_FLAGS_H

#include <stdbool.h>
#include <stddef.h>

enum config_result {
    CONFIG_OK = 0,
    CONFIG_EXIT = 1,   /* --help or --version was printed: exit 0 */
    CONFIG_ERROR = -1, /* errbuf says what is wrong: exit 2 */
};

/* Exit status for a bad flag or value. */
#define CONFIG_EXIT_USAGE 2

/* Reads one environment variable; NULL when it is not set. */
typedef const char *(*config_getenv_fn)(const char *name);

/* The kinds of value this module sets itself. A program numbers kinds of
 * its own from FLAG_CUSTOM on; its table's set callback handles those. */
enum flag_kind {
    FLAG_INT,      /* a whole number from min to max: long long at where */
    FLAG_STRING,   /* any text shorter than size: char[size] at where */
    FLAG_HOSTPORT, /* HOST:PORT or [V6]:PORT: char[size] at where, int at port */
    FLAG_IDENT,    /* an identifier (ident.h): char[size] at where */
    FLAG_LEVEL,    /* debug, info, warn or error: enum log_level at where */
    FLAG_FORMAT,   /* text or json: enum log_format at where */
    FLAG_CUSTOM,
};

/* One flag, --name VALUE or --name=VALUE; without it the variable env,
 * without that def. where, size and port are offsets and sizes in the
 * program's config struct. */
struct flag {
    const char *name;   /* without the leading "--" */
    const char *env;    /* NULL: no variable */
    const char *def;    /* "" is shown as "(none)" by --help */
    int kind;           /* enum flag_kind, or the program's own from FLAG_CUSTOM */
    size_t where;       /* the value */
    size_t size;        /* its size in bytes */
    size_t port;        /* FLAG_HOSTPORT: the int port */
    long long min, max; /* FLAG_INT */
    const char *help;   /* in --help a '\n' continues it under the first line */
};

/* Where a value comes from, for the kinds a program sets itself. */
enum flag_source {
    FLAG_FROM_DEFAULT,
    FLAG_FROM_ENV,
    FLAG_FROM_ARGV,       /* the flag's first time on the command line */
    FLAG_FROM_ARGV_AGAIN, /* a later time (a repeatable flag adds to the first) */
};

struct flags_table;

/* Sets f (a kind from FLAG_CUSTOM on) in cfg from v. Returns 0, or -1 with
 * a one-line message in errbuf (flags_bad_value writes the usual one). */
typedef int (*flags_set_fn)(void *cfg, const struct flags_table *t, const struct flag *f,
                            const char *v, enum flag_source from, char *errbuf, size_t errlen);

/* Reads what only the environment may give (a secret that must never be on
 * the command line). Returns 0, or -1 with a one-line message in errbuf. */
typedef int (*flags_env_fn)(void *cfg, config_getenv_fn env, char *errbuf, size_t errlen);

/* A program's flags and how it speaks about them. */
struct flags_table {
    const char *program;  /* "stockd": the --version line, the start of every message */
    const char *about;    /* --help's paragraph between the usage line and the flags */
    const char *epilogue; /* --help's paragraph after the flags; NULL: none */
    const struct flag *flags;
    size_t n_flags;         /* at most FLAGS_MAX */
    size_t cfg_size;        /* the config struct, zeroed before the defaults */
    bool help_in_errors;    /* an invalid value's message ends with "(the flag's help)" */
    bool unknown_name_only; /* an unknown flag is quoted without its "=VALUE" (a secret?) */
    flags_set_fn set;       /* the kinds from FLAG_CUSTOM on; NULL when there are none */
    flags_env_fn env_only;  /* after the variables of the flags, before argv; NULL: none */
};

#define FLAGS_MAX 64

/* Zeroes cfg, then fills it from the defaults, the environment (the
 * flags' variables, then t->env_only) and argv, in that order, a later
 * source winning. --help and --version write to out (a FILE *, as void * so
 * that this header needs no stdio) and return CONFIG_EXIT. On CONFIG_ERROR
 * errbuf holds one line, which names the flag, and the variable when the
 * value came from the environment. */
enum config_result flags_parse(const struct flags_table *t, void *cfg, int argc, char **argv,
                               config_getenv_fn env, void *out, char *errbuf, size_t errlen);

/* Writes "PROGRAM: invalid value for --NAME: 'v'" into errbuf, v made one
 * short line, or without the value when v is NULL (a value that may hold a
 * password is never echoed); t->help_in_errors adds the flag's help.
 * Returns -1. */
int flags_bad_value(const struct flags_table *t, const struct flag *f, const char *v, char *errbuf,
                    size_t errlen);

/* Parses "host:port" or "[v6]:port" (port 0 to 65535) into host (hostlen
 * bytes) and *port. Returns 0, or -1 with neither written. */
int flags_parse_hostport(const char *s, char *host, size_t hostlen, int *port);

/* The process's environment (getenv), as a config_getenv_fn. */
const char *flags_getenv(const char *name);

/* What main does with a parse's result: -1 for CONFIG_OK (go on); 0 for
 * CONFIG_EXIT; for CONFIG_ERROR it writes errbuf and a newline to errout
 * (a FILE *) and returns CONFIG_EXIT_USAGE. */
int flags_exit_status(enum config_result r, const char *errbuf, void *errout);

#endif
