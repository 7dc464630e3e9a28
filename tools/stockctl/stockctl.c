/* stockctl: placeholder, replaced by the operator's client. */
#include <stdio.h>

int main(void)
{
    fprintf(stderr, "stockctl: not built yet\n");
    return 1;
}
