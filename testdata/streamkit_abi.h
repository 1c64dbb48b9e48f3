/*
 * streamkit_abi.h: the StreamKit native plugin ABI (SPEC section 6) as a test plugin
 * sees it, for the API version SK_ABI (1-9; larger values use the version 9 layout).
 * The static assertions below pin every size and offset the host relies on.
 */
#ifndef STREAMKIT_ABI_H
#define STREAMKIT_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef SK_ABI
#define SK_ABI 6
#endif

enum {
	SK_RAW_AUDIO = 0,
	SK_OPUS_AUDIO = 1,
	SK_TEXT = 2,
	SK_TRANSCRIPTION = 3,
	SK_CUSTOM = 4,
	SK_BINARY = 5,
	SK_ANY = 6,
	SK_PASSTHROUGH = 7,
	SK_RAW_VIDEO = 8,
	SK_ENCODED_VIDEO = 9,
	SK_BINARY_WITH_META = 10,
	SK_ENCODED_AUDIO = 11,
};

typedef struct {
	uint32_t sample_rate;
	uint16_t channels;
	int32_t sample_format; /* 0 f32, 1 s16le */
} CAudioFormat;

typedef struct {
	int32_t type_discriminant;
	const CAudioFormat *audio_format;
	const char *custom_type_id;
#if SK_ABI >= 3
	const void *raw_video_format;
#endif
} CPacketTypeInfo;

typedef struct {
	const char *name;
	const CPacketTypeInfo *accepts_types;
	size_t accepts_types_count;
} CInputPin;

typedef struct {
	const char *name;
	CPacketTypeInfo produces_type;
} COutputPin;

typedef struct {
	const char *kind;
	const char *description;
	const CInputPin *inputs;
	size_t inputs_count;
	const COutputPin *outputs;
	size_t outputs_count;
	const char *param_schema;
	const char *const *categories;
	size_t categories_count;
} CNodeMetadata;

typedef struct {
	bool success;
	const char *error_message;
} CResult;

typedef struct {
	int32_t packet_type;
	const void *data;
	size_t len;
} CPacket;

typedef void (*CLogCallback)(int32_t level, const char *target, const char *message, void *user_data);
typedef CResult (*COutputCallback)(const char *pin_name, const CPacket *packet, void *user_data);
typedef void (*CTelemetryCallback)(const char *event_json, void *user_data);

typedef struct {
	size_t struct_size;
	COutputCallback output;
	void *output_user_data;
	CTelemetryCallback telemetry;
	void *telemetry_user_data;
	void *alloc_video;
	void *alloc_audio;
	void *alloc_user_data;
} CNodeCallbacks;

typedef struct {
	bool is_source;
	uint64_t tick_interval_us;
	uint64_t max_ticks;
} CSourceConfig;

typedef struct {
	CResult result;
	bool done;
} CTickResult;

typedef struct {
	bool success;
	const char *error_message;
	const char *json_schema;
} CSchemaResult;

#if SK_ABI <= 2
/* Version 1 and StreamKit's C header (version 2). */
typedef CResult (*CProcessPacket)(void *h, const char *pin, const CPacket *p, COutputCallback out, void *out_ud);
typedef CResult (*CFlush)(void *h, COutputCallback out, void *out_ud);
#elif SK_ABI <= 5
/* Rust SDK versions 2-5: two trailing telemetry arguments. */
typedef CResult (*CProcessPacket)(void *h, const char *pin, const CPacket *p, COutputCallback out, void *out_ud,
				  CTelemetryCallback tel, void *tel_ud);
typedef CResult (*CFlush)(void *h, COutputCallback out, void *out_ud, CTelemetryCallback tel, void *tel_ud);
#else
typedef CResult (*CProcessPacket)(void *h, const char *pin, const CPacket *p, const CNodeCallbacks *cb);
typedef CResult (*CFlush)(void *h, const CNodeCallbacks *cb);
#endif

typedef struct {
	uint32_t version;
	const CNodeMetadata *(*get_metadata)(void);
	void *(*create_instance)(const char *params_json, CLogCallback log, void *log_user_data);
	CProcessPacket process_packet;
	CResult (*update_params)(void *handle, const char *params_json);
	CFlush flush;
	void (*destroy_instance)(void *handle);
#if SK_ABI >= 3
	CSourceConfig (*get_source_config)(void *handle);
	CTickResult (*tick)(void *handle, const CNodeCallbacks *cb);
#endif
#if SK_ABI >= 4
	CSchemaResult (*get_runtime_param_schema)(void *handle);
#endif
#if SK_ABI >= 5
	CResult (*on_upstream_hint)(void *handle, const char *hint_json);
#endif
} CNativePluginAPI;

_Static_assert(sizeof(CAudioFormat) == 12, "CAudioFormat is 12 bytes");
_Static_assert(sizeof(CPacketTypeInfo) == (SK_ABI >= 3 ? 32 : 24), "CPacketTypeInfo size");
_Static_assert(sizeof(CInputPin) == 24, "CInputPin is 24 bytes");
_Static_assert(sizeof(COutputPin) == (SK_ABI >= 3 ? 40 : 32), "COutputPin size");
_Static_assert(offsetof(COutputPin, produces_type) == 8, "COutputPin type inline at 8");
_Static_assert(sizeof(CNodeMetadata) == 72, "CNodeMetadata is 72 bytes");
_Static_assert(offsetof(CNodeMetadata, categories_count) == 64, "categories_count at 64");
_Static_assert(sizeof(CResult) == 16, "CResult is 16 bytes");
_Static_assert(sizeof(CPacket) == 24, "CPacket is 24 bytes");
_Static_assert(sizeof(CNodeCallbacks) == 64, "CNodeCallbacks is 64 bytes");
_Static_assert(sizeof(CSourceConfig) == 24, "CSourceConfig is 24 bytes");
_Static_assert(sizeof(CTickResult) == 24, "CTickResult is 24 bytes");
_Static_assert(sizeof(CSchemaResult) == 24, "CSchemaResult is 24 bytes");
_Static_assert(offsetof(CNativePluginAPI, get_metadata) == 8, "get_metadata at 8");
_Static_assert(offsetof(CNativePluginAPI, destroy_instance) == 48, "destroy_instance at 48");
_Static_assert(sizeof(CNativePluginAPI) == (SK_ABI >= 5 ? 88 : SK_ABI == 4 ? 80 : SK_ABI == 3 ? 72 : 56),
	       "CNativePluginAPI size");

#endif /* STREAMKIT_ABI_H */
