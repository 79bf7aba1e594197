/*
 * Guest payloads for the tests, copied to PAYLOAD_GPA (0x10000) and run in
 * the mode their name says. Data lives at SCRATCH_GPA (0x20000). Each
 * reports through port I/O and ends on HLT or an OUT the test waits for.
 */
#include "payload_asm.h"

	.section .rodata.payloads, "a"

/* OUT 0x10 with AL, then HLT. */
	.code64
PAYLOAD(p64_out_hlt)
	mov	$0x42, %al
	out	%al, $0x10
	hlt
END(p64_out_hlt)

/* Reads port 0x20 into EAX (IN imm8) and DX=0x21 (IN dx, 16-bit), echoes them on 0x22. */
PAYLOAD(p64_in)
	in	$0x20, %eax
	mov	%eax, %ebx
	mov	$0x21, %dx
	in	%dx, %ax
	mov	%rax, %rcx
	mov	%ebx, %eax
	out	%eax, $0x22
	hlt
END(p64_in)

/* An endless loop of OUTs on 0x30, RAX counting up. */
PAYLOAD(p64_out_loop)
1:	out	%eax, $0x30
	inc	%rax
	jmp	1b
END(p64_out_loop)

/* Spins forever with no exit. */
PAYLOAD(p64_spin)
1:	jmp	1b
END(p64_spin)

/* Every GPR plus 1, reported by OUT 0x40, then HLT. */
PAYLOAD(p64_gprs_inc)
	inc	%rax
	inc	%rcx
	inc	%rdx
	inc	%rbx
	inc	%rsp
	inc	%rbp
	inc	%rsi
	inc	%rdi
	inc	%r8
	inc	%r9
	inc	%r10
	inc	%r11
	inc	%r12
	inc	%r13
	inc	%r14
	inc	%r15
	out	%al, $0x40
	hlt
END(p64_gprs_inc)

/* Control, debug registers and segment selectors into GPRs, OUT 0x41. */
PAYLOAD(p64_read_sys)
	mov	%cr0, %rax
	mov	%cr3, %rbx
	mov	%cr4, %rcx
	mov	%cr8, %rdx
	mov	%dr0, %rsi
	mov	%dr7, %rdi
	mov	%ds, %r8
	mov	%es, %r9
	mov	%ss, %r10
	out	%al, $0x41
	hlt
END(p64_read_sys)

/* RDMSR of ECX into EDX:EAX, OUT 0x42; WRMSR of ECX with EDX:EAX, OUT 0x43. */
PAYLOAD(p64_msr)
	rdmsr
	out	%al, $0x42
	wrmsr
	out	%al, $0x43
	hlt
END(p64_msr)

/* MMIO at RBX: store 0x11223344, load into ECX, OUT 0x44. */
PAYLOAD(p64_mmio)
	movl	$0x11223344, (%rbx)
	mov	(%rbx), %ecx
	out	%al, $0x44
	hlt
END(p64_mmio)

/* STI; HLT in a loop, counting interrupts handled in R12 (handler below). */
PAYLOAD(p64_idle)
1:	sti
	hlt
	out	%al, $0x45
	jmp	1b
/* The handler for injected interrupts and exceptions: at +0x80. */
	.org	p64_idle_start + 0x80, 0x90
	inc	%r12
	mov	(%rsp), %r13
	out	%al, $0x46
	add	%r14, %rsp	/* pop an error code when the test says so */
	iretq
END(p64_idle)

/* CPUID of EAX/ECX, OUT 0x47. */
PAYLOAD(p64_cpuid)
	cpuid
	out	%al, $0x47
	hlt
END(p64_cpuid)

/* TPR 5, OUT 0x49, TPR 2, OUT 0x49, HLT. */
PAYLOAD(p64_tpr)
	mov	$5, %rax
	mov	%rax, %cr8
	out	%al, $0x49
	mov	$2, %rax
	mov	%rax, %cr8
	out	%al, $0x49
	hlt
END(p64_tpr)

/* A triple fault: #UD with an empty IDT. */
PAYLOAD(p64_triple)
	ud2
END(p64_triple)

/* Writes RAX to [RBX] and reads it back into RCX, OUT 0x48. */
PAYLOAD(p64_store_load)
	mov	%rax, (%rbx)
	mov	(%rbx), %rcx
	out	%al, $0x48
	hlt
END(p64_store_load)

/* An endless loop of MMIO reads at [RBX]. */
PAYLOAD(p64_mmio_loop)
1:	mov	(%rbx), %eax
	jmp	1b
END(p64_mmio_loop)

/* The guest's own FXSAVE64 to [RBX], OUT 0x4A. */
PAYLOAD(p64_fxsave)
	fxsave64 (%rbx)
	out	%al, $0x4A
	hlt
END(p64_fxsave)

/* CR4 into RBX, CR8 into RSI, XGETBV into EDX:EAX unless R8 is 0; OUT 0x4B. */
PAYLOAD(p64_xgetbv)
	mov	%cr4, %rbx
	mov	%cr8, %rsi
	xor	%eax, %eax
	xor	%edx, %edx
	test	%r8, %r8
	jz	1f
	xor	%ecx, %ecx
	xgetbv
