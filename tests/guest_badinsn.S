/*
 * A PVH guest for tests/test_nvmm_run.sh: enables SSE, runs PSHUFB, which
 * KVM's instruction emulator does not know, then says "ok" on COM1 and
 * powers off. Where KVM emulates guest code (PVM), nvmm-run must stop at
 * the PSHUFB with a clear message; with hardware virtualization it passes.
 */
	.section .note.Xen, "a", @note
	.balign	4
	.long	4			/* name size */
	.long	4			/* descriptor size */
	.long	18			/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz	"Xen"
	.long	_start

	.text
	.code32
	.globl	_start
_start:
	mov	%cr4, %eax
	or	$0x600, %eax		/* OSFXSR | OSXMMEXCPT */
	mov	%eax, %cr4
	pshufb	%xmm1, %xmm0
	mov	$0x3F8, %dx
	mov	$'o', %al
	out	%al, %dx
	mov	$'k', %al
	out	%al, %dx
	mov	$0x604, %dx
	mov	$0x3400, %ax		/* SLP_TYP 5 | SLP_EN */
	out	%ax, %dx
1:	hlt
	jmp	1b

	.section .note.GNU-stack, "", @progbits
