# wisp.mk - wisp's sources and include folders, for any build system.
#
# A make fragment: include it, then compile the groups you need.
#
#   WISP_DIR := path/to/wisp            # optional: defaults to this file's folder
#   include $(WISP_DIR)/wisp.mk
#   CFLAGS += $(addprefix -I,$(WISP_INCLUDE_DIRS)) -Ipath/to/jsmn
#   SRCS   += $(WISP_CORE_SRCS) $(WISP_LWIP_SRCS) $(WISP_TLS_SRCS)
#
# For a build system that is not make (an IDE project, Meson, SCons...),
# read it as a plain list: one path a line, relative to the wisp folder,
# grouped under the variable names below.
#
#   WISP_CORE_SRCS     the library: always (portable C99, no heap, no OS calls)
#   WISP_POSIX_SRCS    transport over BSD sockets (Linux, macOS, the BSDs)
#   WISP_LWIP_SRCS     transport over lwIP's socket API (ESP-IDF, FreeRTOS)
#   WISP_TLS_SRCS      TLS over any transport, through mbedTLS 2.28 or 3.x
#   WISP_SERIAL_SRCS   transport over a UART to a modem or relay (see README)
#   WISP_PROXY_SRCS    through an HTTP proxy, over any transport (CONNECT
#                      tunnel under TLS, or forwarding plain http)
#   WISP_CLI_SRCS      the wisp-chat program (needs POSIX, TLS and PROXY); its
#                      include folders are WISP_CLI_INCLUDE_DIRS
#   WISP_INCLUDE_DIRS  the library's and the ports' headers
#
# jsmn is not here: it is one header, jsmn.h, that only core/wisp_json.c
# includes.  Put the folder that holds it on that file's include path
# (Debian: libjsmn-dev installs /usr/include/jsmn.h).  To override the
# limits of core/wisp_config.h, compile everything with
# -DWISP_CONFIG_FILE='"my_wisp_config.h"'.
#
# tests/manifest_check.py fails when a list here and the files on disk
# disagree.

ifndef WISP_DIR
WISP_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
endif

WISP_CORE_SRCS = \
	$(WISP_DIR)/core/wisp_client.c \
	$(WISP_DIR)/core/wisp_conv.c \
	$(WISP_DIR)/core/wisp_error.c \
	$(WISP_DIR)/core/wisp_http.c \
	$(WISP_DIR)/core/wisp_json.c \
	$(WISP_DIR)/core/wisp_models.c \
	$(WISP_DIR)/core/wisp_reply.c \
	$(WISP_DIR)/core/wisp_request.c \
	$(WISP_DIR)/core/wisp_sse.c \
	$(WISP_DIR)/core/wisp_status.c \
	$(WISP_DIR)/core/wisp_text.c \
	$(WISP_DIR)/core/wisp_tools.c \
	$(WISP_DIR)/core/wisp_url.c

WISP_POSIX_SRCS = \
	$(WISP_DIR)/port/posix/wisp_posix.c

WISP_LWIP_SRCS = \
	$(WISP_DIR)/port/lwip/wisp_lwip.c

WISP_TLS_SRCS = \
	$(WISP_DIR)/port/mbedtls/wisp_tls.c

WISP_SERIAL_SRCS = \
	$(WISP_DIR)/port/serial/wisp_serial.c

WISP_PROXY_SRCS = \
	$(WISP_DIR)/port/proxy/wisp_proxy.c

WISP_CLI_SRCS = \
	$(WISP_DIR)/examples/wisp-chat/cancel.c \
	$(WISP_DIR)/examples/wisp-chat/inputs.c \
	$(WISP_DIR)/examples/wisp-chat/interactive.c \
	$(WISP_DIR)/examples/wisp-chat/main.c \
	$(WISP_DIR)/examples/wisp-chat/options.c \
	$(WISP_DIR)/examples/wisp-chat/output.c \
	$(WISP_DIR)/examples/wisp-chat/proxy.c

WISP_INCLUDE_DIRS = \
	$(WISP_DIR)/core \
	$(WISP_DIR)/port/posix \
	$(WISP_DIR)/port/lwip \
	$(WISP_DIR)/port/mbedtls \
	$(WISP_DIR)/port/serial \
	$(WISP_DIR)/port/proxy

WISP_CLI_INCLUDE_DIRS = \
	$(WISP_DIR)/examples
