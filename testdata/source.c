/*
 * source.c: a StreamKit native source plugin (a sine generator), for tests of ticks.
 *
 *   cc -shared -fPIC -O1 -o libsine.so source.c -DSK_ABI=6 -DSK_TICK_PAIRS -lm
 *
 * Kind "sine" (SK_KIND overrides), API version 3 or later (SK_ABI): tick takes the
 * per-call pairs in versions 3-5 (built with SK_TICK_PAIRS) and a CNodeCallbacks
 * pointer from version 6.
 *
 * No inputs; output "out" raw_audio 48000 Hz mono f32. get_source_config reports a
 * source ticking every 20000 us, max_ticks from params "max_ticks" (default 10).
 * Each tick sends one 20 ms frame (960 samples) of a sine of params "frequency" (default
 * 440 Hz), amplitude 0.5, continuous across ticks; the tick that sends frame max_ticks
 * says done. A tick after that sends nothing and says done again. With params
 * "fail_tick" N, tick N (0-based) fails with "sine: failing at tick N".
 * process_packet fails: a source has no input.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "sk_params.h"
#include "streamkit_abi.h"

#if SK_ABI < 3
#error "source.c needs API version 3 or later"
#endif

#ifndef SK_KIND
#define SK_KIND "sine"
#endif

#define RATE 48000
#define FRAME 960

static const CAudioFormat mono = {RATE, 1, 0};
static const COutputPin outputs[] = {
	{"out", {.type_discriminant = SK_RAW_AUDIO, .audio_format = &mono}},
};

static const CNodeMetadata metadata = {
	.kind = SK_KIND,
	.description = "A sine source",
	.inputs = NULL,
	.inputs_count = 0,
	.outputs = outputs,
	.outputs_count = 1,
	.param_schema = "{\"type\":\"object\",\"properties\":{\"max_ticks\":{\"type\":\"integer\",\"default\":10}}}",
	.categories = NULL,
	.categories_count = 0,
};

static const CNodeMetadata *get_metadata(void)
{
	return &metadata;
}

struct sine {
	double frequency;
	uint64_t max_ticks;
	uint64_t ticks;
	long fail_tick;
	uint64_t phase; /* samples sent */
	float buf[FRAME];
	char err[64];
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
	struct sine *s = calloc(1, sizeof *s);
	if (s == NULL)
		return NULL;
	s->frequency = 440;
	s->max_ticks = 10;
	s->fail_tick = -1;
	double d;
	if (sk_param_number(params, "frequency", &d))
		s->frequency = d;
	if (sk_param_number(params, "max_ticks", &d))
		s->max_ticks = (uint64_t)d;
	if (sk_param_number(params, "fail_tick", &d))
		s->fail_tick = (long)d;
	log(2, "sine", "created", log_ud);
	return s;
}

static CTickResult do_tick(struct sine *s, COutputCallback out, void *out_ud)
{
	CTickResult r = {ok(), false};
	uint64_t index = s->ticks;
	if (s->fail_tick >= 0 && index == (uint64_t)s->fail_tick) {
		s->ticks++;
		snprintf(s->err, sizeof s->err, "sine: failing at tick %llu", (unsigned long long)index);
		r.result = fail(s->err);
		return r;
	}
	if (s->max_ticks > 0 && index >= s->max_ticks) {
		r.done = true;
		return r;
	}
	for (size_t i = 0; i < FRAME; i++)
		s->buf[i] = (float)(0.5 * sin(2 * M_PI * s->frequency * (double)(s->phase + i) / RATE));
	s->phase += FRAME;
	s->ticks++;
	CAudioFrame f = {.sample_rate = RATE, .channels = 1, .samples = s->buf, .sample_count = FRAME};
	CPacket p = {SK_RAW_AUDIO, &f, sizeof f};
	r.result = out("out", &p, out_ud);
	r.done = s->max_ticks > 0 && s->ticks >= s->max_ticks;
	return r;
}

#if SK_ABI <= 5
static CResult process_packet(void *h, const char *pin, const CPacket *p, COutputCallback out, void *out_ud,
			      CTelemetryCallback tel, void *tel_ud)
{
	(void)h, (void)pin, (void)p, (void)out, (void)out_ud, (void)tel, (void)tel_ud;
	return fail("sine: a source has no input");
}
static CResult flush(void *h, COutputCallback out, void *out_ud, CTelemetryCallback tel, void *tel_ud)
{
	(void)h, (void)out, (void)out_ud, (void)tel, (void)tel_ud;
	return ok();
}
#ifndef SK_TICK_PAIRS
#error "source.c needs SK_TICK_PAIRS before version 6"
#endif
static CTickResult tick(void *h, COutputCallback out, void *out_ud, CTelemetryCallback tel, void *tel_ud)
{
	(void)tel, (void)tel_ud;
	return do_tick(h, out, out_ud);
}
#else
static CResult process_packet(void *h, const char *pin, const CPacket *p, const CNodeCallbacks *cb)
{
	(void)h, (void)pin, (void)p, (void)cb;
	return fail("sine: a source has no input");
}
static CResult flush(void *h, const CNodeCallbacks *cb)
{
	(void)h, (void)cb;
	return ok();
}
static CTickResult tick(void *h, const CNodeCallbacks *cb)
{
	return do_tick(h, cb->output, cb->output_user_data);
}
#endif

static CResult update_params(void *h, const char *params)
{
	(void)h, (void)params;
	return ok();
}

static void destroy_instance(void *h)
{
	free(h);
}

static CSourceConfig get_source_config(void *h)
{
	struct sine *s = h;
	CSourceConfig c = {true, 20000, s->max_ticks};
	return c;
}

static const CNativePluginAPI api = {
	.version = SK_ABI,
	.get_metadata = get_metadata,
	.create_instance = create_instance,
	.process_packet = process_packet,
	.update_params = update_params,
	.flush = flush,
	.destroy_instance = destroy_instance,
	.get_source_config = get_source_config,
	.tick = tick,
};

const CNativePluginAPI *streamkit_native_plugin_api(void)
{
	return &api;
}
