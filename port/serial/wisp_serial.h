/*
 * wisp_serial.h - a wisp transport over a serial byte link (a UART) to a
 * modem or a host-side relay that holds the real TCP connection, the way an
 * MCU reaches the network through a cellular or Wi-Fi module.
 *
 * Framing on the line, both directions: every frame is
 *     0x7E  TYPE  LEN_HI  LEN_LO  PAYLOAD[LEN]        (LEN <= 1024)
 * A frame that does not start with 0x7E, has an unknown TYPE or a LEN over
 * WISP_SERIAL_MAX_PAYLOAD is a broken link (WISP_ERR_IO).  There is no
 * checksum: the link is assumed lossless (QEMU's UART; on hardware, RTS/CTS
 * flow control and an interrupt- or DMA-fed receive ring).
 *
 * Device to relay:
 *   'C' connect   TIMEOUT_MS (4 bytes, big-endian), PORT (2 bytes,
 *                 big-endian), HOST (1..253 bytes, no NUL).  Closes any
 *                 earlier connection first.  The relay answers 'O' or 'F'.
 *   'D' data      1..1024 bytes for the server.
 *   'X' close     empty.  The relay closes the server connection; no answer.
 * Relay to device:
 *   'O' connected empty.
 *   'F' failed    REASON (1 byte: 1 name not resolved or not allowed,
 *                 2 refused or unreachable, 3 timed out), then optional
 *                 text for a person.
 *   'D' data      1..1024 bytes from the server.
 *   'E' end       empty: the server closed in an orderly way (FIN).
 *   'R' reset     empty: the connection was reset or failed.
 * While a connect is pending the device discards every frame but 'O' and
 * 'F' (the tail of an earlier connection), so a reconnect is always clean.
 *
 * Status mapping (the transport contract of wisp.h):
 *   'F' reason 1 / 2 / 3            WISP_ERR_DNS / _CONNECT / _TIMEOUT
 *   no 'O' or 'F' within timeout    WISP_ERR_TIMEOUT ('X' is sent)
 *   'E'                             recv: WISP_OK with *got == 0, and again
 *                                   on every later recv
 *   'R'                             recv and send: WISP_ERR_CLOSED
 *   link read/write failure,        WISP_ERR_IO
 *     a broken frame
 *   send or recv when not connected WISP_ERR_CLOSED
 * A timeout of 0 means "do not wait": recv returns what has arrived, or
 * WISP_ERR_TIMEOUT.  A frame header split across calls is resumed.
 */
#ifndef WISP_SERIAL_H
#define WISP_SERIAL_H

#include "wisp.h"

#define WISP_SERIAL_MAGIC 0x7Eu
#define WISP_SERIAL_MAX_PAYLOAD 1024u
#define WISP_SERIAL_HEADER 4u

/* Frame types. */
#define WISP_SERIAL_CONNECT 'C'
#define WISP_SERIAL_DATA 'D'
#define WISP_SERIAL_CLOSE 'X'
#define WISP_SERIAL_CONNECTED 'O'
#define WISP_SERIAL_FAILED 'F'
#define WISP_SERIAL_END 'E'
#define WISP_SERIAL_RESET 'R'

/* 'F' reasons. */
#define WISP_SERIAL_FAIL_NAME 1u
#define WISP_SERIAL_FAIL_REFUSED 2u
#define WISP_SERIAL_FAIL_TIMEOUT 3u

/*
 * The byte link under the transport (a UART driver, a test fake).
 *  write(ctx, buf, len)        queue all len bytes for sending (a UART only
 *                              paces bytes, it never refuses them); 0, or
 *                              negative when the link has failed.
 *  read(ctx, buf, cap, ms)     the bytes that have arrived (1..cap), waiting
 *                              at most ms for the first one; 0 when none
 *                              arrived in time; negative on link failure.
 */
typedef struct wisp_serial_link {
    void *ctx;
    int (*write)(void *ctx, const uint8_t *buf, size_t len);
    int (*read)(void *ctx, uint8_t *buf, size_t cap, uint32_t timeout_ms);
} wisp_serial_link;

/* All state of one serial transport; treat as private. */
typedef struct wisp_serial {
    wisp_serial_link link;
    wisp_now_fn now_ms; /* optional: bounds a call across several reads */
    void *now_ctx;
    bool connected;
    bool peer_ended;  /* 'E' seen */
    bool peer_reset;  /* 'R' seen */
    uint8_t hdr[WISP_SERIAL_HEADER]; /* a frame header being read */
    uint8_t hdr_have;
    uint16_t data_left; /* payload bytes of the current 'D' frame */
    uint16_t skip_left; /* payload bytes of a frame being discarded */
    uint8_t fail_reason; /* last 'F' reason, 0 if none */
} wisp_serial;

/* Binds the transport to a link (copied) and fills *out (ctx = s).  now_ms
 * may be NULL: each link read then gets the call's whole timeout. */
void wisp_serial_init(wisp_serial *s, const wisp_serial_link *link,
                      wisp_now_fn now_ms, void *now_ctx, wisp_transport *out);

#endif /* WISP_SERIAL_H */
