/*
 * noisy.c: linked with ../../testdata/plugin.c into a well-formed test plugin whose
 * constructor writes a lot (more than a pipe holds) to standard output and standard
 * error, including bytes that look like protocol messages.
 *
 *   cc -shared -fPIC -o libnoisy.so ../../testdata/plugin.c noisy.c -DSK_ABI=6 -DSK_KIND='"noisy"'
 */
#include <stdio.h>
#include <unistd.h>

__attribute__((constructor)) static void noisy(void)
{
	/* A gob message header and a JSON hello, as a confused parent might read them. */
	static const char junk[] = "\x0c\xff\x81\x03\x01\x01\x05reply\x01\xff\x82\x00{\"Hello\":1}\n";
	for (int i = 0; i < 4096; i++) {
		fwrite(junk, 1, sizeof junk - 1, stdout);
		fprintf(stderr, "noisy: constructor line %d\n", i);
	}
	fflush(stdout);
	(void)!write(1, junk, sizeof junk - 1);
	(void)!write(2, junk, sizeof junk - 1);
}
