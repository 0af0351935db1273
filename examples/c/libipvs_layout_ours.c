/*
 * Prints the size, alignment and every field's offset and size of lbnet/libipvs.h's structs as
 * #defines (OURS_SIZE_<s>, OURS_ALIGN_<s>, OURS_OFF_<s>_<f>, OURS_FSIZE_<s>_<f>), for
 * libipvs_layout.c to compare with ipvsadm's own libipvs.h at compile time.
 */
#include <stddef.h>
#include <stdio.h>
#include <lbnet/libipvs.h>
#include "libipvs_layout.h"

#define SZ(s) \
	printf("#define OURS_SIZE_%s %zu\n#define OURS_ALIGN_%s %zu\n", #s, sizeof(TYPE_##s), \
	       #s, _Alignof(TYPE_##s));
#define FL(s, f) \
	printf("#define OURS_OFF_%s_%s %zu\n#define OURS_FSIZE_%s_%s %zu\n", #s, #f, \
	       offsetof(TYPE_##s, f), #s, #f, sizeof(((TYPE_##s *)0)->f));
#include "libipvs_layout_types.h"

int main(void)
{
	LIBIPVS_LAYOUT(SZ, FL)
	return 0;
}
