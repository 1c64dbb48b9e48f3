/*
 * streamkit_abi.h: the StreamKit native plugin ABI (docs/abi.md) as a test plugin
 * sees it, for the API version SK_ABI (1-9; larger values use the version 9 layout).
 * The static assertions below pin every size and offset the host relies on.
 *
 * tick of versions 3-5 takes the per-call callback pairs (out, out_ud, tel, tel_ud),
 * as StreamKit's SDK declares it; define SK_TICK_PAIRS to get that signature. Without
 * it, tick takes a CNodeCallbacks pointer in every version (plugin.c relies on that).
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

/* Timing and sequencing of a packet (every field after a bool is 8-byte aligned). */
typedef struct {
	uint64_t timestamp_us;
	bool has_timestamp_us;
	uint64_t duration_us;
	bool has_duration_us;
	uint64_t sequence;
	bool has_sequence;
} CPacketMetadata;

/* What CPacket.data points to, by packet type (see the packet type enum above). */
typedef struct {
	uint32_t sample_rate;
	uint16_t channels;
	const float *samples; /* interleaved */
	size_t sample_count;  /* frames x channels */
#if SK_ABI >= 6
	void *buffer_handle;
	const CPacketMetadata *metadata;
#endif
} CAudioFrame;

typedef struct {
	const char *type_id;
	int32_t encoding; /* 0 = JSON */
	const uint8_t *data_json;
	size_t data_len;
	const CPacketMetadata *metadata;
} CCustomPacket;

typedef struct {
	const uint8_t *data;
	size_t data_len;
	const char *content_type;
	const CPacketMetadata *metadata;
#if SK_ABI >= 9
	void *buffer_handle;
	void (*free_fn)(void *);
#endif
} CBinaryPacket;

typedef struct {
	uint32_t width;
	uint32_t height;
	int32_t pixel_format; /* 0 rgba8, 1 i420, 2 nv12 */
	const uint8_t *data;
	size_t data_len;
#if SK_ABI >= 6
	void *buffer_handle;
	const CPacketMetadata *metadata;
#endif
} CVideoFrame;

typedef void (*CLogCallback)(int32_t level, const char *target, const char *message, void *user_data);
typedef CResult (*COutputCallback)(const char *pin_name, const CPacket *packet, void *user_data);
typedef CResult (*CTelemetryCallback)(const char *event_type, const uint8_t *data_json, size_t data_len,
				      const CPacketMetadata *metadata, void *user_data);

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
#if SK_ABI <= 5 && defined(SK_TICK_PAIRS)
	CTickResult (*tick)(void *handle, COutputCallback out, void *out_ud, CTelemetryCallback tel, void *tel_ud);
#else
	CTickResult (*tick)(void *handle, const CNodeCallbacks *cb);
#endif
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
_Static_assert(sizeof(CPacketMetadata) == 48, "CPacketMetadata is 48 bytes");
_Static_assert(offsetof(CPacketMetadata, duration_us) == 16, "duration_us at 16");
_Static_assert(offsetof(CPacketMetadata, has_sequence) == 40, "has_sequence at 40");
_Static_assert(sizeof(CAudioFrame) == (SK_ABI >= 6 ? 40 : 24), "CAudioFrame size");
_Static_assert(offsetof(CAudioFrame, samples) == 8, "CAudioFrame samples at 8");
_Static_assert(offsetof(CAudioFrame, sample_count) == 16, "CAudioFrame sample_count at 16");
_Static_assert(sizeof(CCustomPacket) == 40, "CCustomPacket is 40 bytes");
_Static_assert(offsetof(CCustomPacket, data_json) == 16, "CCustomPacket data_json at 16");
_Static_assert(offsetof(CCustomPacket, metadata) == 32, "CCustomPacket metadata at 32");
_Static_assert(sizeof(CBinaryPacket) == (SK_ABI >= 9 ? 48 : 32), "CBinaryPacket size");
_Static_assert(sizeof(CVideoFrame) == (SK_ABI >= 6 ? 48 : 32), "CVideoFrame size");
_Static_assert(offsetof(CVideoFrame, data) == 16, "CVideoFrame data at 16");
_Static_assert(offsetof(CNodeCallbacks, telemetry) == 24, "telemetry at 24");
_Static_assert(offsetof(CNodeCallbacks, alloc_user_data) == 56, "alloc_user_data at 56");
_Static_assert(offsetof(CTickResult, done) == 16, "CTickResult done at 16");
_Static_assert(offsetof(CSourceConfig, max_ticks) == 16, "CSourceConfig max_ticks at 16");
_Static_assert(offsetof(CSchemaResult, json_schema) == 16, "CSchemaResult json_schema at 16");
_Static_assert(offsetof(CNativePluginAPI, get_metadata) == 8, "get_metadata at 8");
_Static_assert(offsetof(CNativePluginAPI, create_instance) == 16, "create_instance at 16");
_Static_assert(offsetof(CNativePluginAPI, process_packet) == 24, "process_packet at 24");
_Static_assert(offsetof(CNativePluginAPI, update_params) == 32, "update_params at 32");
_Static_assert(offsetof(CNativePluginAPI, flush) == 40, "flush at 40");
_Static_assert(offsetof(CNativePluginAPI, destroy_instance) == 48, "destroy_instance at 48");
#if SK_ABI >= 3
_Static_assert(offsetof(CNativePluginAPI, get_source_config) == 56, "get_source_config at 56");
_Static_assert(offsetof(CNativePluginAPI, tick) == 64, "tick at 64");
#endif
#if SK_ABI >= 4
_Static_assert(offsetof(CNativePluginAPI, get_runtime_param_schema) == 72, "get_runtime_param_schema at 72");
#endif
#if SK_ABI >= 5
_Static_assert(offsetof(CNativePluginAPI, on_upstream_hint) == 80, "on_upstream_hint at 80");
#endif
_Static_assert(sizeof(CNativePluginAPI) == (SK_ABI >= 5 ? 88 : SK_ABI == 4 ? 80 : SK_ABI == 3 ? 72 : 56),
	       "CNativePluginAPI size");

#endif /* STREAMKIT_ABI_H */
