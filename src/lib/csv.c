/*
 * csv.c - a bounded RFC 4180 reader for operator files.
 *
 * SYNOPSIS
 *	void csv_init(struct csv_reader *rd, const char *buf, size_t len);
 *	int csv_next(struct csv_reader *rd, struct csv_record *rec,
 *	    char *err, size_t errlen);
 *
 * DESCRIPTION
 *	Records end at LF or CRLF (the last one may have no terminator);
 *	fields are separated by commas.  A field is either unquoted, with
 *	the spaces and tabs around it trimmed, or quoted ("..."), where a
 *	doubled quote stands for one quote and commas, CR, LF and TAB are
 *	data; spaces and tabs around the quotes are ignored.  A record
 *	spanning lines inside quotes carries the line where it starts.
 *	Lines that are empty or hold only spaces and tabs are skipped.  A
 *	UTF-8 byte order mark at the start of the buffer is skipped.
 *
 *	Limits: CSV_FIELD_MAX bytes per field, CSV_FIELDS_MAX fields per
 *	record, CSV_RECORD_MAX raw bytes per record.
 *
 * DIAGNOSTICS
 *	A record is refused for: a quote that is never closed, text after
 *	a closing quote, a quote inside an unquoted field, a NUL byte, a
 *	control byte (except TAB anywhere, and CR and LF inside quotes),
 *	too many fields, a field or a record over its limit.  The error
 *	names the record's line and field.  Reading resumes at the line
 *	after the one where the error was found; when the culprit is an
 *	opening quote that was never closed (or closed too late to fit),
 *	at the line after the record's first line, so one stray quote costs
 *	one line.
 */
#include "csv.h"

#include <stdio.h>
#include <string.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define CSV_STR(x) #x
#define CSV_XSTR(x) CSV_STR(x)

enum csv_error {
	CSV_OK = 0,
	CSV_E_QUOTE_OPEN,
	CSV_E_FIELD_LONG,
	CSV_E_RECORD_LONG,
	CSV_E_AFTER_QUOTE,
	CSV_E_BARE_QUOTE,
	CSV_E_NUL,
	CSV_E_CONTROL,
	CSV_E_FIELDS,
};

/* What each error says; whether the field number helps the reader. */
static const struct csv_error_text {
	enum csv_error code;
	int per_field;
	const char *text;
} csv_error_texts[] = {
    {CSV_E_QUOTE_OPEN, 1, "the quoted field is never closed"},
    {CSV_E_FIELD_LONG, 1,
     "the field is longer than " CSV_XSTR(CSV_FIELD_MAX) " bytes"},
    {CSV_E_RECORD_LONG, 0,
     "the record is longer than " CSV_XSTR(CSV_RECORD_MAX) " bytes"},
    {CSV_E_AFTER_QUOTE, 1, "text after the closing quote"},
    {CSV_E_BARE_QUOTE, 1,
     "a quote inside an unquoted field (quote the whole field and double "
     "the quote)"},
    {CSV_E_NUL, 1, "a NUL byte"},
    {CSV_E_CONTROL, 1, "a control byte"},
    {CSV_E_FIELDS, 0, "more than " CSV_XSTR(CSV_FIELDS_MAX) " fields"},
};

/* The state of reading one record. */
struct csv_scan {
	const char *buf;
	size_t len;
	size_t pos, line;         /* where we are */
	size_t start, start_line; /* where the record began */
	struct csv_record *rec;
	size_t used; /* bytes of rec->buf in use */
	size_t flen; /* bytes of the current field */
	int quoted;  /* inside an open quote */
	enum csv_error error;
	size_t err_pos, err_line;
	unsigned char bad; /* the offending byte */
};

/* csv_fail - remember the first error and where it happened. */
static int
csv_fail(struct csv_scan *s, enum csv_error e)
{
	s->error = e;
	s->err_pos = s->pos;
	s->err_line = s->line;
	s->bad = s->pos < s->len ? (unsigned char)s->buf[s->pos] : 0;
	return -1;
}

/* csv_skip - step over buf[pos], counting it against the record limit. */
static int
csv_skip(struct csv_scan *s)
{
	if (s->pos - s->start >= CSV_RECORD_MAX)
		return csv_fail(s, CSV_E_RECORD_LONG);
	if (s->buf[s->pos] == '\n')
		s->line++;
	s->pos++;
	return 0;
}

