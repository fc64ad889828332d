/*
 * text.c - small text helpers; see text.h.
 *
 * SYNOPSIS
 *	See text.h.
 */
#include "text.h"

#include "errbuf.h"

#include "sanitize.h"

const char *
text_quote(char *buf, size_t size, const char *text, size_t len)
{
	sanitize_text(buf, size, (const unsigned char *)text, len);
	return buf;
}

bool
text_ieq_n(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (text_lower((unsigned char)a[i]) !=
		    text_lower((unsigned char)b[i]))
			return false;
	return true;
}

bool
text_ieq(const char *buf, size_t len, const char *word)
{
	return strlen(word) == len && text_ieq_n(buf, word, len);
}

int
text_refuse_control(const char *text, size_t len, const char *what,
                    bool allow_tab, char *err, size_t errlen)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == '\0')
			return errbuf_fail(err, errlen,
			                   "%s contains a NUL byte", what);
		if ((c < 0x20 && !(allow_tab && c == '\t')) || c == 0x7f)
			return errbuf_fail(err, errlen,
			                   "%s contains the control character "
			                   "\\x%02x",
			                   what, c);
	}
	return 0;
}
