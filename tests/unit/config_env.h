/* The start-up of stockd as the config unit tests (test_config.c,
 * test_webhook_config.c) give it to config_parse: "stockd" followed by a
 * case's flags, and its environment, a table read through the callback.
 * The including file defines MAX_ARGS, the most flags one case passes. */
#ifndef STOCKD_TEST_CONFIG_ENV_H
#define STOCKD_TEST_CONFIG_ENV_H

#include <stddef.h>
#include <string.h>

#include "config.h"

#ifndef MAX_ARGS
#error "config_env.h: define MAX_ARGS first"
#endif

struct env_var {
    const char *name;
    const char *value;
};

/* The environment the callback reads. config_getenv_fn takes no context, so
 * each case points this at its own table just before calling config_parse. */
static const struct env_var *current_env;

static inline const char *fake_getenv(const char *name)
{
    for (const struct env_var *e = current_env; e != NULL && e->name != NULL; e++)
        if (strcmp(e->name, name) == 0)
            return e->value;
    return NULL;
}

/* Runs config_parse with "stockd" followed by args (NULL-terminated, at
 * most MAX_ARGS of them) in the environment env; out as config_parse's. */
static inline enum config_result parse(struct config *cfg, const struct env_var *env,
                                       const char *const *args, void *out, char *errbuf,
                                       size_t errlen)
{
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = (char *)"stockd";
    for (size_t i = 0; i < MAX_ARGS && args[i] != NULL; i++)
        argv[argc++] = (char *)args[i];
    argv[argc] = NULL;
    current_env = env;
    enum config_result rc = config_parse(cfg, argc, argv, fake_getenv, out, errbuf, errlen);
    current_env = NULL;
    return rc;
}

#endif
