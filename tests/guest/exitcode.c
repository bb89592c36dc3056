/*
 * Ends through isa-debug-exit with the value given as "code=N" on the
 * command line, so the VMM's exit status must be (N << 1) | 1.
 */
#include "guest.h"

void guest_main(const struct hvm_start_info *si)
{
    uint32_t code;

    check_start_info(si);
    if (!cmdline_get_u32(si, "code", &code)) {
        guest_fail("no code=N on the command line \"%s\"", boot_cmdline(si));
    }
    printf("exitcode: writing %u to the debug-exit port\n", code);
    debug_exit(code);
}
