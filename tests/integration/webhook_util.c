/* What the webhook test programs share (see webhook_util.h). */
#include "webhook_util.h"

#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

char webhook_url[128];
static char secret_path[512];

void xadd(const char *explicit_id, const char *type, const char *sku, const char *loc,
          long long available, long long threshold, const char *cause, const char *reservation,
          const char *prev, char *id)
{
    char avail[24], thr[24];
    snprintf(avail, sizeof avail, "%lld", available);
    snprintf(thr, sizeof thr, "%lld", threshold);
    const char *argv[] = {"XADD",        STREAM,      explicit_id ? explicit_id : "*",
                          "type",        type,        "sku",
                          sku,           "location",  loc,
                          "available",   avail,       "threshold",
                          thr,           "cause",     cause,
                          "reservation", reservation, "prev",
                          prev};
    redisReply *r = redisCommandArgv(H.redis, sizeof argv / sizeof argv[0], argv, NULL);
    assert_non_null(r);
    if (r->type != REDIS_REPLY_STRING)
        fail_msg("XADD: %s", r->type == REDIS_REPLY_ERROR ? r->str : "not an id");
    snprintf(id, 64, "%s", r->str);
    freeReplyObject(r);
}

long long pending(const char *group)
{
    redisReply *r = harness_redis(&H, "XPENDING %s %s", STREAM, group);
    long long n = r->type == REDIS_REPLY_ARRAY && r->elements > 0 ? r->element[0]->integer : -1;
    freeReplyObject(r);
    return n;
}

void wait_nothing_pending(const char *group)
{
    long long deadline = harness_now_ms() + WAIT_MS;
    while (pending(group) != 0)
        if (harness_now_ms() > deadline)
            fail_msg("events of %s still pending: %lld", group, pending(group));
}

const char *field(const redisReply *fv, const char *f)
{
    for (size_t i = 0; i + 1 < fv->elements; i += 2)
        if (strcmp(fv->element[i]->str, f) == 0)
            return fv->element[i + 1]->str;
    return NULL;
}

const char *secret_file(void)
{
    if (secret_path[0] == '\0' || access(secret_path, R_OK) != 0)
        harness_write_file("webhook-secret", SECRET "\n", secret_path, sizeof secret_path);
    return secret_path;
}

int start_stockd(const struct receiver *rc, const char *const *extra, bool no_wait)
{
    snprintf(webhook_url, sizeof webhook_url, "http://127.0.0.1:%d/hooks/stock", receiver_port(rc));
    const char *args[40] = {"--webhook-url", webhook_url, "--webhook-secret-file", secret_file()};
    int n = 4;
    for (int i = 0; extra != NULL && extra[i] != NULL && n < 39; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    return harness_stockd(&(struct stockd_opts){.args = args, .no_wait = no_wait});
}

void stop_stockd(int i)
{
    harness_signal_stockd(i, SIGTERM);
    int status = harness_reap_stockd(i);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("stockd %d ended with status 0x%x (see its log)", i, status);
}

void stop_stockd_and_receiver(int i, struct receiver *rc)
{
    stop_stockd(i);
    receiver_stop(rc);
}

void group_of(const char *u, char *out)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)u, strlen(u), md);
    strcpy(out, "webhook:");
    for (int i = 0; i < 8; i++)
        sprintf(out + 8 + 2 * i, "%02x", md[i]);
}

static bool group_exists(const char *group)
{
    redisReply *r = harness_redis(&H, "XINFO GROUPS %s", STREAM);
    bool found = false;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements && !found; i++) {
        const redisReply *g = r->element[i];
        for (size_t k = 0; k + 1 < g->elements; k += 2)
            if (strcmp(g->element[k]->str, "name") == 0 &&
                strcmp(g->element[k + 1]->str, group) == 0)
                found = true;
    }
    freeReplyObject(r);
    return found;
}

void wait_group(const char *group)
{
    long long deadline = harness_now_ms() + WAIT_MS;
    while (!group_exists(group))
        if (harness_now_ms() > deadline)
            fail_msg("the consumer group %s never appeared", group);
}

int start_stockd_group(const struct receiver *rc, const char *const *extra, char *group)
{
    int s = start_stockd(rc, extra, false);
    group_of(webhook_url, group);
    wait_group(group);
    return s;
}

void wait_received(struct receiver *rc, size_t n)
{
    if (!receiver_wait(rc, n, WAIT_MS))
        fail_msg("the receiver got %zu requests, expected %zu", receiver_count(rc), n);
}

void hmac_hex(const char *body, size_t n, char *out)
{
    unsigned char md[32];
    unsigned int len = 0;
    HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const unsigned char *)body, n, md, &len);
    assert_int_equal(len, 32);
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", md[i]);
}

double metric(int i, const char *series)
{
    return harness_metric(i, series);
}
