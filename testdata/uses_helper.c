/*
 * uses_helper.c: the well-formed test plugin of plugin.c that needs libskhelper.so
 * from its own folder (linked with -lskhelper and a run path of $ORIGIN), and calls
 * it from a constructor and from get_metadata's caller. Built by
 * plugintest.UsesHelper.
 */
#include "plugin.c"

extern int sk_helper_version(void);

__attribute__((constructor)) static void use_helper(void)
{
	(void)sk_helper_version();
}
