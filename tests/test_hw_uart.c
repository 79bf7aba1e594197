/* 16550A UART register model. */
#include "t.h"

#include "hw_snap.h"
#include "hw/uart.h"
#include "pc.h"

static int irq_level, irq_line = -1, irq_edges;
static uint8_t sent[64];
static unsigned nsent;

static void
on_irq(void *opaque, int line, int level)
{
	(void)opaque;
	irq_line = line;
	irq_level = level;
	irq_edges += level;
}

static void
on_tx(void *opaque, uint8_t byte)
{
	(void)opaque;
	sent[nsent++] = byte;
}

static void
setup(struct uart *u)
{
	uart_init(u, on_irq, PC_IRQ_COM1, on_tx, NULL);
}

static uint8_t
rd(struct uart *u, unsigned reg)
{
	return uart_read(u, reg, 1);
}

static void
wr(struct uart *u, unsigned reg, uint8_t val)
{
	uart_write(u, reg, 1, val);
}

TEST(uart_reset_values)
{
	struct uart u;

	setup(&u);
	T_EQ(rd(&u, UART_IER), 0);
	T_EQ(rd(&u, UART_IIR), UART_IIR_NO_INT);
	T_EQ(rd(&u, UART_LCR), 0);
	T_EQ(rd(&u, UART_MCR), 0);
	T_EQ(rd(&u, UART_LSR), 0x60);
	T_EQ(rd(&u, UART_MSR), 0xB0);
	T_EQ(rd(&u, UART_SCR), 0);
}

TEST(uart_divisor_latch_round_trip)
{
	struct uart u;

	setup(&u);
	wr(&u, UART_IER, 0x05);
	wr(&u, UART_LCR, UART_LCR_DLAB | 0x03);
	wr(&u, UART_DLL, 0x0C);
	wr(&u, UART_DLM, 0x01);
	T_EQ(rd(&u, UART_DLL), 0x0C);
	T_EQ(rd(&u, UART_DLM), 0x01);
	wr(&u, UART_LCR, 0x03);
	T_EQ(rd(&u, UART_IER), 0x05);	/* IER kept apart from DLM */
	T_EQ(rd(&u, UART_LCR), 0x03);
	T_EQ(nsent, 0);			/* DLL writes send nothing */
	/* A word access covers DLL and DLM together. */
	wr(&u, UART_LCR, UART_LCR_DLAB);
	uart_write(&u, UART_DLL, 2, 0x0201);
	T_EQ(uart_read(&u, UART_DLL, 2), 0x0201);
}

TEST(uart_scratch_and_ier_mask)
{
	struct uart u;

	setup(&u);
	wr(&u, UART_SCR, 0x5A);
	T_EQ(rd(&u, UART_SCR), 0x5A);
	wr(&u, UART_IER, 0xFF);
	T_EQ(rd(&u, UART_IER), 0x0F);
	wr(&u, UART_MCR, 0xFF);
	T_EQ(rd(&u, UART_MCR), 0x1F);
}

