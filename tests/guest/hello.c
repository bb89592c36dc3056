/*
 * The smallest useful guest: the PVH entry, a line on COM1, then
 * isa-debug-exit with 0x10, so the VMM exits with status 33.
 */
#include "guest.h"

void guest_main(const struct hvm_start_info *si)
{
    check_start_info(si);
    printf("hello from the qvmm test guest\n");
    debug_exit(0x10);
}
