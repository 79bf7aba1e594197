/* The built-in guest: an ELF kernel with a PVH entry, from GUEST_BLOB. */
#ifndef VMM_GUEST_BUILTIN_H
#define VMM_GUEST_BUILTIN_H

extern const unsigned char builtin_guest_start[], builtin_guest_end[];

#endif
