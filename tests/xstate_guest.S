/*
 * Guests for tests/test_xstate.c, 64-bit, copied to PAYLOAD_GPA (0x10000).
 * Labels named name_xxx mark the instructions the tests expect exits at.
 */
#include "payload_asm.h"
#define MARK(name)	.globl name; name:

	.section .rodata.payloads, "a"
	.code64

/* XMM0-15 from [RSI]; OUT 0x50; XMM0-15 and MXCSR to [RDI]; OUT 0x51. */
PAYLOAD(px_xmm)
	.irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	movdqu	\i*16(%rsi), %xmm\i
	.endr
	out	%al, $0x50
	.irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	movdqu	%xmm\i, \i*16(%rdi)
	.endr
	stmxcsr	256(%rdi)
	out	%al, $0x51
	hlt
END(px_xmm)

/*
 * Events: OUT 0x40, an IRET to the next instruction (it ends NMI
 * blocking), OUT 0x41, HLT. Handlers: NMI at +0x40 (R12 counts, OUT
 * 0x46), #GP at +0x60 (error code into R13, return RIP into R14, OUT
 * 0x4B), vector 0x30 at +0x80 (return RIP into R14, OUT 0x4C).
 */
PAYLOAD(px_events)
	out	%al, $0x40
	mov	%rsp, %rax
	push	$0x10
	push	%rax
	pushfq
	push	$0x08
	lea	1f(%rip), %rax
	push	%rax
	iretq
1:	out	%al, $0x41
	hlt
	.org	px_events_start + 0x40, 0x90
	inc	%r12
	out	%al, $0x46
	iretq
	.org	px_events_start + 0x60, 0x90
	pop	%r13
	mov	(%rsp), %r14
	out	%al, $0x4B
	hlt
	.org	px_events_start + 0x80, 0x90
	mov	(%rsp), %r14
	out	%al, $0x4C
	hlt
END(px_events)

/* Steps: RBX = RBX + 1 + EAX, with EAX = 1; OUT 0x47; HLT. */
PAYLOAD(px_step)
	mov	$1, %eax
MARK(px_step_1)
	inc	%rbx
MARK(px_step_2)
	nop
MARK(px_step_3)
	add	%eax, %ebx
MARK(px_step_4)
	out	%al, $0x47
MARK(px_step_5)
	hlt
END(px_step)

/* A read of MMIO at [RDX] into ECX; INC RBX; HLT. */
PAYLOAD(px_step_mmio)
	mov	(%rdx), %ecx
MARK(px_step_mmio_1)
	inc	%rbx
	hlt
END(px_step_mmio)

/* A 32-bit write of 0x1234 to [SCRATCH_GPA]; INC RBX; OUT 0x48; HLT. */
PAYLOAD(px_watch)
	mov	$0x20000, %edi
	movl	$0x1234, (%rdi)
MARK(px_watch_1)
	inc	%rbx
	out	%al, $0x48
	hlt
END(px_watch)

/* INC RBX, INT3, INC RBX, OUT 0x49, HLT; #BP handler at +0x20 counts in R12. */
PAYLOAD(px_int3)
	inc	%rbx
MARK(px_int3_1)
	int3
	inc	%rbx
	out	%al, $0x49
	hlt
	.org	px_int3_start + 0x20, 0x90
	inc	%r12
	iretq
END(px_int3)

	.section .note.GNU-stack, "", @progbits
