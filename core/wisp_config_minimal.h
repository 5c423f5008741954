/*
 * wisp_config_minimal.h - a streamed text chat and nothing else: the
 * smallest wisp.  Build every wisp file with
 *     -DWISP_CONFIG_FILE='"wisp_config_minimal.h"'
 * What each switch leaves out is in wisp_config.h; what is left: a POST of
 * model, messages (role and text), max_tokens, stream; the HTTP/1.1 and
 * SSE readers; a streamed reply's text, reasoning, finish reason, id,
 * model and usage; OpenAI's error shape; keep-alive.
 */
#ifndef WISP_CONFIG_MINIMAL_H
#define WISP_CONFIG_MINIMAL_H

#define WISP_NONSTREAM 0
#define WISP_HTML 0
#define WISP_ERROR_SHAPES 0
#define WISP_PARTS 0
#define WISP_IMAGES 0
#define WISP_TOOLS 0
#define WISP_PARAMS 0
#define WISP_RETRIES 0
#define WISP_MODELS 0
#define WISP_STATUS_NAMES 0
#define WISP_CHECK_REASONS 0

#endif /* WISP_CONFIG_MINIMAL_H */
