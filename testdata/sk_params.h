/*
 * sk_params.h: reading the flat JSON params of the test plugins (gain.c, text.c,
 * source.c). Only what the tests send is understood: an object whose keys are
 * unique and whose values are numbers or true/false. Not a JSON parser.
 */
#ifndef SK_PARAMS_H
#define SK_PARAMS_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* sk_param_value returns the text after `"key":` in json, or NULL. */
static inline const char *sk_param_value(const char *json, const char *key)
{
	if (json == NULL)
		return NULL;
	size_t n = strlen(key);
	for (const char *p = strchr(json, '"'); p != NULL; p = strchr(p + 1, '"')) {
		if (strncmp(p + 1, key, n) != 0 || p[n + 1] != '"')
			continue;
		const char *v = p + n + 2;
		while (*v == ' ')
			v++;
		if (*v != ':')
			continue;
		v++;
		while (*v == ' ')
			v++;
		return v;
	}
	return NULL;
}

/* sk_param_number stores the number of key in *out and reports whether there was one. */
static inline bool sk_param_number(const char *json, const char *key, double *out)
{
	const char *v = sk_param_value(json, key);
	if (v == NULL)
		return false;
	char *end;
	double d = strtod(v, &end);
	if (end == v)
		return false;
	*out = d;
	return true;
}

/* sk_param_true reports whether key is true. */
static inline bool sk_param_true(const char *json, const char *key)
{
	const char *v = sk_param_value(json, key);
	return v != NULL && strncmp(v, "true", 4) == 0;
}

#endif /* SK_PARAMS_H */
