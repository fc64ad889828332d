/*
 * csv.h - a bounded RFC 4180 reader for operator files.
 *
 * SYNOPSIS
 *	#include "csv.h"
 *
 *	The functions: see csv.c.
 *
 * DESCRIPTION
 *	csv_next() returns one record at a time from a buffer that need not be
 *	NUL-terminated.  A bad record is reported with its line number and
 *	skipped; the reader resynchronizes so the records after it are still
 *	read.  Field values are copied, unescaped and NUL-terminated, into the
 *	record itself: a struct csv_record must not be copied by value (its
 *	field pointers point into its own buffer).
 */
#ifndef AUTHREADY_CSV_H
#define AUTHREADY_CSV_H

#include <stddef.h>

#define CSV_FIELD_MAX 4096 /* bytes in one field, after unescaping */
#define CSV_FIELDS_MAX 32  /* fields in one record */
#define CSV_RECORD_MAX                                                         \
	16384           /* raw bytes of one record, terminator excluded        \
	                 */
#define CSV_ERR_MAX 256 /* a buffer that holds any csv_next() error */

struct csv_field {
	const char *value; /* NUL-terminated; points into the record */
	size_t len;        /* bytes before the NUL (no NUL inside) */
};

struct csv_record {
	size_t line;    /* line on which the record starts, from 1 */
	size_t nfields; /* 1..CSV_FIELDS_MAX after a successful read */
	struct csv_field fields[CSV_FIELDS_MAX];
	char buf[CSV_RECORD_MAX + CSV_FIELDS_MAX];
};

struct csv_reader {
	const char *buf;
	size_t len;
	size_t pos;  /* next byte to read */
	size_t line; /* line of buf[pos] */
};

/* csv_init - read buf[0..len); a UTF-8 byte order mark is skipped. */
void csv_init(struct csv_reader *rd, const char *buf, size_t len);

/*
 * csv_next - 1 with the next record in rec; 0 at the end of the input;
 * -1 when the next record is malformed: err holds "line N: ..." and
 * rec->line the record's line; the next call goes on after it.
 */
int csv_next(struct csv_reader *rd, struct csv_record *rec, char *err,
             size_t errlen);

#endif
