/* placeholder replaced below */
#include <ipvs_ffi.h>
#include <stdio.h>
#include <string.h>
int main(void) { return strcmp(lbnet_version(), "0.1.0") != 0; }
