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

bool
text_ieq(const char *buf, size_t len, const char *word)
{
	size_t i;

	if (strlen(word) != len)
		return false;
	for (i = 0; i < len; i++)
		if (text_lower((unsigned char)buf[i]) !=
		    text_lower((unsigned char)word[i]))
			return false;
	return true;
}
