/*
 * PCI configuration mechanism #1: CONFIG_ADDRESS at 0xCF8 (dword accesses
 * only; bytes there belong to other decoders, 0xCF9 being reset control)
 * and CONFIG_DATA at 0xCFC-0xCFF (any size at any offset).
 *
 * Bus 0 holds one function, 00:00.0, an Intel 440FX host bridge; every
 * other address reads all ones. Its registers are read-only except the
 * latency timer.
 */
#ifndef HW_PCI_H
#define HW_PCI_H

#include "blob.h"
#include "bus.h"
#include "hw.h"

#define PCI_CFG_SIZE	256
#define PCI_ENABLE	0x80000000u

/* Offsets in a configuration header. */
#define PCI_VENDOR_ID	0x00
#define PCI_DEVICE_ID	0x02
#define PCI_COMMAND	0x04
#define PCI_STATUS	0x06
#define PCI_REVISION	0x08
#define PCI_CLASS	0x09	/* prog-if, subclass, class */
#define PCI_LATENCY	0x0D
#define PCI_HEADER_TYPE	0x0E

struct pci_host {
	uint32_t addr;
	uint8_t bridge[PCI_CFG_SIZE];
};

void pci_host_init(struct pci_host *pci);
uint32_t pci_addr_read(struct pci_host *pci, unsigned offset, unsigned size);
void pci_addr_write(struct pci_host *pci, unsigned offset, unsigned size,
    uint32_t val);
uint32_t pci_data_read(struct pci_host *pci, unsigned offset, unsigned size);
void pci_data_write(struct pci_host *pci, unsigned offset, unsigned size,
    uint32_t val);
bus_handler pci_addr_io, pci_data_io;

/* Snapshots: the state, and back into a device from pci_host_init() (blob.h). */
int pci_host_save(const struct pci_host *pci, struct hw_blob *b);
int pci_host_load(struct pci_host *pci, struct hw_blob *b);

#endif
