/*
 * Application processor start-up for the smp guest.
 *
 * ap_trampoline is copied below 1 MiB (SMP_TRAMPOLINE in smp.c) and
 * started there by a SIPI in real mode with CS = address >> 4, IP = 0.
 * It only uses offsets from its own start, so it runs wherever it was
 * copied.  From there the AP follows the BSP's path: our GDT, protected
 * mode, long mode, then C (ap_main) in ring 0.  APs stay in ring 0: they
 * do little, and one TSS/ring-3 stack per CPU is not worth it.
 */
#include "x86.h"

#define AP_STACK_SIZE 8192
#define AP_STACKS     64

    .section .rodata
    .code16
    .globl ap_trampoline, ap_trampoline_end
ap_trampoline:
    cli
    cld
    mov %cs, %ax
    mov %ax, %ds
    lgdtl ap_gdt_desc - ap_trampoline
    mov %cr0, %eax
    or $X86_CR0_PE, %eax
    mov %eax, %cr0
    ljmpl $KERNEL_CS32, $ap_start32
    .balign 4
    .word 0
ap_gdt_desc:
    .word GDT_ENTRIES * 8 - 1
    .long gdt
ap_trampoline_end:

    .text
    .code32
ap_start32:
    mov $KERNEL_DS, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov %eax, %fs
    mov %eax, %gs
    ENTER_LONG_MODE ap_start64

    .code64
ap_start64:
    mov $1, %eax
    lock xadd %eax, ap_stack_next(%rip)
    cmp $AP_STACKS, %eax
    jae 2f                      /* more APs than stacks: stay parked */
    inc %eax
    imul $AP_STACK_SIZE, %eax
    lea ap_stacks(%rax), %rsp
    call ap_main
2:  cli
    hlt
    jmp 2b

    .bss
    .balign 4
ap_stack_next:
    .long 0

    .section .stack, "aw", @nobits
    .balign 16
ap_stacks:
    .space AP_STACK_SIZE * AP_STACKS

    .section .note.GNU-stack, "", @progbits
