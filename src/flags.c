/* Command-line flags from a program's table (see flags.h): defaults, then
 * the environment, then argv; the kinds every program has; the messages
 * and --help. */
#include "flags.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ident.h"
#include "log.h"

#ifndef STOCKD_VERSION
#define STOCKD_VERSION "0.0.0"
#endif

/* A value quoted in a message: control bytes become '?', so the message
 * stays on one line, and it is cut short. */
static const char *printable(const char *v, char *out, size_t outlen)
{
    size_t i = 0;
    for (; v[i] != '\0' && i + 1 < outlen; i++)
        out[i] = (unsigned char)v[i] < 0x20 || v[i] == 0x7f ? '?' : v[i];
    out[i] = '\0';
    return out;
}

static bool starts_like_number(const char *v)
{
    return (v[0] >= '0' && v[0] <= '9') || (v[0] == '-' && v[1] >= '0' && v[1] <= '9');
}

int flags_bad_value(const struct flags_table *t, const struct flag *f, const char *v, char *errbuf,
                    size_t errlen)
{
    char shown[128], help[512] = "";
    if (t->help_in_errors) {
        snprintf(help, sizeof help, " (%s)", f->help);
        for (char *p = help; *p; p++) /* one line: a continuation becomes a space */
            if (*p == '\n')
                *p = ' ';
    }
    if (v == NULL)
        snprintf(errbuf, errlen, "%s: invalid value for --%s%s", t->program, f->name, help);
    else
        snprintf(errbuf, errlen, "%s: invalid value for --%s: '%s'%s", t->program, f->name,
                 printable(v, shown, sizeof shown), help);
    return -1;
}

int flags_parse_hostport(const char *s, char *host, size_t hostlen, int *port)
{
    const char *colon;
    const char *h = s;
    size_t hn;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':')
            return -1;
        h = s + 1;
        hn = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return -1;
        hn = (size_t)(colon - s);
    }
    if (hn == 0 || hn >= hostlen)
        return -1;
    char *end;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 || p < 0 || p > 65535)
        return -1;
    memcpy(host, h, hn);
    host[hn] = '\0';
    *port = (int)p;
    return 0;
}

static int set_int(const struct flags_table *t, const struct flag *f, const char *v, char *where,
                   char *errbuf, size_t errlen)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (!starts_like_number(v) || *end != '\0' || errno != 0 || x < f->min || x > f->max) {
        char shown[128];
        snprintf(errbuf, errlen, "%s: --%s must be a whole number from %lld to %lld, not '%s'",
                 t->program, f->name, f->min, f->max, printable(v, shown, sizeof shown));
        return -1;
    }
    *(long long *)(void *)where = x;
    return 0;
}

static int set_flag(const struct flags_table *t, void *cfg, const struct flag *f, const char *v,
                    enum flag_source from, char *errbuf, size_t errlen)
{
    char *where = (char *)cfg + f->where;
    switch (f->kind) {
    case FLAG_INT:
        return set_int(t, f, v, where, errbuf, errlen);
    case FLAG_STRING:
        if (strlen(v) >= f->size)
            return flags_bad_value(t, f, v, errbuf, errlen);
        strcpy(where, v);
        return 0;
    case FLAG_HOSTPORT:
        if (flags_parse_hostport(v, where, f->size, (int *)(void *)((char *)cfg + f->port)) != 0)
            return flags_bad_value(t, f, v, errbuf, errlen);
        return 0;
    case FLAG_IDENT: {
        struct ident id;
        if (!ident_check(v, strlen(v), &id) || id.s.n >= f->size)
            return flags_bad_value(t, f, v, errbuf, errlen);
        memcpy(where, v, id.s.n + 1);
        return 0;
    }
    case FLAG_LEVEL: {
        static const char *const levels[] = {"debug", "info", "warn", "error"};
        for (int i = 0; i < 4; i++)
            if (strcmp(v, levels[i]) == 0) {
                *(enum log_level *)(void *)where = (enum log_level)i;
                return 0;
            }
        return flags_bad_value(t, f, v, errbuf, errlen);
    }
    case FLAG_FORMAT:
        if (strcmp(v, "text") == 0)
            *(enum log_format *)(void *)where = LOG_TEXT;
        else if (strcmp(v, "json") == 0)
            *(enum log_format *)(void *)where = LOG_JSON;
        else
            return flags_bad_value(t, f, v, errbuf, errlen);
        return 0;
    default:
        return t->set(cfg, t, f, v, from, errbuf, errlen);
    }
}

