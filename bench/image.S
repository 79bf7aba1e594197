/*
 * The benchmark guest image (see guest.h). Real mode at the reset vector,
 * straight to long mode with a 2 MiB identity page (RAM comes zeroed, so
 * three entries make the tables), then the loop its parameters choose.
 */
#include "guest.h"

/* The linear address of an image symbol seen through its 0xF0000 mapping. */
#define LIN(sym)	(GUEST_ROM_GPA + (sym) - bench_image)
#define PML4		0x1000

	.section .rodata.bench_image, "a"
	.code16
	.globl	bench_image
bench_image:
	cli
	xor	%ax, %ax
	mov	%ax, %ds
	movl	$(PML4 + 0x1000) | 3, PML4
	movl	$(PML4 + 0x2000) | 3, PML4 + 0x1000
	movl	$0x83, PML4 + 0x2000		/* 2 MiB page at 0 */
	lgdtl	%cs:(gdtr - bench_image)
	mov	$0x20, %eax			/* CR4.PAE */
	mov	%eax, %cr4
	mov	$PML4, %eax
	mov	%eax, %cr3
	mov	$0xC0000080, %ecx		/* EFER.LME */
	rdmsr
	or	$0x100, %eax
	wrmsr
	mov	$0x80000001, %eax		/* PG and PE at once */
	mov	%eax, %cr0
	ljmpl	$0x08, $LIN(long_mode)

	.code64
long_mode:
	mov	$0x10, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	mov	GUEST_ROM_GPA + GUEST_COUNT_OFF, %ecx
	mov	$GUEST_MMIO_GPA, %ebx
	mov	GUEST_ROM_GPA + GUEST_LOOP_OFF, %eax
	jmp	*LIN(loops)(, %rax, 8)

/* Both loops are three instructions, one of which exits. */
out_loop:
1:	out	%al, $GUEST_OUT_PORT
	dec	%ecx
	jnz	1b
	jmp	done

mmio_loop:
1:	mov	(%rbx), %eax
	dec	%ecx
	jnz	1b

done:
	mov	$1, %eax			/* QEMU exits with status 3 */
	out	%al, $GUEST_EXIT_PORT
	hlt

	.balign	8
gdt:	.quad	0
	.quad	0x00AF9B000000FFFF		/* 0x08: 64-bit code */
	.quad	0x00CF93000000FFFF		/* 0x10: data */
gdtr:	.word	gdtr - gdt - 1
	.long	LIN(gdt)
loops:	.quad	LIN(out_loop), LIN(mmio_loop)

	.org	GUEST_COUNT_OFF
	.long	0, 0

	.code16
	.org	0xFFF0
	ljmp	$(GUEST_ROM_GPA >> 4), $0	/* reset: to CS base 0xF0000 */
	.org	GUEST_ROM_SIZE

	.section .note.GNU-stack, "", @progbits
