/*
 * PVH entry for the test guests.
 *
 * We arrive in 32-bit protected mode, paging off, interrupts off, with
 * EBX pointing at struct hvm_start_info.  On the CI hosts KVM runs guest
 * ring 0 in its instruction emulator (about 0.6 us an instruction), and
 * ring 3 natively only in 64-bit mode with paging on.  So this file does
 * the minimum in ring 0: own GDT, identity map and long mode, clear .bss,
 * TSS and IDT (in C), then sysexit into 64-bit ring 3, where
 * guest_main() runs at native speed and can still do port I/O.
 *
 * What works across that boundary here: KVM's emulator cannot iret to an
 * outer privilege level but implements sysexit, so ring 3 is entered
 * that way.  From ring 3, exceptions reach our IDT, while int $n raises
 * #UD and syscall does not reach a usable ring 0, so ring 3 gets into
 * ring 0 through a #UD (ring0_call).  Native ring 3 ignores IOPL, so port
 * I/O is allowed through the TSS I/O bitmap.
 */
#include "x86.h"

    .section .note.Xen, "a", @note
    .balign 4
    .long 4                     /* namesz: "Xen\0" */
    .long 4                     /* descsz: a 32-bit physical address */
    .long 18                    /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .long pvh_start

    .section .text.entry, "ax"
    .code32
    .globl pvh_start
pvh_start:
    cli
    cld
    mov %ebx, %esi              /* survives ENTER_LONG_MODE */
    lgdt gdt_desc
    ljmp $KERNEL_CS32, $1f
1:  mov $KERNEL_DS, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov %eax, %fs
    mov %eax, %gs
    ENTER_LONG_MODE start64

    .code64
start64:
    mov %esi, %esi              /* upper halves are undefined after the switch */
    mov $ring0_stack_top, %esp
    /* .bss may hold leftovers when a VMM re-enters us after a reset. */
    mov $__bss_start, %edi
    mov $__bss_end, %ecx
    sub %edi, %ecx
    shr $3, %ecx
    xor %eax, %eax
    rep stosq
    mov %rsi, boot_start_info(%rip)

    call ring0_setup

    pushq $RFLAGS_USER
    popfq
    mov $ring3_start, %edx
    mov $user_stack_top, %ecx
    sysexitq

ring3_start:
    mov boot_start_info(%rip), %rdi
    call guest_main
    call guest_main_returned

/*
 * void ring0_call(void (*fn)(uint64_t), uint64_t arg), from ring 3: the
 * ud2 raises #UD, and exception_handler() recognises this address, runs
 * fn(arg) in ring 0 and returns here past the ud2 (exc_common).
 */
    .globl ring0_call, ring0_call_trap
ring0_call:
    mov %rdi, %rax
    mov %rsi, %rdi
ring0_call_trap:
    ud2
    ret

/* Exception stubs: give every frame an error code, then the vector. */
.macro EXC_NOERR vec
exc_stub_\vec:
    pushq $0
    pushq $\vec
    jmp exc_common
.endm
.macro EXC_ERR vec
exc_stub_\vec:
    pushq $\vec
    jmp exc_common
.endm

    EXC_NOERR 0
    EXC_NOERR 1
    EXC_NOERR 2
    EXC_NOERR 3
    EXC_NOERR 4
    EXC_NOERR 5
    EXC_NOERR 6
    EXC_NOERR 7
    EXC_ERR   8
    EXC_NOERR 9
    EXC_ERR   10
    EXC_ERR   11
    EXC_ERR   12
    EXC_ERR   13
    EXC_ERR   14
    EXC_NOERR 15
    EXC_NOERR 16
    EXC_ERR   17
    EXC_NOERR 18
    EXC_NOERR 19
    EXC_NOERR 20
    EXC_ERR   21
    EXC_NOERR 22
    EXC_NOERR 23
    EXC_NOERR 24
    EXC_NOERR 25
    EXC_NOERR 26
    EXC_NOERR 27
    EXC_NOERR 28
    EXC_NOERR 29
    EXC_ERR   30
    EXC_NOERR 31

exc_common:
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, %rbx
    mov %rsp, %rdi              /* struct exc_frame * */
    and $-16, %rsp
    call exception_handler      /* returns only after a ring0_call */
    mov %rbx, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    pop %rax
    add $16, %rsp               /* vector, error code */
    mov 0(%rsp), %rdx           /* sysexit: RIP from RDX, RSP from RCX */
    mov 24(%rsp), %rcx
    sysexitq

    .section .rodata
    .globl exc_stubs
    .balign 8
exc_stubs:
    .irp vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad exc_stub_\vec
    .endr

    .data
    .balign 16
    .globl gdt
gdt:
    .quad 0
    .quad 0x00af9a000000ffff    /* KERNEL_CS: 64-bit code, DPL 0 */
    .quad 0x00cf92000000ffff    /* KERNEL_DS: flat data, DPL 0 */
    .quad 0x00cffa000000ffff    /* USER_CS32: flat 32-bit code, DPL 3 */
    .quad 0x00cff2000000ffff    /* USER_DS32: flat data, DPL 3 */
    .quad 0x00affa000000ffff    /* USER_CS: 64-bit code, DPL 3 */
    .quad 0x00cff2000000ffff    /* USER_DS: flat data, DPL 3 */
    .quad 0x00cf9a000000ffff    /* KERNEL_CS32: flat 32-bit code, DPL 0 */
    .quad 0, 0                  /* TSS_SEL: filled in by ring0_setup() */
gdt_end:
    .balign 4
    .word 0
gdt_desc:
    .word gdt_end - gdt - 1
    .long gdt

/* Identity map of the low 4 GiB with 2 MiB user pages, MMIO included. */
    .balign 4096
page_directories:
    .set addr, 0
    .rept 2048
    .quad addr | PDE_2M_USER
    .set addr, addr + 0x200000
    .endr
pdpt:
    .quad page_directories + 0x0000 + PTE_USER
    .quad page_directories + 0x1000 + PTE_USER
    .quad page_directories + 0x2000 + PTE_USER
    .quad page_directories + 0x3000 + PTE_USER
    .fill 508, 8, 0
    .globl pml4
pml4:
    .quad pdpt + PTE_USER
    .fill 511, 8, 0

    .section .stack, "aw", @nobits
    .balign 16
    .globl ring0_stack_top
    .space RING0_STACK_SIZE
ring0_stack_top:
    .space USER_STACK_SIZE
user_stack_top:

    .section .note.GNU-stack, "", @progbits
