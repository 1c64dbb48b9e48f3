/*
 * helper.c: a helper library a plugin loads from its own folder through $ORIGIN, as
 * a model plugin loads onnxruntime. Built by plugintest.HelperLibrary:
 *
 *   cc -shared -fPIC -O1 -o libskhelper.so helper.c -DSK_HELPER_VERSION=2
 */
#ifndef SK_HELPER_VERSION
#define SK_HELPER_VERSION 1
#endif

/* A table big enough that a copy over the file changes pages a process mapped. */
static const int sk_helper_table[64 * 1024] = {SK_HELPER_VERSION};

int sk_helper_version(void)
{
	return sk_helper_table[0];
}