/* csv_take - append buf[pos] to the current field and step over it. */
static int
csv_take(struct csv_scan *s)
{
	if (s->pos - s->start >= CSV_RECORD_MAX ||
	    s->used + 1 >= sizeof(s->rec->buf))
		return csv_fail(s, CSV_E_RECORD_LONG);
	if (s->flen >= CSV_FIELD_MAX)
		return csv_fail(s, CSV_E_FIELD_LONG);
	s->rec->buf[s->used++] = s->buf[s->pos];
	s->flen++;
	return csv_skip(s);
}

/* csv_at_end - true at the end of the record: EOF, LF or CRLF. */
static int
csv_at_end(const struct csv_scan *s)
{
	if (s->pos >= s->len || s->buf[s->pos] == '\n')
		return 1;
	return s->buf[s->pos] == '\r' && s->pos + 1 < s->len &&
	       s->buf[s->pos + 1] == '\n';
}

/* csv_blank - skip spaces and tabs. */
static int
csv_blank(struct csv_scan *s)
{
	while (s->pos < s->len &&
	       (s->buf[s->pos] == ' ' || s->buf[s->pos] == '\t'))
		if (csv_skip(s) != 0)
			return -1;
	return 0;
}

/* csv_byte_ok - NUL and controls are refused; TAB always, CR/LF quoted. */
static int
csv_byte_ok(struct csv_scan *s, int quoted)
{
	unsigned char c = (unsigned char)s->buf[s->pos];

	if (c == '\0')
		return csv_fail(s, CSV_E_NUL);
	if (c == '\t' || (quoted && (c == '\r' || c == '\n')))
		return 0;
	if (c < 0x20 || c == 0x7f)
		return csv_fail(s, CSV_E_CONTROL);
	return 0;
}

/* csv_quoted - a quoted field; pos is on the opening quote. */
static int
csv_quoted(struct csv_scan *s)
{
	if (csv_skip(s) != 0)
		return -1;
	s->quoted = 1;
	for (;;) {
		if (s->pos >= s->len)
			return csv_fail(s, CSV_E_QUOTE_OPEN);
		if (s->buf[s->pos] == '"') {
			if (csv_skip(s) != 0)
				return -1;
			if (s->pos >= s->len || s->buf[s->pos] != '"')
				break;
		} else if (csv_byte_ok(s, 1) != 0)
			return -1;
		if (csv_take(s) != 0)
			return -1;
	}
	s->quoted = 0;
	if (csv_blank(s) != 0)
		return -1;
	if (!csv_at_end(s) && s->buf[s->pos] != ',')
		return csv_fail(s, CSV_E_AFTER_QUOTE);
	return 0;
}

/* csv_plain - an unquoted field, trailing blanks trimmed. */
static int
csv_plain(struct csv_scan *s)
{
	while (!csv_at_end(s) && s->buf[s->pos] != ',') {
		if (s->buf[s->pos] == '"')
			return csv_fail(s, CSV_E_BARE_QUOTE);
		if (csv_byte_ok(s, 0) != 0 || csv_take(s) != 0)
			return -1;
	}
	while (s->flen > 0 && (s->rec->buf[s->used - 1] == ' ' ||
	                       s->rec->buf[s->used - 1] == '\t')) {
		s->flen--;
		s->used--;
	}
	return 0;
}

/* csv_field - one field, stored NUL-terminated in the record. */
static int
csv_field(struct csv_scan *s)
{
	struct csv_field *f = &s->rec->fields[s->rec->nfields];
	size_t first = s->used;
	int rc;

	s->flen = 0;
	if (csv_blank(s) != 0)
		return -1;
	if (s->pos < s->len && s->buf[s->pos] == '"')
		rc = csv_quoted(s);
	else
		rc = csv_plain(s);
	if (rc != 0)
		return -1;
	s->rec->buf[s->used++] = '\0';
	f->value = s->rec->buf + first;
	f->len = s->flen;
	s->rec->nfields++;
	return 0;
}

