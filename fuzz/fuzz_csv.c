/*
 * fuzz_csv.c - libFuzzer target for the CSV reader and the registry
 * import on hostile files.
 *
 * Every record of the input is read; the first good record is the header.
 * When the header maps, every later record goes through regimport_row()
 * and the duplicate-domain set; when it does not, every field of every
 * record is fed to each column's validator through regimport_set(), so
 * the validators are reached by any input.  Invariants are checked with
 * abort(): progress on every call, bounded records, NUL-terminated fields
 * of the stated length, error sentences that start with "line ", and
 * every entry a row gives is written back by regexport_row() (or
 * refused by it) and read back into the very same entry.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE
 *	-Isrc/lib fuzz/fuzz_csv.c libauthready.a (+ its libraries)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "regexport.h"
#include "regimport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_check_record - the invariants of a record csv_next() returned. */
static void
fuzz_check_record(const struct csv_record *rec)
{
	size_t i;

	if (rec->nfields == 0 || rec->nfields > CSV_FIELDS_MAX)
		abort();
	for (i = 0; i < rec->nfields; i++)
		if (rec->fields[i].len > CSV_FIELD_MAX ||
		    strlen(rec->fields[i].value) != rec->fields[i].len)
			abort();
}

/* fuzz_validators - every field through every column's setter. */
static void
fuzz_validators(const struct csv_record *rec)
{
	struct domain_reg reg;
	char why[REGIMPORT_ERR_MAX];
	size_t i;
	int col;

	for (i = 0; i < rec->nfields; i++) {
		for (col = 0; col < REGIMPORT_NCOLS; col++) {
			regimport_reg_init(&reg, 0);
			(void)regimport_set(&reg, REGIMPORT_DOMAIN,
			                    "example.com", 11, why,
			                    sizeof(why));
			(void)regimport_set(
			    &reg, (enum regimport_col)col, rec->fields[i].value,
			    rec->fields[i].len, why, sizeof(why));
			if (reg.nselectors > DOMAIN_SELECTORS_MAX ||
			    reg.negress > DOMAIN_EGRESS_MAX)
				abort();
		}
	}
}

/* fuzz_round_trip - reg exported and imported again is reg. */
static void
fuzz_round_trip(const struct domain_reg *reg)
{
	static char text[2 * REGEXPORT_LINE_MAX];
	static struct csv_record hdr, row;
	static struct domain_reg back;
	struct regimport_columns cols;
	struct csv_reader rd;
	char err[REGIMPORT_ERR_MAX];
	size_t hlen, rlen;

	if (regexport_header(text, sizeof(text), &hlen) != 0)
		abort();
	if (regexport_row(reg, text + hlen, sizeof(text) - hlen, &rlen, err,
	                  sizeof(err)) != 0)
		return; /* refused (a key path with a space and a quote) */
	csv_init(&rd, text, hlen + rlen);
	if (csv_next(&rd, &hdr, err, sizeof(err)) != 1 ||
	    regimport_header(&hdr, &cols, err, sizeof(err)) != 0 ||
	    csv_next(&rd, &row, err, sizeof(err)) != 1 ||
	    regimport_row(&cols, &row, 0, &back, err, sizeof(err)) != 0 ||
	    memcmp(&back, reg, sizeof(back)) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct csv_record hdr, rec;
	struct regimport_columns cols;
	struct regimport_seen seen;
	struct csv_reader rd;
	struct domain_reg reg;
	char err[REGIMPORT_ERR_MAX];
	int rc, have_hdr = 0, hdr_ok = 0;
	size_t last = 0;

	regimport_seen_init(&seen);
	csv_init(&rd, (const char *)data, size);
	while ((rc = csv_next(&rd, have_hdr ? &rec : &hdr, err, sizeof(err))) !=
	       0) {
		if (rd.pos <= last && size > 0)
			abort();
		last = rd.pos;
		if (rc < 0) {
			if (strncmp(err, "line ", 5) != 0)
				abort();
			continue;
		}
		if (!have_hdr) {
			fuzz_check_record(&hdr);
			have_hdr = 1;
			hdr_ok = regimport_header(&hdr, &cols, err,
			                          sizeof(err)) == 0;
			continue;
		}
		fuzz_check_record(&rec);
		if (!hdr_ok) {
			fuzz_validators(&rec);
			continue;
		}
		if (regimport_row(&cols, &rec, 0, &reg, err, sizeof(err)) ==
		    0) {
			fuzz_round_trip(&reg);
			(void)regimport_seen_add(&seen, reg.domain, rec.line,
			                         err, sizeof(err));
		} else if (strncmp(err, "line ", 5) != 0)
			abort();
	}
	regimport_seen_free(&seen);
	return 0;
}
