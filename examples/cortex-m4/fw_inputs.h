/*
 * fw_inputs.h - what one firmware image is built for.  gen_inputs.py writes
 * the definitions (build/firmware/fw_inputs.c) from make run-firmware's
 * FW_* variables; the API key comes from WISP_API_KEY at build time.
 */
#ifndef FW_INPUTS_H
#define FW_INPUTS_H

#include <stddef.h>

extern const unsigned char fw_ca[];   /* PEM (with its NUL) or DER */
extern const size_t fw_ca_len;
extern const char fw_base_url[];      /* https://NAME:PORT/base/path */
extern const char fw_model[];
extern const char fw_prompt[];
extern const char fw_api_key[];       /* "" when none */

#endif /* FW_INPUTS_H */
