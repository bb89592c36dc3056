/*
 * Segment layout and architectural constants shared by the guests' C and
 * assembly code.
 */
#ifndef GUEST_X86_H
#define GUEST_X86_H

/*
 * Our GDT (start.S); guests never rely on the one the loader left.
 * sysexit takes its ring-3 selectors from IA32_SYSENTER_CS (= KERNEL_CS):
 * +16/+24 for a 32-bit return, +32/+40 for a 64-bit one (sysexitq).
 */
#define KERNEL_CS    0x08       /* 64-bit code, DPL 0 */
#define KERNEL_DS    0x10
#define USER_CS32    0x1b       /* unused, but sysexit's layout needs it */
#define USER_DS32    0x23
#define USER_CS      0x2b       /* 64-bit code, DPL 3 */
#define USER_DS      0x33
#define KERNEL_CS32  0x38       /* 32-bit code for PVH entry and APs */
#define TSS_SEL      0x40       /* 16-byte descriptor */
#define GDT_ENTRIES  10

/*
 * RFLAGS for ring 3: IF clear, IOPL 0.  IOPL 3 would allow port I/O, but
 * native ring 3 on the CI hosts ignores it; the TSS's I/O bitmap does it.
 */
#define RFLAGS_USER  0x0002

#define RING0_STACK_SIZE 16384
#define USER_STACK_SIZE  32768

#define X86_CR0_PE   0x00000001
#define X86_CR0_PG   0x80000000
#define X86_CR4_PAE  0x00000020
#define MSR_EFER     0xc0000080
#define EFER_LME     0x00000100
#define MSR_IA32_SYSENTER_CS 0x174

/* Page table entries: present, writable, user; PS for 2 MiB pages. */
#define PTE_USER     0x07
#define PDE_2M_USER  0x87

#ifdef __ASSEMBLER__
/*
 * From 32-bit protected mode (paging off) into 64-bit mode at \target:
 * PAE, our identity map, EFER.LME, paging, then a far jump to KERNEL_CS.
 * Clobbers EAX, ECX, EDX.
 */
.macro ENTER_LONG_MODE target
    mov %cr4, %eax
    or $X86_CR4_PAE, %eax
    mov %eax, %cr4
    mov $pml4, %eax
    mov %eax, %cr3
    mov $MSR_EFER, %ecx
    rdmsr
    or $EFER_LME, %eax
    wrmsr
    mov %cr0, %eax
    or $(X86_CR0_PG | X86_CR0_PE), %eax
    mov %eax, %cr0
    ljmp $KERNEL_CS, $\target
.endm
#endif

#endif
