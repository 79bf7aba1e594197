/* PCI host bridge on configuration mechanism #1. */
#include "pci.h"

#include <stddef.h>

static void
put16(uint8_t *cfg, unsigned off, uint16_t val)
{
	cfg[off] = val;
	cfg[off + 1] = val >> 8;
}

void
pci_host_init(struct pci_host *pci)
{
	uint8_t *c = pci->bridge;

	*pci = (struct pci_host){ 0 };
	put16(c, PCI_VENDOR_ID, 0x8086);
	put16(c, PCI_DEVICE_ID, 0x1237);	/* 82441FX (440FX) */
	put16(c, PCI_COMMAND, 0x0006);		/* memory, bus master */
	put16(c, PCI_STATUS, 0x0280);		/* fast back-to-back, medium */
	c[PCI_REVISION] = 0x02;
	c[PCI_CLASS + 2] = 0x06;		/* bridge, host: 0x060000 */
}

/* The function CONFIG_ADDRESS selects, or NULL for an empty slot. */
static uint8_t *
selected(struct pci_host *pci)
{
	/* Bus 0, device 0, function 0, enabled; bits 7:2 are the register. */
	if ((pci->addr & 0xFFFFFF00) != PCI_ENABLE)
		return NULL;
	return pci->bridge;
}

uint32_t
pci_addr_read(struct pci_host *pci, unsigned offset, unsigned size)
{
	return offset == 0 && size == 4 ? pci->addr : 0xFFFFFFFF;
}

void
pci_addr_write(struct pci_host *pci, unsigned offset, unsigned size,
    uint32_t val)
{
	if (offset == 0 && size == 4)
		pci->addr = val & 0x80FFFFFC;
}

/* Window offsets 0-3 on the selected dword: registers up to 0xFF. */
static uint8_t
pci_data_read8(void *dev, unsigned offset)
{
	struct pci_host *pci = dev;
	uint8_t *cfg = selected(pci);

	return cfg ? cfg[(pci->addr & 0xFC) + offset] : 0xFF;
}

static void
pci_data_write8(void *dev, unsigned offset, uint8_t val)
{
	struct pci_host *pci = dev;
	uint8_t *cfg = selected(pci);
	unsigned reg = (pci->addr & 0xFC) + offset;

	if (cfg && reg == PCI_LATENCY)
		cfg[reg] = val;
}

uint32_t
pci_data_read(struct pci_host *pci, unsigned offset, unsigned size)
{
	return hw_read_bytes(pci_data_read8, pci, offset, size, 4);
}

void
pci_data_write(struct pci_host *pci, unsigned offset, unsigned size,
    uint32_t val)
{
	hw_write_bytes(pci_data_write8, pci, offset, size, val, 4);
}

BUS_HANDLER(pci_addr_io, struct pci_host, pci_addr_read, pci_addr_write)
BUS_HANDLER(pci_data_io, struct pci_host, pci_data_read, pci_data_write)

#define PCI_TAG		HW_TAG('P', 'C', 'I', ' ')

int
pci_host_save(const struct pci_host *pci, struct hw_blob *b)
{
	hw_blob_put_header(b, PCI_TAG, 1);
	hw_put32(b, pci->addr);
	hw_put_bytes(b, pci->bridge, PCI_CFG_SIZE);
	return hw_blob_saved(b);
}

int
pci_host_load(struct pci_host *pci, struct hw_blob *b)
{
	struct pci_host n = *pci;
	int r = hw_blob_get_header(b, PCI_TAG, 1);

	if (r < 0)
		return r;
	n.addr = hw_get32(b);
	hw_get_bytes(b, n.bridge, PCI_CFG_SIZE);
	r = hw_blob_done(b, false);
	if (r == 0)
		*pci = n;
	return r;
}
