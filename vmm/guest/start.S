/*
 * The built-in guest's entry. The PVH loader starts it in 32-bit protected
 * mode, paging off, EBX = struct hvm_start_info. It maps the first 4 GiB,
 * goes straight to long mode (no legacy or PAE-only paging on the way:
 * the host cannot run those) and calls guest_main. APs come in through a
 * real-mode trampoline, join at the same 32-bit step and call ap_main.
 */
#include "../pc.h"

#define SEL_CODE32	0x08
#define SEL_CODE64	0x10
#define SEL_DATA	0x18

#define CR0_PE		0x1
#define CR0_PG		0x80000000
#define CR4_PAE		0x20
#define MSR_EFER	0xC0000080
#define EFER_LME	0x100
#define PTE_LARGE	0x83		/* present, writable, 2 MiB */
#define PTE_UNCACHED	0x18		/* PWT, PCD */

	/* Where the PVH loader enters: XEN_ELFNOTE_PHYS32_ENTRY. */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4, 4, 18
	.asciz "Xen"
	.long pvh_start

	.section .text.entry, "ax"
	.code32
	.globl pvh_start
pvh_start:
	movl	%ebx, start_info
	lgdt	gdt_ptr
	ljmp	$SEL_CODE32, $1f
1:	movl	$SEL_DATA, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss

	/* 2048 2 MiB pages; the PCI hole, where the APICs live, uncached. */
	movl	$pdpt + 3, pml4
	movl	$pd + 0x0003, pdpt
	movl	$pd + 0x1003, pdpt + 8
	movl	$pd + 0x2003, pdpt + 16
	movl	$pd + 0x3003, pdpt + 24
	xorl	%ecx, %ecx
2:	movl	%ecx, %eax
	shll	$21, %eax
	orl	$PTE_LARGE, %eax
	cmpl	$(PC_PCI_HOLE >> 21), %ecx
	jb	3f
	orl	$PTE_UNCACHED, %eax
3:	movl	%eax, pd(, %ecx, 8)
	incl	%ecx
	cmpl	$2048, %ecx
	jne	2b
	movl	$1, %esi		/* the BSP */
	jmp	long_mode

	/* APs, from the trampoline, in 32-bit protected mode. */
ap_start32:
	movl	$SEL_DATA, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	xorl	%esi, %esi
long_mode:
	movl	%cr4, %eax
	orl	$CR4_PAE, %eax
	movl	%eax, %cr4
	movl	$pml4, %eax
	movl	%eax, %cr3
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$EFER_LME, %eax
	wrmsr
	movl	%cr0, %eax
	orl	$CR0_PG, %eax
	movl	%eax, %cr0
	ljmp	$SEL_CODE64, $start64

	.code64
start64:
	testl	%esi, %esi
	jz	1f
	movq	$bsp_stack_top, %rsp
	movl	start_info, %edi
	call	guest_main
	jmp	halt
1:	movq	ap_stack, %rsp
	call	ap_main
	.globl	halt
halt:
	cli
	hlt
	jmp	halt

	/*
	 * Copied to PC_AP_TRAMPOLINE; SIPI starts it with CS = that >> 4,
	 * IP = 0. It only reaches protected mode and jumps to ap_start32.
	 */
	.code16
	.globl	ap_trampoline, ap_trampoline_end
ap_trampoline:
	cli
	lgdtl	%cs:(ap_gdt_ptr - ap_trampoline)
	movl	$CR0_PE, %eax		/* and INIT's CD, NW off */
	movl	%eax, %cr0
	ljmpl	$SEL_CODE32, $ap_start32
ap_gdt_ptr:
	.word	gdt_end - gdt - 1
	.long	gdt
ap_trampoline_end:

	/*
	 * One 16-byte stub per vector: an error code (the CPU's or 0), the
	 * vector, then intr_dispatch(frame) with the caller-saved registers.
	 */
	.code64
	.text
	.balign	16
	.globl	isr_stubs
isr_stubs:
	vec = 0
	.rept	256
	.balign	16
	.if (vec == 8) || (vec >= 10 && vec <= 14) || (vec == 17) || \
	    (vec == 21) || (vec == 29) || (vec == 30)
	.else
	pushq	$0
	.endif
	pushq	$vec
	jmp	isr_common
	vec = vec + 1
	.endr

isr_common:
	pushq	%rax
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	movq	%rsp, %rdi
	cld
	call	intr_dispatch
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rax
	addq	$16, %rsp
	iretq

	.section .rodata
	.balign	8
	/* Accessed bits preset: the CPU never writes to this GDT. */
gdt:
	.quad	0
	.quad	0x00CF9B000000FFFF	/* SEL_CODE32 */
	.quad	0x00AF9B000000FFFF	/* SEL_CODE64 */
	.quad	0x00CF93000000FFFF	/* SEL_DATA */
gdt_end:
gdt_ptr:
	.word	gdt_end - gdt - 1
	.long	gdt

	.data
	.balign	4
start_info:
	.long	0

	.bss
	.balign	4096
pml4:	.skip	4096
pdpt:	.skip	4096
pd:	.skip	4 * 4096
	.balign	16
	.skip	16384
bsp_stack_top:

	.section .note.GNU-stack, "", @progbits
