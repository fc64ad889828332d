/* mx.c - see mx.h; being written. */
#include "mx.h"
