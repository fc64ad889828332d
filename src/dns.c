/* dns.c - see dns.h; being written. */
#include "dns.h"
