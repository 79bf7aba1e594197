/*
 * void oracle_run(uint64_t gprs[18], const void *code)
 *
 * Runs code (ending in RET) on the host CPU with the GPRs and RFLAGS of
 * gprs (NVMM order: RAX RCX RDX RBX RSP RBP RSI RDI R8-R15 RIP RFLAGS; RSP
 * and RIP are not used) and stores them back: the host is the reference the
 * assists are checked against.
 */
	.text
	.globl	oracle_run
	.type	oracle_run, @function
oracle_run:
	push	%rbx
	push	%rbp
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	push	%rdi			/* 8(%rsp): gprs */
	push	%rsi			/* (%rsp): code */
	mov	%rdi, %rax
	pushq	17*8(%rax)
	popfq
	mov	1*8(%rax), %rcx
	mov	2*8(%rax), %rdx
	mov	3*8(%rax), %rbx
	mov	5*8(%rax), %rbp
	mov	6*8(%rax), %rsi
	mov	7*8(%rax), %rdi
	mov	8*8(%rax), %r8
	mov	9*8(%rax), %r9
	mov	10*8(%rax), %r10
	mov	11*8(%rax), %r11
	mov	12*8(%rax), %r12
	mov	13*8(%rax), %r13
	mov	14*8(%rax), %r14
	mov	15*8(%rax), %r15
	mov	0*8(%rax), %rax
	call	*(%rsp)
	pushfq
	push	%rax
	mov	24(%rsp), %rax		/* gprs */
	popq	0*8(%rax)
	popq	17*8(%rax)
	mov	%rcx, 1*8(%rax)
	mov	%rdx, 2*8(%rax)
	mov	%rbx, 3*8(%rax)
	mov	%rbp, 5*8(%rax)
	mov	%rsi, 6*8(%rax)
	mov	%rdi, 7*8(%rax)
	mov	%r8, 8*8(%rax)
	mov	%r9, 9*8(%rax)
	mov	%r10, 10*8(%rax)
	mov	%r11, 11*8(%rax)
	mov	%r12, 12*8(%rax)
	mov	%r13, 13*8(%rax)
	mov	%r14, 14*8(%rax)
	mov	%r15, 15*8(%rax)
	cld
	add	$16, %rsp
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbp
	pop	%rbx
	ret
	.size	oracle_run, . - oracle_run

	.section .note.GNU-stack, "", @progbits
