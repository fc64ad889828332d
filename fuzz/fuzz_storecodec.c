/*
 * NAME
 *	fuzz_storecodec - libFuzzer target for the store's record codec
 * SYNOPSIS
 *	clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *	    -Isrc/lib fuzz/fuzz_storecodec.c src/lib/storecodec.c -o fuzz_storecodec
 * DESCRIPTION
 *	Feeds the input to every decoder and to storecodec_state_peek().
 *	Anything a decoder accepts must re-encode to the same bytes
 *	(the encoding is canonical; an older state or held version
 *	re-encodes as the current one, which must decode to the same
 *	entry), and a state that decodes must peek to the same fixed
 *	fields; a difference aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "storecodec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check_same - abort unless buf[len] equals data[size]. */
static void
check_same(const unsigned char *buf, size_t len, const uint8_t *data,
           size_t size)
{
	if (len != size || memcmp(buf, data, size) != 0)
		abort();
}

/* same_problem - the peek found the decoder's first record that is not
 * a pass. */
static bool
same_problem(const struct domain_state *st,
             const struct storecodec_state_summary *sum)
{
	for (uint32_t i = 0; i < st->nrecords; i++) {
		const struct domain_record_status *r = &st->records[i];

		if (r->status == CHECK_PASS)
			continue;
		return sum->problem && sum->problem_type == r->type &&
		       sum->problem_status == r->status &&
		       strcmp(sum->problem_name, r->name) == 0;
	}
	return !sum->problem;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct domain_state st;
	static struct domain_reg reg;
	static struct held_msg msg;
	static unsigned char buf[STORECODEC_MAX];
	struct storecodec_state_summary sum;
	char err[256];
	size_t len;
	int peeked = storecodec_state_peek(data, size, &sum, err, sizeof(err));

	if (storecodec_state_decode(data, size, &st, err, sizeof(err)) == 0) {
		static struct domain_state again;

		if (peeked != 0 || sum.state != st.state ||
		    sum.next_check != st.next_check || !same_problem(&st, &sum) ||
		    storecodec_state_encode(&st, buf, sizeof(buf), &len, err,
		                        sizeof(err)) != 0)
			abort();
		if (data[2] == STORECODEC_STATE_VERSION)
			check_same(buf, len, data, size);
		else if (storecodec_state_decode(buf, len, &again, err,
		                             sizeof(err)) != 0 ||
		         memcmp(&again, &st, sizeof(st)) != 0)
			abort();
	}
	if (storecodec_reg_decode(data, size, &reg, err, sizeof(err)) == 0) {
		if (storecodec_reg_encode(&reg, buf, sizeof(buf), &len, err,
		                      sizeof(err)) != 0)
			abort();
		check_same(buf, len, data, size);
	}
	if (storecodec_held_decode(data, size, &msg, err, sizeof(err)) == 0) {
		static struct held_msg again;

		if (storecodec_held_encode(&msg, buf, sizeof(buf), &len, err,
		                       sizeof(err)) != 0)
			abort();
		if (data[2] == STORECODEC_HELD_VERSION)
			check_same(buf, len, data, size);
		else if (storecodec_held_decode(buf, len, &again, err,
		                            sizeof(err)) != 0 ||
		         memcmp(&again, &msg, sizeof(msg)) != 0)
			abort();
	}
	return 0;
}
