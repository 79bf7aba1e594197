/*
 * A 16550A UART as on a PC's COM1: 16-byte receive FIFO, divisor latch,
 * loopback, modem status, and an interrupt line gated by MCR.OUT2.
 *
 * Transmission is instant: a byte written to THR goes straight to the TX
 * callback, so THR and the transmitter are always empty (LSR.THRE and
 * LSR.TEMT read 1). The console pushes input with uart_receive(), which
 * takes only what fits in the FIFO; the caller keeps the rest and retries.
 */
#ifndef HW_UART_H
#define HW_UART_H

#include <stddef.h>

#include "blob.h"
#include "bus.h"
#include "hw.h"

/* Register offsets; DLL and DLM replace RBR/THR and IER while LCR.DLAB. */
#define UART_RBR	0
#define UART_THR	0
#define UART_DLL	0
#define UART_IER	1
#define UART_DLM	1
#define UART_IIR	2
#define UART_FCR	2
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_MSR	6
#define UART_SCR	7
#define UART_NREGS	8

#define UART_IER_RDI	0x01	/* received data available */
#define UART_IER_THRI	0x02	/* THR empty */
#define UART_IER_RLSI	0x04	/* receiver line status */
#define UART_IER_MSI	0x08	/* modem status */

#define UART_IIR_NO_INT	0x01
#define UART_IIR_MSI	0x00
#define UART_IIR_THRI	0x02
#define UART_IIR_RDI	0x04
#define UART_IIR_RLSI	0x06
#define UART_IIR_TIMEOUT 0x0C
#define UART_IIR_FIFO	0xC0	/* both bits set while FIFOs are enabled */

#define UART_FCR_ENABLE	0x01
#define UART_FCR_CLEAR_RX 0x02
#define UART_FCR_CLEAR_TX 0x04
#define UART_FCR_TRIGGER 0xC0	/* RX trigger: 1, 4, 8 or 14 bytes */

#define UART_LCR_DLAB	0x80

#define UART_MCR_DTR	0x01
#define UART_MCR_RTS	0x02
#define UART_MCR_OUT1	0x04
#define UART_MCR_OUT2	0x08	/* on a PC, enables the IRQ line */
#define UART_MCR_LOOP	0x10

#define UART_LSR_DR	0x01
#define UART_LSR_OE	0x02
#define UART_LSR_THRE	0x20
#define UART_LSR_TEMT	0x40

#define UART_MSR_DCTS	0x01
#define UART_MSR_DDSR	0x02
#define UART_MSR_TERI	0x04
#define UART_MSR_DDCD	0x08
#define UART_MSR_CTS	0x10
#define UART_MSR_DSR	0x20
#define UART_MSR_RI	0x40
#define UART_MSR_DCD	0x80

#define UART_FIFO_SIZE	16

typedef void uart_tx_fn(void *opaque, uint8_t byte);

struct uart {
	uint8_t rx[UART_FIFO_SIZE];
	unsigned rx_head, rx_count;
	uint8_t ier, fcr, lcr, mcr, lsr, msr, scr, dll, dlm;
	bool thre_pending;	/* THRE interrupt, until an IIR read shows it */
	struct hw_irq irq;
	uart_tx_fn *tx;
	void *opaque;
};

/* IRQ(OPAQUE, LINE, level) drives the interrupt, TX(OPAQUE, byte) sends. */
void uart_init(struct uart *u, hw_irq_fn *irq, int line, uart_tx_fn *tx,
    void *opaque);
uint32_t uart_read(struct uart *u, unsigned offset, unsigned size);
void uart_write(struct uart *u, unsigned offset, unsigned size, uint32_t val);
bus_handler uart_io;

/* Queues up to N received bytes; returns how many fitted (0 in loopback). */
size_t uart_receive(struct uart *u, const uint8_t *buf, size_t n);

/* Snapshots: the state, and back into a device from uart_init() (blob.h). */
int uart_save(const struct uart *u, struct hw_blob *b);
int uart_load(struct uart *u, struct hw_blob *b);

#endif
