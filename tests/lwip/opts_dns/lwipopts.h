/* Debian's lwIP options with the resolver on: compile-checks the port's
 * LWIP_DNS branch (the library itself is built without DNS). */
#pragma GCC system_header /* lets -Wpedantic accept include_next */
#include_next <lwipopts.h>
#undef LWIP_DNS
#define LWIP_DNS 1
