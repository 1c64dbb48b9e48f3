/*
 * gain.c: a StreamKit native gain plugin that runs, for tests of instances.
 *
 *   cc -shared -fPIC -O1 -pthread -o libgain.so gain.c -DSK_ABI=6 [-DSK_FAULT_CRASH ...]
 *
 * SK_ABI selects the API version and its calling convention (streamkit_abi.h): version
 * 1 and 2 have the shape of StreamKit's C header (process_packet and flush without the
 * telemetry arguments), 3 to 5 the Rust SDK's per-call pairs with the telemetry
 * arguments, 6 and later a CNodeCallbacks pointer. SK_KIND overrides the kind "gain".
 *
 * Metadata: input "in" [raw_audio, any rate and channels, f32], output "out" raw_audio;
 * param_schema {"gain": number, default 0.5}. The instance multiplies every sample by
 * params "gain"; NULL params mean a gain of 1 (the schema's default is for hosts that
 * fill in defaults). Output frames keep the input's rate, channels and metadata.
 *
 * update_params takes {"gain": x}; anything without a gain fails with a message.
 * flush sends nothing. From version 3, get_source_config says "not a source" and tick
 * is NULL; version 4 reports a runtime schema; version 5 takes upstream hints (logged).
 * The first packet emits the telemetry event "gain.first_packet" {"gain": x} when the
 * host passed a telemetry callback (never in versions 1 and 2).
 *
 * Logs (target "gain"): info "created with gain X" from create_instance, debug "flush
 * after N packets", info "destroyed after N packets" from destroy_instance. With
 * params {"thread_log": true}, a thread of the plugin logs warn "hello from a plugin
 * thread" once (joined in destroy_instance).
 *
 * Faults, one per build; N is params "at" (a 0-based packet index, default 0):
 *   SK_FAULT_CRASH   process_packet of packet N dereferences NULL (SIGSEGV);
 *   SK_FAULT_ERROR   process_packet of packet N fails with "gain: failing at packet N",
 *                    or with a NULL message when params {"null_message": true};
 *   SK_FAULT_REFUSE  create_instance logs error "refusing to start: ..." and returns NULL;
 *   SK_FAULT_HANG    process_packet of packet N writes "gain: hanging at packet N" to
 *                    stderr and never returns.
 * Every failed process_packet still counts as a packet.
 */
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sk_params.h"
#include "streamkit_abi.h"

#ifndef SK_KIND
#define SK_KIND "gain"
#endif

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const CAudioFormat any_f32 = {0, 0, 0};

static const CPacketTypeInfo in_types[] = {
	{.type_discriminant = SK_RAW_AUDIO, .audio_format = &any_f32},
};
static const CInputPin inputs[] = {
	{"in", in_types, COUNT(in_types)},
};
static const COutputPin outputs[] = {
	{"out", {.type_discriminant = SK_RAW_AUDIO, .audio_format = &any_f32}},
};
static const char *const categories[] = {"audio"};

static const CNodeMetadata metadata = {
	.kind = SK_KIND,
	.description = "Multiplies audio by a gain",
	.inputs = inputs,
	.inputs_count = COUNT(inputs),
	.outputs = outputs,
	.outputs_count = COUNT(outputs),
	.param_schema = "{\"type\":\"object\",\"properties\":{\"gain\":{\"type\":\"number\",\"default\":0.5}}}",
	.categories = categories,
	.categories_count = COUNT(categories),
};

static const CNodeMetadata *get_metadata(void)
{
	return &metadata;
}

struct gain {
	float gain;
	size_t packets;
	size_t at; /* the packet index of a fault */
	bool null_message;
	CLogCallback log;
	void *log_ud;
	float *buf;
	size_t cap;
	char err[128];
	bool thread_started;
	pthread_t thread;
	char *hint;
};

static void logf_(struct gain *g, int32_t level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void logf_(struct gain *g, int32_t level, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	g->log(level, "gain", msg, g->log_ud);
}

static void *thread_main(void *arg)
{
	struct gain *g = arg;
	logf_(g, 3, "hello from a plugin thread");
	return NULL;
}

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
	struct gain *g = calloc(1, sizeof *g);
	if (g == NULL)
		return NULL;
	g->log = log;
	g->log_ud = log_ud;
	g->gain = 1;
	double d;
	if (sk_param_number(params, "gain", &d))
		g->gain = (float)d;
	if (sk_param_number(params, "at", &d))
		g->at = (size_t)d;
	g->null_message = sk_param_true(params, "null_message");
#ifdef SK_FAULT_REFUSE
	logf_(g, 4, "refusing to start: this build always fails (params %s)", params ? params : "NULL");
	free(g);
	return NULL;
#endif
	if (sk_param_true(params, "thread_log"))
		g->thread_started = pthread_create(&g->thread, NULL, thread_main, g) == 0;
	logf_(g, 2, "created with gain %g", g->gain);
	return g;
}

