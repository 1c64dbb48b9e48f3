/*
 * text.c: a StreamKit native text plugin that runs, for tests of instances.
 *
 *   cc -shared -fPIC -O1 -o libupper.so text.c -DSK_ABI=9
 *
 * Kind "upper" (SK_KIND overrides), any API version (SK_ABI, streamkit_abi.h).
 * Inputs:  in   [text]: each packet goes out on "out" upper-cased (ASCII).
 *          echo [any]:  each packet goes out on "echo" unchanged (the same CPacket),
 *                       so a host sees its own encoding of every packet type.
 * Outputs: out  text
 *          echo passthrough
 * flush sends one text packet "FLUSHED N" (N the packets seen) on "out".
 * Text packets it sends carry len = strlen + 1 (the NUL), as the ABI wants.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "streamkit_abi.h"

#ifndef SK_KIND
#define SK_KIND "upper"
#endif

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const CPacketTypeInfo text_types[] = {{.type_discriminant = SK_TEXT}};
static const CPacketTypeInfo any_types[] = {{.type_discriminant = SK_ANY}};
static const CInputPin inputs[] = {
	{"in", text_types, COUNT(text_types)},
	{"echo", any_types, COUNT(any_types)},
};
static const COutputPin outputs[] = {
	{"out", {.type_discriminant = SK_TEXT}},
	{"echo", {.type_discriminant = SK_PASSTHROUGH}},
};

static const CNodeMetadata metadata = {
	.kind = SK_KIND,
	.description = "Upper-cases text",
	.inputs = inputs,
	.inputs_count = COUNT(inputs),
	.outputs = outputs,
	.outputs_count = COUNT(outputs),
	.param_schema = NULL,
	.categories = NULL,
	.categories_count = 0,
};

static const CNodeMetadata *get_metadata(void)
{
	return &metadata;
}

struct upper {
	size_t packets;
	char *buf;
	size_t cap;
	char err[128];
};

static CResult ok(void)
{
	CResult r = {true, NULL};
	return r;
}

static CResult fail(const char *msg)
{
	CResult r = {false, msg};
	return r;
}

static void *create_instance(const char *params, CLogCallback log, void *log_ud)
{
	(void)params;
	log(1, "upper", "created", log_ud);
	return calloc(1, sizeof(struct upper));
}

/* send_text sends s (n bytes, no NUL) on "out" as a NUL-terminated text packet. */
static CResult send_text(struct upper *u, const char *s, size_t n, COutputCallback out, void *out_ud)
{
	if (n + 1 > u->cap) {
		char *b = realloc(u->buf, n + 1);
		if (b == NULL)
			return fail("upper: out of memory");
		u->buf = b;
		u->cap = n + 1;
	}
	for (size_t i = 0; i < n; i++)
		u->buf[i] = (char)toupper((unsigned char)s[i]);
	u->buf[n] = '\0';
	CPacket p = {SK_TEXT, u->buf, n + 1};
	return out("out", &p, out_ud);
}

static CResult process(struct upper *u, const char *pin, const CPacket *p, COutputCallback out, void *out_ud)
{
	u->packets++;
	if (strcmp(pin, "echo") == 0)
		return out("echo", p, out_ud);
	if (strcmp(pin, "in") != 0) {
		snprintf(u->err, sizeof u->err, "upper: no input pin %s", pin);
		return fail(u->err);
	}
	if (p->packet_type != SK_TEXT || p->len == 0 || ((const char *)p->data)[p->len - 1] != '\0')
		return fail("upper: not a NUL-terminated text packet");
	return send_text(u, p->data, p->len - 1, out, out_ud);
}

static CResult do_flush(struct upper *u, COutputCallback out, void *out_ud)
{
	char s[64];
	int n = snprintf(s, sizeof s, "flushed %zu", u->packets);
	return send_text(u, s, (size_t)n, out, out_ud);
}

#if SK_ABI <= 2
static CResult process_packet(void *h, const char *pin, const CPacket *p, COutputCallback out, void *out_ud)
{
	return process(h, pin, p, out, out_ud);
}
static CResult flush(void *h, COutputCallback out, void *out_ud)
{
	return do_flush(h, out, out_ud);
}
#elif SK_ABI <= 5
static CResult process_packet(void *h, const char *pin, const CPacket *p, COutputCallback out, void *out_ud,
			      CTelemetryCallback tel, void *tel_ud)
{
	(void)tel, (void)tel_ud;
	return process(h, pin, p, out, out_ud);
}
static CResult flush(void *h, COutputCallback out, void *out_ud, CTelemetryCallback tel, void *tel_ud)
{
	(void)tel, (void)tel_ud;
	return do_flush(h, out, out_ud);
}
#else
static CResult process_packet(void *h, const char *pin, const CPacket *p, const CNodeCallbacks *cb)
{
	return process(h, pin, p, cb->output, cb->output_user_data);
}
static CResult flush(void *h, const CNodeCallbacks *cb)
{
	return do_flush(h, cb->output, cb->output_user_data);
}
#endif

static CResult update_params(void *h, const char *params)
{
	(void)h, (void)params;
	return ok();
}

static void destroy_instance(void *h)
{
	struct upper *u = h;
	free(u->buf);
	free(u);
}

/* get_source_config, tick, get_runtime_param_schema and on_upstream_hint: NULL. */
static const CNativePluginAPI api = {
	.version = SK_ABI,
	.get_metadata = get_metadata,
	.create_instance = create_instance,
	.process_packet = process_packet,
	.update_params = update_params,
	.flush = flush,
	.destroy_instance = destroy_instance,
};

const CNativePluginAPI *streamkit_native_plugin_api(void)
{
	return &api;
}
