/*
 * driver.c: a C host loop for benchmarks: the cost of process_packet without Go.
 *
 *   cc -shared -fPIC -O1 -o libdriver.so driver.c -DSK_ABI=6
 *
 * double drive(const CNativePluginAPI *api, int n) creates an instance of the plugin
 * whose API table (version 6 or later) is api with params {"gain":0.5}, sends it n
 * packets of a 20 ms 48 kHz stereo frame (1920 samples) on pin "in", destroys it and
 * returns the mean nanoseconds per process_packet call; -1 when the instance cannot be
 * created or a call fails. Its output callback copies the samples it receives, as a
 * host that keeps them must.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "streamkit_abi.h"

#if SK_ABI < 6
#error "driver.c drives version 6 and later"
#endif

#define SAMPLES 1920

static float received[SAMPLES];
static size_t outputs;

static void on_log(int32_t level, const char *target, const char *message, void *ud)
{
	(void)level, (void)target, (void)message, (void)ud;
}

static CResult on_output(const char *pin, const CPacket *p, void *ud)
{
	(void)pin, (void)ud;
	const CAudioFrame *f = p->data;
	size_t n = f->sample_count < SAMPLES ? f->sample_count : SAMPLES;
	memcpy(received, f->samples, n * sizeof(float));
	outputs++;
	CResult r = {true, NULL};
	return r;
}

double drive(const CNativePluginAPI *api, int n)
{
	void *h = api->create_instance("{\"gain\":0.5}", on_log, NULL);
	if (h == NULL)
		return -1;
	static float samples[SAMPLES];
	for (size_t i = 0; i < SAMPLES; i++)
		samples[i] = (float)(0.5 * sin(2 * M_PI * 440.0 * (double)(i / 2) / 48000));
	CAudioFrame f = {.sample_rate = 48000, .channels = 2, .samples = samples, .sample_count = SAMPLES};
	CPacket p = {SK_RAW_AUDIO, &f, sizeof f};
	CNodeCallbacks cb = {.struct_size = sizeof cb, .output = on_output};
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	bool failed = false;
	for (int i = 0; i < n; i++)
		failed |= !api->process_packet(h, "in", &p, &cb).success;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	api->destroy_instance(h);
	if (failed || n <= 0)
		return -1;
	double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
	return ns / n;
}