TEST(uart_transmit)
{
	struct uart u;

	setup(&u);
	wr(&u, UART_THR, 'h');
	wr(&u, UART_THR, 'i');
	T_EQ(nsent, 2);
	T_EQ(sent[0], 'h');
	T_EQ(sent[1], 'i');
	T_EQ(rd(&u, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
}

TEST(uart_receive_fifo)
{
	struct uart u;
	uint8_t in[20];

	setup(&u);
	for (unsigned i = 0; i < sizeof(in); i++)
		in[i] = 'a' + i;
	/* Without FIFOs the receiver holds a single byte. */
	T_EQ(uart_receive(&u, in, 3), 1);
	T_EQ(rd(&u, UART_LSR), 0x61);
	T_EQ(rd(&u, UART_RBR), 'a');
	T_EQ(rd(&u, UART_LSR), 0x60);
	wr(&u, UART_FCR, UART_FCR_ENABLE);
	T_EQ(uart_receive(&u, in, 20), 16);
	T_EQ(uart_receive(&u, in, 1), 0);
	T_EQ(rd(&u, UART_LSR), 0x61);	/* refused input is not an overrun */
	for (unsigned i = 0; i < 16; i++)
		T_EQ(rd(&u, UART_RBR), 'a' + i);
	T_EQ(rd(&u, UART_LSR), 0x60);
	T_EQ(rd(&u, UART_RBR), 0);
}

TEST(uart_fcr_clear_and_toggle)
{
	struct uart u;

	setup(&u);
	wr(&u, UART_FCR, UART_FCR_ENABLE | 0x80);
	T_EQ(uart_receive(&u, (const uint8_t *)"xyz", 3), 3);
	T_EQ(rd(&u, UART_IIR), 0xC1);
	wr(&u, UART_FCR, UART_FCR_ENABLE | UART_FCR_CLEAR_RX | 0x80);
	T_EQ(rd(&u, UART_LSR), 0x60);
	T_EQ(uart_receive(&u, (const uint8_t *)"xyz", 3), 3);
	wr(&u, UART_FCR, 0);		/* disabling resets the FIFO */
	T_EQ(rd(&u, UART_LSR), 0x60);
	T_EQ(rd(&u, UART_IIR), 0x01);
	/* Trigger bits do not program while ENABLE is written as 0. */
	wr(&u, UART_FCR, 0xC0);
	wr(&u, UART_IER, UART_IER_RDI);
	T_EQ(uart_receive(&u, (const uint8_t *)"x", 1), 1);
	T_EQ(rd(&u, UART_IIR), UART_IIR_RDI);
}

TEST(uart_loopback)
{
	struct uart u;

	setup(&u);
	wr(&u, UART_FCR, UART_FCR_ENABLE);
	/* Linux's probe: MCR = LOOP | OUT2 | RTS must show CTS and DCD. */
	wr(&u, UART_MCR, UART_MCR_LOOP | 0x0A);
	T_EQ(rd(&u, UART_MSR) & 0xF0, 0x90);
	wr(&u, UART_THR, 0x42);
	T_EQ(nsent, 0);
	T_EQ(rd(&u, UART_LSR), 0x61);
	T_EQ(rd(&u, UART_RBR), 0x42);
	T_EQ(uart_receive(&u, (const uint8_t *)"z", 1), 0);
	wr(&u, UART_MCR, UART_MCR_LOOP | UART_MCR_DTR | UART_MCR_OUT1);
	T_EQ(rd(&u, UART_MSR) & 0xF0, UART_MSR_DSR | UART_MSR_RI);
	wr(&u, UART_MCR, 0);
	T_EQ(rd(&u, UART_MSR), 0xB0 | UART_MSR_TERI | UART_MSR_DCTS |
	    UART_MSR_DDCD);
	wr(&u, UART_THR, 0x43);
	T_EQ(nsent, 1);
	T_EQ(sent[0], 0x43);
}

TEST(uart_overrun_sets_oe)
{
	struct uart u;

	setup(&u);
	wr(&u, UART_FCR, UART_FCR_ENABLE);
	wr(&u, UART_MCR, UART_MCR_LOOP);
	for (unsigned i = 0; i < 17; i++)
		wr(&u, UART_THR, i);
	T_EQ(rd(&u, UART_LSR), 0x63);
	T_EQ(rd(&u, UART_LSR), 0x61);	/* OE clears on read */
	for (unsigned i = 0; i < 16; i++)
		T_EQ(rd(&u, UART_RBR), i);	/* byte 16 was lost */
	/* Without FIFOs the new byte overwrites RBR. */
	wr(&u, UART_FCR, 0);
	wr(&u, UART_THR, 1);
	wr(&u, UART_THR, 2);
	T_EQ(rd(&u, UART_LSR), 0x63);
	T_EQ(rd(&u, UART_RBR), 2);
}

TEST(uart_iir_priorities)
{
	struct uart u;

	setup(&u);
	wr(&u, UART_FCR, UART_FCR_ENABLE | 0x40);	/* trigger: 4 bytes */
	wr(&u, UART_MCR, UART_MCR_LOOP);
	wr(&u, UART_IER, 0x0F);
	/* THRE was raised by enabling THRI; loopback changed no inputs yet. */
	T_EQ(rd(&u, UART_IIR), 0xC0 | UART_IIR_THRI);
	T_EQ(rd(&u, UART_IIR), 0xC0 | UART_IIR_MSI);
	T_EQ(rd(&u, UART_MSR), 0x0B);		/* CTS, DSR, DCD fell */
	T_EQ(rd(&u, UART_IIR), 0xC1);
	for (unsigned i = 0; i < 17; i++)
		wr(&u, UART_THR, i);
	T_EQ(rd(&u, UART_IIR), 0xC0 | UART_IIR_RLSI);
	T_EQ(rd(&u, UART_LSR), 0x63);
	T_EQ(rd(&u, UART_IIR), 0xC0 | UART_IIR_RDI);
	for (unsigned i = 0; i < 13; i++)
		rd(&u, UART_RBR);
	T_EQ(rd(&u, UART_IIR), 0xC0 | UART_IIR_TIMEOUT);
	for (unsigned i = 0; i < 3; i++)
		rd(&u, UART_RBR);
	T_EQ(rd(&u, UART_IIR), 0xC0 | UART_IIR_THRI);
	T_EQ(rd(&u, UART_IIR), 0xC1);		/* the IIR read cleared THRE */
	wr(&u, UART_MCR, UART_MCR_LOOP | UART_MCR_RTS);
	T_EQ(rd(&u, UART_IIR), 0xC0 | UART_IIR_MSI);
	T_EQ(rd(&u, UART_MSR), UART_MSR_CTS | UART_MSR_DCTS);
	T_EQ(rd(&u, UART_IIR), 0xC1);
}

TEST(uart_thre_interrupt)
{
	struct uart u;

	setup(&u);
	wr(&u, UART_MCR, UART_MCR_OUT2);
	T_EQ(irq_level, 0);
	wr(&u, UART_IER, UART_IER_THRI);
	T_EQ(irq_line, PC_IRQ_COM1);
	T_EQ(irq_level, 1);
	T_EQ(rd(&u, UART_IIR), UART_IIR_THRI);
	T_EQ(irq_level, 0);
	/* Linux's THRE test: re-enabling THRI raises it again. */
	wr(&u, UART_IER, 0);
	wr(&u, UART_IER, UART_IER_THRI);
	T_EQ(irq_level, 1);
	T_EQ(rd(&u, UART_IIR), UART_IIR_THRI);
	T_EQ(irq_level, 0);
	/* Writing THR empties at once and re-arms it: a new edge. */
	wr(&u, UART_THR, 'x');
	T_EQ(irq_level, 1);
	T_EQ(irq_edges, 3);
	/* Rewriting IER with THRI already set raises nothing new. */
	rd(&u, UART_IIR);
	wr(&u, UART_IER, UART_IER_THRI);
	T_EQ(irq_level, 0);
	T_EQ(rd(&u, UART_IIR), UART_IIR_NO_INT);
}

TEST(uart_out2_gates_irq)
{
	struct uart u;

	setup(&u);
	wr(&u, UART_IER, UART_IER_RDI);
	T_EQ(uart_receive(&u, (const uint8_t *)"k", 1), 1);
	T_EQ(rd(&u, UART_IIR), UART_IIR_RDI);
	T_EQ(irq_level, 0);
	wr(&u, UART_MCR, UART_MCR_OUT2);
	T_EQ(irq_level, 1);
	wr(&u, UART_MCR, UART_MCR_OUT2 | UART_MCR_LOOP);
	T_EQ(irq_level, 0);
	wr(&u, UART_MCR, UART_MCR_OUT2);
	T_EQ(irq_level, 1);
	T_EQ(rd(&u, UART_RBR), 'k');
	T_EQ(irq_level, 0);
	T_EQ(irq_edges, 2);
}

TEST(uart_bus_handler)
{
	struct uart u;
	uint8_t b = 'q';

	setup(&u);
	uart_io(&u, UART_THR, &b, 1, true);
	T_EQ(nsent, 1);
	T_EQ(sent[0], 'q');
	uart_io(&u, UART_LSR, &b, 1, false);
	T_EQ(b, 0x60);
}

TEST(uart_snapshot_round_trip)
{
	struct uart a, b;

	setup(&a);
	wr(&a, UART_LCR, UART_LCR_DLAB);
	wr(&a, UART_DLL, 0x0C);
	wr(&a, UART_LCR, 0x03);
	wr(&a, UART_FCR, UART_FCR_ENABLE | 0x40);	/* trigger at 4 */
	wr(&a, UART_MCR, UART_MCR_OUT2 | UART_MCR_DTR);
	wr(&a, UART_SCR, 0x5A);
	wr(&a, UART_IER, UART_IER_RDI);
	T_EQ(uart_receive(&a, (const uint8_t *)"abc", 3), 3);
	T_EQ(irq_level, 1);

	setup(&b);
	T_SNAP(uart, &a, &b);
	for (unsigned r = UART_IER; r < UART_NREGS; r++)
		T_EQ(rd(&b, r), rd(&a, r));
	T_EQ(rd(&b, UART_IIR), UART_IIR_FIFO | UART_IIR_TIMEOUT);
	T_EQ(rd(&b, UART_RBR), 'a');
	T_EQ(rd(&b, UART_RBR), 'b');
	T_EQ(irq_level, 1);
	/* The line's level came with the state: emptying the FIFO lowers it. */
	T_EQ(rd(&b, UART_RBR), 'c');
	T_EQ(irq_level, 0);
	T_EQ(rd(&b, UART_LSR) & UART_LSR_DR, 0);
	wr(&b, UART_LCR, UART_LCR_DLAB);
	T_EQ(rd(&b, UART_DLL), 0x0C);
}

TEST(uart_snapshot_bad_values)
{
	struct uart a, b;

	setup(&a);
	setup(&b);
	T_SNAP_BAD(uart, &a, &b, UART_FIFO_SIZE, UART_FIFO_SIZE);  /* rx_head */
	/* Two bytes waiting with the FIFO off, where one fits. */
	T_SNAP_BAD(uart, &a, &b, UART_FIFO_SIZE + 1, 2);
}