1:	out	%al, $0x4B
	hlt
END(p64_xgetbv)

/* OUT forms, each followed by INC RBX: imm8, DX 16-bit, DX 32-bit, 0x7E twice. */
PAYLOAD(p64_out_forms)
	out	%al, $0x10
	inc	%rbx
	out	%ax, %dx
	inc	%rbx
	out	%eax, %dx
	inc	%rbx
	out	%al, $0x7E
	inc	%rbx
	out	%al, $0x7E
	inc	%rbx
	hlt
END(p64_out_forms)

/*
 * CLI, OUT 0x4C; STI, INC ECX in its shadow, INC EDX three times, OUT 0x4D.
 * The handler at +0x40 keeps the interrupted RIP in R13, OUT 0x46.
 */
PAYLOAD(p64_sti_shadow)
	cli
	out	%al, $0x4C
	sti
	inc	%ecx
	inc	%edx
	inc	%edx
	inc	%edx
	out	%al, $0x4D
	hlt
	.org	p64_sti_shadow_start + 0x40, 0x90
	mov	(%rsp), %r13
	out	%al, $0x46
	iretq
END(p64_sti_shadow)

/*
 * STI; HLT; then INC RBX three times and OUT 0x45. The NMI handler at +0x40
 * counts in R12, OUT 0x46, two INC R14 and IRETQ.
 */
PAYLOAD(p64_nmi_iret)
	sti
	hlt
	inc	%rbx
	inc	%rbx
	inc	%rbx
	out	%al, $0x45
	hlt
	.org	p64_nmi_iret_start + 0x40, 0x90
	inc	%r12
	out	%al, $0x46
	inc	%r14
	inc	%r14
	iretq
END(p64_nmi_iret)

/*
 * OUT 0x47 (where the test injects an NMI), INC RBX three times, OUT 0x45,
 * HLT. Two NMI handlers: at +0x40 INC R12, OUT 0x46, two INC R14, IRETQ;
 * at +0x60 the same after an STI.
 */
PAYLOAD(p64_nmi_if)
	out	%al, $0x47
	inc	%rbx
	inc	%rbx
	inc	%rbx
	out	%al, $0x45
	hlt
	.org	p64_nmi_if_start + 0x40, 0x90
	inc	%r12
	out	%al, $0x46
	inc	%r14
	inc	%r14
	iretq
	.org	p64_nmi_if_start + 0x60, 0x90
	sti
	inc	%r12
	out	%al, $0x46
	inc	%r14
	inc	%r14
	iretq
END(p64_nmi_if)

/* RDTSC into RAX (64 bits), OUT 0x4E, HLT. */
PAYLOAD(p64_rdtsc)
	rdtsc
	shl	$32, %rdx
	or	%rdx, %rax
	out	%al, $0x4E
	hlt
END(p64_rdtsc)

/* INT3 with the #BP handler at +0x20 (R12 counts, R13 the return RIP); OUT 0x4F. */
PAYLOAD(p64_int3)
	int3
	inc	%rbx
	out	%al, $0x4F
	hlt
	.org	p64_int3_start + 0x20, 0x90
	inc	%r12
	mov	(%rsp), %r13
	iretq
END(p64_int3)

/*
 * LOCK CMPXCHG16B at [RDI] with RDX:RAX and RCX:RBX, twice: ZF into R8,
 * then R9; OUT 0x50.
 */
PAYLOAD(p64_cmpxchg16b)
	lock cmpxchg16b (%rdi)
	setz	%r8b
	lock cmpxchg16b (%rdi)
	setz	%r9b
	out	%al, $0x50
	hlt
END(p64_cmpxchg16b)

/*
 * XMM0 from [RSI], XSAVE of x87|SSE to [RDI], XMM0 cleared, XRSTOR from
 * [RBP], XMM0 to [RSI+16]; OUT 0x51.
 */
PAYLOAD(p64_xsave)
	movdqu	(%rsi), %xmm0
	mov	$3, %eax
	xor	%edx, %edx
	xsave	(%rdi)
	pxor	%xmm0, %xmm0
	mov	$3, %eax
	xrstor	(%rbp)
	movdqu	%xmm0, 16(%rsi)
	out	%al, $0x51
	hlt
END(p64_xsave)

/* String I/O and MMIO forms for tests/test_assist.c; each ends at OUT 0xF0. */
PAYLOAD(p64_rep_outsb)
	rep outsb (%rsi), (%dx)
	out	%al, $0xF0
	hlt
END(p64_rep_outsb)

PAYLOAD(p64_rep_insw)
	rep insw (%dx), (%rdi)
	out	%al, $0xF0
	hlt
END(p64_rep_insw)

PAYLOAD(p64_in_dx_byte)
	in	(%dx), %al
	out	%al, $0xF0
	hlt
END(p64_in_dx_byte)

PAYLOAD(p64_moffs)
	movabs	0x10000040, %eax
	movabs	%al, 0x10000041
	out	%al, $0xF0
	hlt
END(p64_moffs)

