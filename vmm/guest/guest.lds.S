/*
 * The built-in guest, linked where the PVH loader puts it. Text and data
 * are separate segments; the PVH note is in the text one and has its own
 * PT_NOTE so a loader can find it without section headers.
 */
#include "../pc.h"

OUTPUT_FORMAT("elf64-x86-64")
ENTRY(pvh_start)

PHDRS
{
	text PT_LOAD FLAGS(5);
	data PT_LOAD FLAGS(6);
	note PT_NOTE FLAGS(4);
}

SECTIONS
{
	. = PC_KERNEL;
	.text : { *(.text.entry) *(.text .text.*) } :text
	.rodata : { *(.rodata .rodata.*) } :text
	.note : { *(.note.Xen) } :text :note
	. = ALIGN(4096);
	.data : { *(.data .data.*) } :data
	.bss : { *(.bss .bss.*) *(COMMON) } :data
	/DISCARD/ : { *(.note.* .comment .eh_frame*) }
}
