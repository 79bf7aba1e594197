/* The built-in guest's ELF image, for nvmm-run to load like any kernel. */
	.section .rodata.builtin_guest, "a"
	.balign	16
	.globl	builtin_guest_start, builtin_guest_end
builtin_guest_start:
	.incbin	GUEST_ELF
builtin_guest_end:

	.section .note.GNU-stack, "", @progbits