/* RIP-relative: the operand is MMIO_GPA + 0x50; the code runs at 0x10000. */
PAYLOAD(p64_riprel)
	.byte	0x8B, 0x05		/* mov disp32(%rip), %eax */
	.long	0x10000050 - 0x10006
	out	%al, $0xF0
	hlt
END(p64_riprel)

PAYLOAD(p64_fs_addr32)
	mov	%fs:0x1060, %ecx
	addr32 mov (%ebx), %edx
	out	%al, $0xF0
	hlt
END(p64_fs_addr32)

/* REP MOVSB from (RSI) to (RDI); the handler at +0x20 counts in R12. */
PAYLOAD(p64_rep_movsb_intr)
	rep movsb (%rsi), (%rdi)
	out	%al, $0xF0
	hlt
	.org	p64_rep_movsb_intr_start + 0x20, 0x90
	inc	%r12
	iretq
END(p64_rep_movsb_intr)

/*
 * R10 rounds of: OUT 0x70, a load from MMIO at RBX, MOVSB from R8 (MMIO)
 * to R9 (RAM), IN 0x71. Then OUT 0xF0.
 */
PAYLOAD(p64_remap_loop)
1:	out	%al, $0x70
	mov	(%rbx), %eax
	mov	%r8, %rsi
	mov	%r9, %rdi
	movsb	(%rsi), (%rdi)
	in	$0x71, %al
	dec	%r10
	jnz	1b
	out	%al, $0xF0
	hlt
END(p64_remap_loop)

/* Real mode: OUT 0x50 of AX, IN from 0x51 into AL, OUT again, HLT. */
	.code16
PAYLOAD(p16_io)
	mov	$0x1234, %ax
	out	%ax, $0x50
	in	$0x51, %al
	out	%ax, $0x50
	hlt
END(p16_io)

PAYLOAD(p16_rep_insb)
	rep insb (%dx), %es:(%di)
	out	%al, $0xF0
	hlt
END(p16_rep_insb)

/* MMIO in real mode, DS = 0xB000: a store, an indexed load, an ADD. */
PAYLOAD(p16_mmio)
	mov	%ax, (%bx)
	mov	2(%bx,%si), %dx
	addw	$1, 4(%bx)
	rep stosw
	out	%al, $0xF0
	hlt
END(p16_mmio)

/* STI; HLT; OUT 0x45 in a loop; the handler at +0x20 counts in BP, OUT 0x46. */
PAYLOAD(p16_intr_count)
1:	sti
	hlt
	out	%al, $0x45
	jmp	1b
	.org	p16_intr_count_start + 0x20, 0x90
	inc	%bp
	out	%al, $0x46
	iret
END(p16_intr_count)

	.code32
/* Through the guest's page tables: EAX to [EBX], EDX to [ECX], [EDI] into ESI; OUT 0x61. */
PAYLOAD(p32_paging)
	mov	%eax, (%ebx)
	mov	%edx, (%ecx)
	mov	(%edi), %esi
	out	%al, $0x61
	hlt
END(p32_paging)

/* 32-bit protected mode: OUT 0x60 of EAX after adding 1, HLT. */
PAYLOAD(p32_io)
	inc	%eax
	out	%eax, $0x60
	hlt
END(p32_io)

PAYLOAD(p32_outsl_fs)
	outsl	%fs:(%esi), (%dx)
	mov	$0x1234FFFE, %esi
	addr16 rep outsb (%si), (%dx)
	out	%al, $0xF0
	hlt
END(p32_outsl_fs)

/* MMIO in 32-bit mode at EBX: a store, a SUB from it, a 16-bit MOVZX, REP STOSL. */
PAYLOAD(p32_mmio)
	mov	%eax, (%ebx)
	sub	(%ebx), %esi
	movzbw	1(%ebx), %dx
	rep stosl
	out	%al, $0xF0
	hlt
END(p32_mmio)

/*
 * Changes KVM makes with no exit, then OUT 0x4C, in a loop: WRMSR of the
 * (u32 index, u32 pad, u64 value) entries at [R10] up to index 0, SWAPGS,
 * XSETBV of EDI into XCR0 unless RDI is 0, then (after CPUID, an exit KVM
 * handles) XGETBV into R11, RDTSC into R9.
 */
	.code64
PAYLOAD(p64_state_exact)
1:	mov	%r10, %rsi
2:	mov	(%rsi), %ecx
	test	%ecx, %ecx
	jz	3f
	mov	8(%rsi), %eax
	mov	12(%rsi), %edx
	wrmsr
	add	$16, %rsi
	jmp	2b
3:	swapgs
	xor	%r11d, %r11d
	test	%rdi, %rdi
	jz	4f
	mov	%edi, %eax
	xor	%edx, %edx
	xor	%ecx, %ecx
	xsetbv
	xor	%eax, %eax
	cpuid
	xor	%ecx, %ecx
	xgetbv
	shl	$32, %rdx
	or	%rax, %rdx
	mov	%rdx, %r11
4:	rdtsc
	shl	$32, %rdx
	or	%rax, %rdx
	mov	%rdx, %r9
	out	%al, $0x4C
	jmp	1b
END(p64_state_exact)

	.section .note.GNU-stack, "", @progbits