static void print_help(const struct flags_table *t, FILE *out)
{
    fprintf(out, "usage: %s [flags]\n\n%s\n\n", t->program, t->about);
    for (size_t i = 0; i < t->n_flags; i++) {
        const struct flag *f = &t->flags[i];
        fprintf(out, "  --%-20s ", f->name);
        for (const char *p = f->help; *p; p++) { /* continuation lines under the first */
            if (*p == '\n')
                fprintf(out, "\n%25s", "");
            else
                fputc(*p, out);
        }
        fprintf(out, "\n  %22s default: %s%s%s\n", "", f->def[0] ? f->def : "(none)",
                f->env ? ", env " : "", f->env ? f->env : "");
    }
    fprintf(out, "  --%-20s %s\n  --%-20s %s\n", "version", "print the version and exit", "help",
            "print this help and exit");
    if (t->epilogue != NULL)
        fprintf(out, "\n%s\n", t->epilogue);
}

/* The defaults, then the variables, then what only the environment says. */
static int read_env(const struct flags_table *t, void *cfg, config_getenv_fn env, char *errbuf,
                    size_t errlen)
{
    for (size_t i = 0; i < t->n_flags; i++)
        if (set_flag(t, cfg, &t->flags[i], t->flags[i].def, FLAG_FROM_DEFAULT, errbuf, errlen) != 0)
            return -1;
    for (size_t i = 0; i < t->n_flags; i++) {
        const struct flag *f = &t->flags[i];
        const char *v = f->env ? env(f->env) : NULL;
        if (v != NULL && set_flag(t, cfg, f, v, FLAG_FROM_ENV, errbuf, errlen) != 0) {
            size_t n = strlen(errbuf);
            snprintf(errbuf + n, errlen - n, " (from %s)", f->env);
            return -1;
        }
    }
    return t->env_only ? t->env_only(cfg, env, errbuf, errlen) : 0;
}

static void unknown_flag(const struct flags_table *t, const char *arg, size_t nlen, char *errbuf,
                         size_t errlen)
{
    char shown[128];
    if (t->unknown_name_only) {
        /* Cut at '=': what follows may be a secret given to a misspelt flag. */
        char name[67];
        snprintf(name, sizeof name, "%.*s", (int)(nlen < 64 ? nlen : 64) + 2, arg);
        printable(name, shown, sizeof shown);
    } else {
        printable(arg, shown, sizeof shown);
    }
    snprintf(errbuf, errlen, "%s: unknown flag '%s' (see --help)", t->program, shown);
}

enum config_result flags_parse(const struct flags_table *t, void *cfg, int argc, char **argv,
                               config_getenv_fn env, void *out, char *errbuf, size_t errlen)
{
    assert(t->n_flags <= FLAGS_MAX);
    memset(cfg, 0, t->cfg_size);
    errbuf[0] = '\0';
    if (read_env(t, cfg, env, errbuf, errlen) != 0)
        return CONFIG_ERROR;

    bool seen[FLAGS_MAX] = {false}; /* on the command line already */
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            print_help(t, out);
            return CONFIG_EXIT;
        }
        if (strcmp(arg, "--version") == 0) {
            fprintf(out, "%s %s\n", t->program, STOCKD_VERSION);
            return CONFIG_EXIT;
        }
        if (strncmp(arg, "--", 2) != 0) {
            char shown[128];
            snprintf(errbuf, errlen, "%s: unexpected argument '%s' (see --help)", t->program,
                     printable(arg, shown, sizeof shown));
            return CONFIG_ERROR;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        size_t i = 0;
        while (i < t->n_flags &&
               (strlen(t->flags[i].name) != nlen || strncmp(t->flags[i].name, name, nlen) != 0))
            i++;
        if (i == t->n_flags || i >= FLAGS_MAX) { /* past FLAGS_MAX: see the assert */
            unknown_flag(t, arg, nlen, errbuf, errlen);
            return CONFIG_ERROR;
        }
        const struct flag *f = &t->flags[i];
        const char *v = eq ? eq + 1 : NULL;
        if (v == NULL) {
            if (a + 1 >= argc) {
                snprintf(errbuf, errlen, "%s: --%s needs a value", t->program, f->name);
                return CONFIG_ERROR;
            }
            v = argv[++a];
        }
        enum flag_source from = seen[i] ? FLAG_FROM_ARGV_AGAIN : FLAG_FROM_ARGV;
        seen[i] = true;
        if (set_flag(t, cfg, f, v, from, errbuf, errlen) != 0)
            return CONFIG_ERROR;
    }
    return CONFIG_OK;
}

const char *flags_getenv(const char *name)
{
    return getenv(name);
}

int flags_exit_status(enum config_result r, const char *errbuf, void *errout)
{
    switch (r) {
    case CONFIG_OK:
        break;
    case CONFIG_EXIT:
        return 0;
    case CONFIG_ERROR:
        fprintf(errout, "%s\n", errbuf);
        return CONFIG_EXIT_USAGE;
    }
    return -1;
}