static CResult process(struct gain *g, const char *pin, const CPacket *p, COutputCallback out, void *out_ud,
		       CTelemetryCallback tel, void *tel_ud)
{
	size_t index = g->packets++;
#ifdef SK_FAULT_CRASH
	if (index == g->at) {
		volatile int *volatile nowhere = NULL;
		*nowhere = 1;
	}
#endif
#ifdef SK_FAULT_HANG
	if (index == g->at) {
		dprintf(2, "gain: hanging at packet %zu\n", index);
		for (;;)
			pause();
	}
#endif
#ifdef SK_FAULT_ERROR
	if (index == g->at) {
		if (g->null_message)
			return fail(NULL);
		snprintf(g->err, sizeof g->err, "gain: failing at packet %zu", index);
		return fail(g->err);
	}
#endif
	if (strcmp(pin, "in") != 0) {
		snprintf(g->err, sizeof g->err, "gain: no input pin %s", pin);
		return fail(g->err);
	}
	if (p->packet_type != SK_RAW_AUDIO || p->len != sizeof(CAudioFrame))
		return fail("gain: not a raw audio packet");
	const CAudioFrame *in = p->data;
	if (in->sample_count > g->cap) {
		float *b = realloc(g->buf, in->sample_count * sizeof *b);
		if (b == NULL)
			return fail("gain: out of memory");
		g->buf = b;
		g->cap = in->sample_count;
	}
	for (size_t i = 0; i < in->sample_count; i++)
		g->buf[i] = in->samples[i] * g->gain;
	CAudioFrame frame = *in;
	frame.samples = g->buf;
#if SK_ABI >= 6
	frame.buffer_handle = NULL;
#endif
	CPacket o = {SK_RAW_AUDIO, &frame, sizeof frame};
	CResult r = out("out", &o, out_ud);
	if (!r.success)
		return r;
	if (index == 0 && tel != NULL) {
		char data[64];
		int n = snprintf(data, sizeof data, "{\"gain\":%g}", g->gain);
		tel("gain.first_packet", (const uint8_t *)data, (size_t)n, NULL, tel_ud);
	}
	return ok();
}

static CResult do_flush(struct gain *g)
{
	logf_(g, 1, "flush after %zu packets", g->packets);
	return ok();
}

#if SK_ABI <= 2
static CResult process_packet(void *h, const char *pin, const CPacket *p, COutputCallback out, void *out_ud)
{
	return process(h, pin, p, out, out_ud, NULL, NULL);
}
static CResult flush(void *h, COutputCallback out, void *out_ud)
{
	(void)out, (void)out_ud;
	return do_flush(h);
}
#elif SK_ABI <= 5
static CResult process_packet(void *h, const char *pin, const CPacket *p, COutputCallback out, void *out_ud,
			      CTelemetryCallback tel, void *tel_ud)
{
	return process(h, pin, p, out, out_ud, tel, tel_ud);
}
static CResult flush(void *h, COutputCallback out, void *out_ud, CTelemetryCallback tel, void *tel_ud)
{
	(void)out, (void)out_ud, (void)tel, (void)tel_ud;
	return do_flush(h);
}
#else
static CResult process_packet(void *h, const char *pin, const CPacket *p, const CNodeCallbacks *cb)
{
	if (cb->struct_size < sizeof(CNodeCallbacks))
		return fail("gain: CNodeCallbacks too small");
	return process(h, pin, p, cb->output, cb->output_user_data, cb->telemetry, cb->telemetry_user_data);
}
static CResult flush(void *h, const CNodeCallbacks *cb)
{
	(void)cb;
	return do_flush(h);
}
#endif

static CResult update_params(void *h, const char *params)
{
	struct gain *g = h;
	double d;
	if (!sk_param_number(params, "gain", &d))
		return fail("gain: update_params needs {\"gain\": number}");
	g->gain = (float)d;
	logf_(g, 2, "gain now %g", g->gain);
	return ok();
}

static void destroy_instance(void *h)
{
	struct gain *g = h;
	if (g->thread_started)
		pthread_join(g->thread, NULL);
	logf_(g, 2, "destroyed after %zu packets", g->packets);
	free(g->buf);
	free(g->hint);
	free(g);
}

#if SK_ABI >= 3
static CSourceConfig get_source_config(void *h)
{
	(void)h;
	CSourceConfig c = {false, 0, 0};
	return c;
}
#endif
#if SK_ABI >= 4
static CSchemaResult get_runtime_param_schema(void *h)
{
	(void)h;
	CSchemaResult r = {true, NULL, "{\"type\":\"object\",\"properties\":{\"gain\":{\"type\":\"number\",\"minimum\":0}}}"};
	return r;
}
#endif
#if SK_ABI >= 5
static CResult on_upstream_hint(void *h, const char *hint)
{
	struct gain *g = h;
	if (hint == NULL)
		return fail("gain: NULL hint");
	logf_(g, 1, "hint %s", hint);
	return ok();
}
#endif

static const CNativePluginAPI api = {
	.version = SK_ABI,
	.get_metadata = get_metadata,
	.create_instance = create_instance,
	.process_packet = process_packet,
	.update_params = update_params,
	.flush = flush,
	.destroy_instance = destroy_instance,
#if SK_ABI >= 3
	.get_source_config = get_source_config,
	.tick = NULL,
#endif
#if SK_ABI >= 4
	.get_runtime_param_schema = get_runtime_param_schema,
#endif
#if SK_ABI >= 5
	.on_upstream_hint = on_upstream_hint,
#endif
};

const CNativePluginAPI *streamkit_native_plugin_api(void)
{
	return &api;
}
