/*
 * One instruction per case for tests/test_assist.c, between name_start and
 * name_end: each touches MMIO (and RAM) through the registers the test sets.
 */
#define CASE(name, ...)		\
	.globl name##_start;	\
	.globl name##_end;	\
	name##_start:		\
	__VA_ARGS__;		\
	name##_end:

	.section .rodata.cases, "a"
	.code64
/* MOV, every direction and size, high-byte registers, immediates, SIB. */
CASE(mov_w8, mov %al, (%rbx))
CASE(mov_w16, mov %ax, 2(%rbx))
CASE(mov_w32, mov %eax, 4(%rbx))
CASE(mov_w64, mov %rax, 8(%rbx))
CASE(mov_r8, mov (%rbx), %cl)
CASE(mov_r16, mov 2(%rbx), %cx)
CASE(mov_r32, mov 4(%rbx), %ecx)
CASE(mov_r64, mov 8(%rbx), %rcx)
CASE(mov_ah, mov %ah, 1(%rbx))
CASE(mov_dh, mov 1(%rbx), %dh)
CASE(mov_r12b, mov 5(%rbx), %r12b)
CASE(mov_sil, mov %sil, 6(%rbx))
CASE(mov_imm8, movb $0x7F, 3(%rbx))
CASE(mov_imm16, movw $0x1234, (%rbx))
CASE(mov_imm32, movl $0x89ABCDEF, (%rbx))
CASE(mov_imm64, movq $-2, 8(%rbx))
CASE(mov_sib, mov %r9d, 0x10(%rbx,%rsi,4))
CASE(mov_disp32, mov 0x100(%rbx), %r10)
/* MOVZX, MOVSX, MOVSXD. */
CASE(movzx_b, movzbl (%rbx), %ecx)
CASE(movzx_w, movzwq 2(%rbx), %rcx)
CASE(movsx_b, movsbq 3(%rbx), %rcx)
CASE(movsx_w, movswl 6(%rbx), %ecx)
CASE(movsxd, movslq 4(%rbx), %rcx)
/* ALU with the memory operand as destination. */
CASE(or_mr, or %eax, (%rbx))
CASE(and_mr, and %ecx, 4(%rbx))
CASE(xor_mr8, xor %dl, (%rbx))
CASE(add_mr64, add %rax, 8(%rbx))
CASE(sub_mr16, sub %ax, (%rbx))
CASE(adc_mr, adc %eax, (%rbx))
CASE(sbb_mr, sbb %eax, 4(%rbx))
CASE(cmp_mr, cmp %eax, (%rbx))
/* ALU with the memory operand as source. */
CASE(or_rm, or (%rbx), %eax)
CASE(and_rm8, and (%rbx), %cl)
CASE(xor_rm64, xor 8(%rbx), %rdx)
CASE(add_rm, add (%rbx), %eax)
CASE(sub_rm, sub 4(%rbx), %ecx)
CASE(cmp_rm64, cmp (%rbx), %rax)
/* Group 1 with immediates. */
CASE(or_imm, orl $0x100, (%rbx))
CASE(and_imm8s, andq $-16, 8(%rbx))
CASE(xor_imm8, xorb $0xFF, (%rbx))
CASE(add_imm16, addw $5, (%rbx))
CASE(sub_imm, subl $1, (%rbx))
CASE(cmp_imm8, cmpb $0x10, (%rbx))
CASE(cmp_imm64, cmpq $0, 8(%rbx))
/* TEST and XCHG. */
CASE(test_mr, test %eax, (%rbx))
CASE(test_imm8, testb $0x80, 3(%rbx))
CASE(test_imm32, testl $1, (%rbx))
CASE(xchg32, xchg %eax, (%rbx))
CASE(xchg8, xchg %cl, 1(%rbx))
/* String instructions: RSI/RDI point at MMIO or RAM as the test says. */
CASE(stos32, stosl)
CASE(rep_stos8, rep stosb)
CASE(lods64, lodsq)
CASE(rep_lods8, rep lodsb)
CASE(movs32, movsl)
CASE(movs64, movsq)
CASE(movs8, movsb)
CASE(rep_movs16, rep movsw)
CASE(cmps32, cmpsl)
CASE(repe_cmps8, repe cmpsb)
CASE(repne_cmps8, repne cmpsb)

	.section .note.GNU-stack, "", @progbits
