/*
 * For the guest payloads in assembly (payloads.S and the others): each is
 * bracketed by PAYLOAD(name) and END(name), giving the name_start and
 * name_end symbols that tests/vm.h's PAYLOAD() hands to vm_load().
 */
#ifndef PAYLOAD_ASM_H
#define PAYLOAD_ASM_H

#define PAYLOAD(name)		\
	.globl name##_start;	\
	.globl name##_end;	\
	name##_start:
#define END(name) name##_end:

#endif