/* csv_record - fields up to the end of the record and its terminator. */
static int
csv_record(struct csv_scan *s)
{
	for (;;) {
		if (csv_field(s) != 0)
			return -1;
		if (csv_at_end(s))
			break;
		/* csv_field stops only at the end or at a comma */
		if (s->rec->nfields == CSV_FIELDS_MAX)
			return csv_fail(s, CSV_E_FIELDS);
		if (csv_skip(s) != 0)
			return -1;
	}
	if (s->pos < s->len && s->buf[s->pos] == '\r')
		s->pos++;
	if (s->pos < s->len) {
		s->pos++;
		s->line++;
	}
	return 0;
}

/* csv_skip_blank_lines - 0 at a record, 1 at the end of the input. */
static int
csv_skip_blank_lines(struct csv_reader *rd)
{
	size_t p;

	for (;;) {
		p = rd->pos;
		while (p < rd->len && (rd->buf[p] == ' ' || rd->buf[p] == '\t'))
			p++;
		if (p >= rd->len) {
			rd->pos = rd->len;
			return 1;
		}
		if (rd->buf[p] == '\r' && p + 1 < rd->len &&
		    rd->buf[p + 1] == '\n')
			p++;
		if (rd->buf[p] != '\n')
			return 0;
		rd->pos = p + 1;
		rd->line++;
	}
}

/* csv_resync - where reading goes on after a bad record. */
static void
csv_resync(struct csv_reader *rd, const struct csv_scan *s)
{
	int stray_quote = s->quoted && (s->error == CSV_E_QUOTE_OPEN ||
	                                s->error == CSV_E_FIELD_LONG ||
	                                s->error == CSV_E_RECORD_LONG);
	size_t from = stray_quote ? s->start : s->err_pos;
	const char *nl;

	rd->line = (stray_quote ? s->start_line : s->err_line) + 1;
	nl = from < rd->len ? memchr(rd->buf + from, '\n', rd->len - from)
	                    : NULL;
	rd->pos = nl != NULL ? (size_t)(nl - rd->buf) + 1 : rd->len;
}

/* csv_explain - the error sentence for a bad record. */
static void
csv_explain(const struct csv_scan *s, char *err, size_t errlen)
{
	const struct csv_error_text *t = NULL;
	char where[64] = "", byte[16] = "", hint[48] = "";
	size_t i;

	if (err == NULL || errlen == 0)
		return;
	for (i = 0; i < NELEM(csv_error_texts); i++)
		if (csv_error_texts[i].code == s->error)
			t = &csv_error_texts[i];
	if (t == NULL) {
		snprintf(err, errlen, "line %zu: malformed record",
		         s->start_line);
		return;
	}
	if (t->per_field)
		snprintf(where, sizeof(where),
		         "field %zu: ", s->rec->nfields + 1);
	if (s->error == CSV_E_CONTROL || s->error == CSV_E_AFTER_QUOTE)
		snprintf(byte, sizeof(byte), " (0x%02x)", s->bad);
	if (s->err_line != s->start_line && s->error != CSV_E_QUOTE_OPEN)
		snprintf(hint, sizeof(hint), " on line %zu", s->err_line);
	if (s->quoted && s->error == CSV_E_FIELD_LONG)
		snprintf(hint + strlen(hint), sizeof(hint) - strlen(hint),
		         "; is a closing quote missing?");
	snprintf(err, errlen, "line %zu: %s%s%s%s", s->start_line, where,
	         t->text, byte, hint);
}

void
csv_init(struct csv_reader *rd, const char *buf, size_t len)
{
	rd->buf = buf;
	rd->len = buf != NULL ? len : 0;
	rd->pos = 0;
	rd->line = 1;
	if (rd->len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		rd->pos = 3;
}

int
csv_next(struct csv_reader *rd, struct csv_record *rec, char *err,
         size_t errlen)
{
	struct csv_scan s;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	rec->nfields = 0;
	if (csv_skip_blank_lines(rd))
		return 0;
	memset(&s, 0, sizeof(s));
	s.buf = rd->buf;
	s.len = rd->len;
	s.pos = s.start = rd->pos;
	s.line = s.start_line = rd->line;
	s.rec = rec;
	rec->line = rd->line;
	if (csv_record(&s) != 0) {
		csv_explain(&s, err, errlen);
		csv_resync(rd, &s);
		rec->nfields = 0;
		return -1;
	}
	rd->pos = s.pos;
	rd->line = s.line;
	return 1;
}
