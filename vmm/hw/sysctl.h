/*
 * The PC's reset ports: system control port A (0x92: bit 1 the A20 gate,
 * kept but not applied, bit 0 a fast reset) and the PIIX reset control
 * register (0xCF9: writing bit 2 resets). POST codes at 0x80 need no model:
 * nvmm-run claims the port with bus_ignore.
 */
#ifndef HW_SYSCTL_H
#define HW_SYSCTL_H

#include "blob.h"
#include "bus.h"
#include "hw.h"

#define SYSCTL_A_RESET	0x01
#define SYSCTL_A_A20	0x02
#define RESET_CTL_CPU	0x04

struct sysctl {
	uint8_t port_a, reset_ctl;
	hw_request_fn *request;
	void *opaque;
};

void sysctl_init(struct sysctl *s, hw_request_fn *request, void *opaque);
uint32_t sysctl_a_read(struct sysctl *s, unsigned offset, unsigned size);
void sysctl_a_write(struct sysctl *s, unsigned offset, unsigned size,
    uint32_t val);
uint32_t sysctl_reset_read(struct sysctl *s, unsigned offset, unsigned size);
void sysctl_reset_write(struct sysctl *s, unsigned offset, unsigned size,
    uint32_t val);
bus_handler sysctl_a_io, sysctl_reset_io;

/* Snapshots: the state, and back into a device from sysctl_init() (blob.h). */
int sysctl_save(const struct sysctl *s, struct hw_blob *b);
int sysctl_load(struct sysctl *s, struct hw_blob *b);

#endif
