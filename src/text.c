/*
 * text.c - small text helpers; see text.h.
 */
#include "text.h"

#include "sanitize.h"

const char *
text_quote(char *buf, size_t size, const char *text, size_t len)
{
	sanitize_text(buf, size, (const unsigned char *)text, len);
	return buf;
}
