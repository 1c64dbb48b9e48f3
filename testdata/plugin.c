/*
 * plugin.c: a StreamKit native test plugin, configured with -D macros.
 *
 *   cc -shared -fPIC -O1 -o out.so plugin.c -DSK_ABI=6 -DSK_KIND='"gain"'
 *
 * SK_ABI            API version the table reports and whose layout it uses (default 6;
 *                   values above 9 use the version 9 layout).
 * SK_KIND           kind string literal (default "gain"); SK_NULL_KIND reports NULL.
 * SK_DESCRIPTION    description string literal; NULL when not defined.
 * SK_NO_SYMBOL      do not export streamkit_native_plugin_api.
 *
 * Metadata that breaks a limit of docs/abi.md (one at a time):
 * SK_BAD_NULL_API, SK_BAD_NULL_METADATA, SK_BAD_TOO_MANY_PINS (1025 inputs),
 * SK_BAD_NULL_PIN_NAME, SK_BAD_RAW_AUDIO_NO_FORMAT, SK_BAD_CUSTOM_NO_TYPE_ID,
 * SK_BAD_HUGE_SCHEMA (param_schema over 1 MiB), SK_BAD_UNKNOWN_TYPE (discriminant 42).
 * SK_BAD_UNRESOLVED_SYMBOL calls a function nobody defines, so dlopen with RTLD_NOW
 * refuses the library.
 *
 * Libraries that kill or hang the process that opens them (never open them in a test
 * process): SK_CRASH_ENTRY_SEGV (SIGSEGV inside streamkit_native_plugin_api),
 * SK_CRASH_CTOR_ABORT (abort() in a constructor), SK_CRASH_CTOR_HANG (a constructor
 * that never returns).
 *
 * The well-formed metadata:
 *   inputs:  in   [raw_audio 48000 Hz/2 ch/f32, opus_audio]
 *            ctl  [custom "streamkit.gain.ctl"]
 *            enc  [encoded_video "vp9"] plus [encoded_audio "aac"] from version 8
 *   outputs: out  raw_audio 48000 Hz/2 ch/f32
 *            text text
 *   categories ["audio", "filters"], param_schema SK_PARAM_SCHEMA below.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "streamkit_abi.h"

#ifndef SK_KIND
#define SK_KIND "gain"
#endif
#ifdef SK_NULL_KIND
#undef SK_KIND
#define SK_KIND NULL
#endif
#ifndef SK_DESCRIPTION
#define SK_DESCRIPTION NULL
#endif

#define SK_PARAM_SCHEMA \
	"{\"type\":\"object\",\"properties\":{\"gain_db\":{\"type\":\"number\",\"default\":0}}}"

#define SK_TOO_MANY 1025
#define SK_HUGE_SCHEMA_SIZE ((1 << 20) + 64)

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
/* A CPacketTypeInfo; raw_video_format (version 3 on) stays NULL. */
#define TYPE(t, format, id) {.type_discriminant = (t), .audio_format = (format), .custom_type_id = (id)}

static const CAudioFormat stereo_f32 = {48000, 2, 0};

#ifdef SK_BAD_RAW_AUDIO_NO_FORMAT
#define IN_AUDIO_FORMAT NULL
#else
#define IN_AUDIO_FORMAT (&stereo_f32)
#endif

#ifdef SK_BAD_CUSTOM_NO_TYPE_ID
#define CTL_TYPE_ID NULL
#else
#define CTL_TYPE_ID "streamkit.gain.ctl"
#endif

#ifdef SK_BAD_UNKNOWN_TYPE
#define TEXT_TYPE 42
#else
#define TEXT_TYPE SK_TEXT
#endif

#ifdef SK_BAD_NULL_PIN_NAME
#define CTL_NAME NULL
#else
#define CTL_NAME "ctl"
#endif

static const CPacketTypeInfo in_types[] = {
	TYPE(SK_RAW_AUDIO, IN_AUDIO_FORMAT, NULL),
	TYPE(SK_OPUS_AUDIO, NULL, NULL),
};
static const CPacketTypeInfo ctl_types[] = {
	TYPE(SK_CUSTOM, NULL, CTL_TYPE_ID),
};
static const CPacketTypeInfo enc_types[] = {
	TYPE(SK_ENCODED_VIDEO, NULL, "vp9"),
#if SK_ABI >= 8
	TYPE(SK_ENCODED_AUDIO, NULL, "aac"),
#endif
};

static const CInputPin inputs[] = {
	{"in", in_types, COUNT(in_types)},
	{CTL_NAME, ctl_types, COUNT(ctl_types)},
	{"enc", enc_types, COUNT(enc_types)},
};

static const COutputPin outputs[] = {
	{"out", TYPE(SK_RAW_AUDIO, &stereo_f32, NULL)},
	{"text", TYPE(TEXT_TYPE, NULL, NULL)},
};

static const char *const categories[] = {"audio", "filters"};

static CNodeMetadata metadata = {
	.kind = SK_KIND,
	.description = SK_DESCRIPTION,
	.inputs = inputs,
	.inputs_count = COUNT(inputs),
	.outputs = outputs,
	.outputs_count = COUNT(outputs),
	.param_schema = SK_PARAM_SCHEMA,
	.categories = categories,
	.categories_count = COUNT(categories),
};

#ifdef SK_BAD_TOO_MANY_PINS
/* Well-formed pins, just too many of them. */
static CInputPin many_inputs[SK_TOO_MANY];
#endif

