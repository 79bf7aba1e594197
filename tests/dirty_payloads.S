/*
 * Guest payloads for tests/test_dirty.c, in the style of payloads.S: long
 * mode at PAYLOAD_GPA, no stack, no interrupts.
 */
#include "payload_asm.h"

	.section .rodata.payloads, "a"
	.code64

/*
 * Rounds of: for each address in the list at R15 (ended by 0), store a byte
 * there, or load one where bit 0 is set; then OUT 0x60.
 */
PAYLOAD(p64_dirty_list)
1:	mov	%r15, %rsi
2:	lodsq
	test	%rax, %rax
	jz	4f
	btr	$0, %rax
	jc	3f
	movb	$0xA5, (%rax)
	jmp	2b
3:	movb	(%rax), %cl
	jmp	2b
4:	out	%al, $0x60
	jmp	1b
END(p64_dirty_list)

/*
 * REP MOVSB of RCX bytes from RSI (MMIO) to RDI, REP INSB of R9 bytes from
 * port 0x61 to R8: the assists store them in guest RAM. Then OUT 0x60.
 */
PAYLOAD(p64_dirty_assist)
	rep movsb (%rsi), (%rdi)
	mov	%r8, %rdi
	mov	%r9, %rcx
	mov	$0x61, %dx
	rep insb (%dx), (%rdi)
	out	%al, $0x60
	hlt
END(p64_dirty_assist)

	.section .note.GNU-stack, "", @progbits
