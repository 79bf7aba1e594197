/* PCI configuration mechanism #1 and the host bridge. */
#include "t.h"

#include "hw_snap.h"
#include "hw/pci.h"

static uint32_t
cfg_addr(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
	return PCI_ENABLE | bus << 16 | dev << 11 | fn << 8 | reg;
}

static uint32_t
cfg_read(struct pci_host *pci, uint32_t addr, unsigned size)
{
	pci_addr_write(pci, 0, 4, addr & ~3u);
	return pci_data_read(pci, addr & 3, size);
}

TEST(pci_host_bridge_config)
{
	struct pci_host pci;

	pci_host_init(&pci);
	T_EQ(cfg_read(&pci, cfg_addr(0, 0, 0, 0x00), 4), 0x12378086);
	T_EQ(cfg_read(&pci, cfg_addr(0, 0, 0, 0x04), 4), 0x02800006);
	T_EQ(cfg_read(&pci, cfg_addr(0, 0, 0, 0x08), 4), 0x06000002);
	T_EQ(cfg_read(&pci, cfg_addr(0, 0, 0, 0x0C), 4), 0x00000000);
	T_EQ(cfg_read(&pci, cfg_addr(0, 0, 0, 0x10), 4), 0x00000000);
	/* Words and bytes at every offset in the dword. */
	T_EQ(cfg_read(&pci, cfg_addr(0, 0, 0, 0x02), 2), 0x1237);
	T_EQ(cfg_read(&pci, cfg_addr(0, 0, 0, 0x01), 2), 0x3780);
	T_EQ(cfg_read(&pci, cfg_addr(0, 0, 0, 0x03), 1), 0x12);
	T_EQ(cfg_read(&pci, cfg_addr(0, 0, 0, 0x0B), 1), 0x06);
	T_EQ(cfg_read(&pci, cfg_addr(0, 0, 0, PCI_HEADER_TYPE), 1), 0x00);
	T_EQ(cfg_read(&pci, cfg_addr(0, 0, 0, 0xFC), 4), 0x00000000);
}

TEST(pci_empty_slots_read_ones)
{
	struct pci_host pci;

	pci_host_init(&pci);
	T_EQ(cfg_read(&pci, cfg_addr(0, 1, 0, 0), 4), 0xFFFFFFFF);
	T_EQ(cfg_read(&pci, cfg_addr(0, 31, 0, 0), 2), 0xFFFF);
	T_EQ(cfg_read(&pci, cfg_addr(0, 0, 1, 0), 4), 0xFFFFFFFF);
	T_EQ(cfg_read(&pci, cfg_addr(1, 0, 0, 0), 4), 0xFFFFFFFF);
	T_EQ(cfg_read(&pci, cfg_addr(0, 0, 0, 0) & ~PCI_ENABLE, 4),
	    0xFFFFFFFF);
	pci_addr_write(&pci, 0, 4, cfg_addr(0, 3, 0, 0x10));
	pci_data_write(&pci, 0, 4, 0x12345678);
	T_EQ(pci_data_read(&pci, 0, 4), 0xFFFFFFFF);
}

TEST(pci_read_only_registers)
{
	struct pci_host pci;

	pci_host_init(&pci);
	pci_addr_write(&pci, 0, 4, cfg_addr(0, 0, 0, 0x00));
	pci_data_write(&pci, 0, 4, 0xFFFFFFFF);
	T_EQ(pci_data_read(&pci, 0, 4), 0x12378086);
	/* A BAR sizing probe finds no BAR. */
	pci_addr_write(&pci, 0, 4, cfg_addr(0, 0, 0, 0x10));
	pci_data_write(&pci, 0, 4, 0xFFFFFFFF);
	T_EQ(pci_data_read(&pci, 0, 4), 0);
	/* The latency timer alone is writable, here by a byte at 0xCFD. */
	pci_addr_write(&pci, 0, 4, cfg_addr(0, 0, 0, 0x0C));
	pci_data_write(&pci, 1, 1, 0x40);
	T_EQ(pci_data_read(&pci, 0, 4), 0x00004000);
	pci_data_write(&pci, 0, 4, 0xFFFFFFFF);
	T_EQ(pci_data_read(&pci, 0, 4), 0x0000FF00);
}

TEST(pci_address_register)
{
	struct pci_host pci;
	uint32_t v;

	pci_host_init(&pci);
	pci_addr_write(&pci, 0, 4, 0xFFFFFFFF);
	T_EQ(pci_addr_read(&pci, 0, 4), 0x80FFFFFC);
	/* Byte and word accesses are not CONFIG_ADDRESS. */
	pci_addr_write(&pci, 0, 1, 0x00);
	pci_addr_write(&pci, 0, 2, 0x0000);
	T_EQ(pci_addr_read(&pci, 0, 4), 0x80FFFFFC);
	T_EQ(pci_addr_read(&pci, 0, 1), 0xFFFFFFFF);
	/* Through the bus handlers. */
	v = cfg_addr(0, 0, 0, 0x08);
	pci_addr_io(&pci, 0, &v, 4, true);
	v = 0;
	pci_data_io(&pci, 2, &v, 2, false);
	T_EQ(v, 0x0600);
	pci_addr_io(&pci, 0, &v, 4, false);
	T_EQ(v, 0x80000008);
}

TEST(pci_snapshot_round_trip)
{
	struct pci_host a, b;

	pci_host_init(&a);
	pci_addr_write(&a, 0, 4, cfg_addr(0, 0, 0, PCI_LATENCY & ~3u));
	pci_data_write(&a, PCI_LATENCY & 3, 1, 0x40);

	pci_host_init(&b);
	T_SNAP(pci_host, &a, &b);
	T_EQ(pci_addr_read(&b, 0, 4), cfg_addr(0, 0, 0, PCI_LATENCY & ~3u));
	T_EQ(pci_data_read(&b, PCI_LATENCY & 3, 1), 0x40);
	T_EQ(cfg_read(&b, cfg_addr(0, 0, 0, 0x00), 4), 0x12378086);
}
