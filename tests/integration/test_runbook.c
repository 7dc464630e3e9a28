/* Placeholder: replaced by the real runbook test. */
#include "harness.h"

static void test_placeholder(void **state)
{
    (void)state;
    skip();
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_placeholder)};
    return harness_run("runbook", tests, 1, 1, NULL);
}