#ifdef SK_BAD_UNRESOLVED_SYMBOL
extern void sk_symbol_nobody_defines(void);
#endif

static const CNodeMetadata *get_metadata(void)
{
#ifdef SK_BAD_UNRESOLVED_SYMBOL
	sk_symbol_nobody_defines();
#endif
#ifdef SK_BAD_NULL_METADATA
	(void)&metadata;
	return NULL;
#else
#ifdef SK_BAD_TOO_MANY_PINS
	for (size_t i = 0; i < SK_TOO_MANY; i++) {
		many_inputs[i].name = "in";
		many_inputs[i].accepts_types = in_types;
		many_inputs[i].accepts_types_count = COUNT(in_types);
	}
	metadata.inputs = many_inputs;
	metadata.inputs_count = SK_TOO_MANY;
#endif
#ifdef SK_BAD_HUGE_SCHEMA
	/* Valid JSON, just too long: {"description":"xxx...x"} */
	static char *huge;
	if (huge == NULL) {
		huge = malloc(SK_HUGE_SCHEMA_SIZE + 1);
		if (huge == NULL)
			abort();
		memset(huge, 'x', SK_HUGE_SCHEMA_SIZE);
		memcpy(huge, "{\"description\":\"", 16);
		memcpy(huge + SK_HUGE_SCHEMA_SIZE - 2, "\"}", 2);
		huge[SK_HUGE_SCHEMA_SIZE] = '\0';
	}
	metadata.param_schema = huge;
#endif
	return &metadata;
#endif
}

/* The instance functions only need to exist: they all succeed and do nothing. */

static int instance;

static void *create_instance(const char *params_json, CLogCallback log, void *log_user_data)
{
	(void)params_json;
	(void)log;
	(void)log_user_data;
	return &instance;
}

static CResult ok(void)
{
	CResult r = {true, NULL};
	return r;
}

#if SK_ABI <= 2
static CResult process_packet(void *h, const char *pin, const CPacket *p, COutputCallback out, void *out_ud)
{
	(void)h, (void)pin, (void)p, (void)out, (void)out_ud;
	return ok();
}
static CResult flush(void *h, COutputCallback out, void *out_ud)
{
	(void)h, (void)out, (void)out_ud;
	return ok();
}
#elif SK_ABI <= 5
static CResult process_packet(void *h, const char *pin, const CPacket *p, COutputCallback out, void *out_ud,
			      CTelemetryCallback tel, void *tel_ud)
{
	(void)h, (void)pin, (void)p, (void)out, (void)out_ud, (void)tel, (void)tel_ud;
	return ok();
}
static CResult flush(void *h, COutputCallback out, void *out_ud, CTelemetryCallback tel, void *tel_ud)
{
	(void)h, (void)out, (void)out_ud, (void)tel, (void)tel_ud;
	return ok();
}
#else
static CResult process_packet(void *h, const char *pin, const CPacket *p, const CNodeCallbacks *cb)
{
	(void)h, (void)pin, (void)p, (void)cb;
	return ok();
}
static CResult flush(void *h, const CNodeCallbacks *cb)
{
	(void)h, (void)cb;
	return ok();
}
#endif

static CResult update_params(void *h, const char *params_json)
{
	(void)h, (void)params_json;
	return ok();
}

static void destroy_instance(void *h)
{
	(void)h;
}

#if SK_ABI >= 3
static CSourceConfig get_source_config(void *h)
{
	(void)h;
	CSourceConfig c = {false, 0, 0};
	return c;
}
static CTickResult tick(void *h, const CNodeCallbacks *cb)
{
	(void)h, (void)cb;
	CTickResult r = {{true, NULL}, true};
	return r;
}
#endif
#if SK_ABI >= 4
static CSchemaResult get_runtime_param_schema(void *h)
{
	(void)h;
	CSchemaResult r = {true, NULL, NULL};
	return r;
}
#endif
#if SK_ABI >= 5
static CResult on_upstream_hint(void *h, const char *hint_json)
{
	(void)h, (void)hint_json;
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
	.tick = tick,
#endif
#if SK_ABI >= 4
	.get_runtime_param_schema = get_runtime_param_schema,
#endif
#if SK_ABI >= 5
	.on_upstream_hint = on_upstream_hint,
#endif
};

#ifdef SK_NO_SYMBOL
#define SK_ENTRY sk_not_the_entry_point
#else
#define SK_ENTRY streamkit_native_plugin_api
#endif

const CNativePluginAPI *SK_ENTRY(void)
{
#ifdef SK_CRASH_ENTRY_SEGV
	volatile int *volatile nowhere = NULL;
	*nowhere = 1;
#endif
#ifdef SK_BAD_NULL_API
	(void)&api;
	return NULL;
#else
	return &api;
#endif
}

#ifdef SK_CRASH_CTOR_ABORT
__attribute__((constructor)) static void crash_on_load(void)
{
	abort();
}
#endif

#ifdef SK_SLOW_CTOR_MS
__attribute__((constructor)) static void slow_on_load(void)
{
	usleep((useconds_t)SK_SLOW_CTOR_MS * 1000);
}
#endif

#ifdef SK_PAD_BYTES
/* Read-only padding that makes the library a real size. */
__attribute__((used)) static const unsigned char sk_padding[SK_PAD_BYTES] = {1};
#endif

#ifdef SK_CRASH_CTOR_HANG
__attribute__((constructor)) static void hang_on_load(void)
{
	for (;;)
		sleep(1);
}
#endif
