/*
 * softfloat_check.c - one streamed wisp_chat with every sampling value, a
 * seed, stop strings, a schema, an extra parameter and an image, over a
 * stub transport, linked for Cortex-M4 without an FPU (make check-softfloat).
 * The Makefile then lists the libgcc helpers the image pulls in: none of
 * soft-float (__aeabi_f*, __aeabi_d*) or 64-bit division may appear.
 */
#include <string.h>

#include "stub_transport.h"
#include "wisp.h"

static const uint8_t image[] = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10};

int main(void)
{
    static uint8_t work[2048];
    static wisp_token tokens[64];
    static char content[256];
    static const char *const stops[] = {"END"};
    static const wisp_param extra = {"top_k", "40", 0};
    wisp_transport tr = STUB_TRANSPORT;
    wisp_config cfg;
    wisp_client client;
    wisp_part parts[2];
    wisp_message msg;
    wisp_request req;
    wisp_response resp;

    memset(&cfg, 0, sizeof cfg);
    cfg.base_url = "http://192.0.2.1:8080/v1";
    cfg.transport = &tr;
    memset(parts, 0, sizeof parts);
    parts[0].type = WISP_PART_TEXT;
    parts[0].text = "what is this?";
    parts[1].type = WISP_PART_IMAGE;
    parts[1].image_type = WISP_IMAGE_JPEG;
    parts[1].data = image;
    parts[1].size = sizeof image;
    memset(&msg, 0, sizeof msg);
    msg.role = WISP_ROLE_USER;
    msg.parts = parts;
    msg.part_count = 2;
    memset(&req, 0, sizeof req);
    req.model = "m";
    req.messages = &msg;
    req.message_count = 1;
    req.stream = true;
    req.max_completion_tokens = 256;
    req.has_temperature = true;
    req.temperature_milli = WISP_MILLI(0.7);
    req.has_top_p = true;
    req.top_p_milli = 900;
    req.has_presence_penalty = true;
    req.presence_penalty_milli = -500;
    req.has_frequency_penalty = true;
    req.frequency_penalty_milli = 250;
    req.has_seed = true;
    req.seed = -1234567890123LL;
    req.stop = stops;
    req.stop_count = 1;
    req.response_format.type = WISP_FORMAT_JSON_SCHEMA;
    req.response_format.name = "r";
    req.response_format.schema = "{\"type\":\"object\"}";
    req.reasoning_effort = WISP_REASONING_LOW;
    req.params = &extra;
    req.param_count = 1;
    req.idempotency_key = "k1";
    if (wisp_client_init(&client, &cfg, work, sizeof work, tokens, 64) != WISP_OK) {
        return 1;
    }
    wisp_response_init(&resp, content, sizeof content, NULL, 0);
    return wisp_chat(&client, &req, &resp, NULL, NULL) == WISP_OK ? 0 : 2;
}
