/*
 * json.c - JSON string literals and fields; see json.h.
 *
 * SYNOPSIS
 *	See json.h.
 */
#include "json.h"

void
json_put_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

void
json_field(FILE *out, const char *key, const char *value, bool last)
{
	json_put_string(out, key);
	fputs(": ", out);
	json_put_string(out, value);
	if (!last)
		fputs(", ", out);
}
