/*
 * Compiled against ipvsadm 1.31's own libipvs/libipvs.h (-I <ipvsadm source tree>) and the
 * sizes and offsets libipvs_layout_ours.c printed from lbnet/libipvs.h (-include that output):
 * every struct's size and alignment and every field's offset and size must be equal, else this
 * does not compile. Run, it prints how many were checked.
 */
#include <stddef.h>
#include <stdio.h>
#include "libipvs/libipvs.h"
#include "libipvs_layout.h"
#include "libipvs_layout_types.h"

#define SZ(s) \
	_Static_assert(sizeof(TYPE_##s) == OURS_SIZE_##s, "sizeof " #s " differs"); \
	_Static_assert(_Alignof(TYPE_##s) == OURS_ALIGN_##s, "alignment of " #s " differs");
#define FL(s, f) \
	_Static_assert(offsetof(TYPE_##s, f) == OURS_OFF_##s##_##f, "offsetof " #s "." #f " differs"); \
	_Static_assert(sizeof(((TYPE_##s *)0)->f) == OURS_FSIZE_##s##_##f, "size of " #s "." #f " differs");
LIBIPVS_LAYOUT(SZ, FL)
#undef SZ
#undef FL

#define SZ(s) structs++;
#define FL(s, f) fields++;
int main(void)
{
	int structs = 0, fields = 0;
	LIBIPVS_LAYOUT(SZ, FL)
	printf("libipvs layout: %d structs and %d fields of ipvsadm 1.31's libipvs.h match lbnet/libipvs.h (size, alignment, offset, field size)\n",
	       structs, fields);
	return 0;
}
