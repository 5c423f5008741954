/* Debian's lwIP options with poll off and select on: compile-checks the
 * port's lwip_select wait, for stacks built that way. */
#pragma GCC system_header /* lets -Wpedantic accept include_next */
#include_next <lwipopts.h>
#undef LWIP_SOCKET_POLL
#define LWIP_SOCKET_POLL 0
#undef LWIP_SOCKET_SELECT
#define LWIP_SOCKET_SELECT 1
