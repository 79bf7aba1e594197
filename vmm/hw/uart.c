/* 16550A UART. */
#include "uart.h"

/* The modem inputs seen outside loopback: a terminal that is always ready. */
#define MSR_IDLE_INPUTS	(UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS)
#define LSR_ERRORS	0x1E	/* OE, PE, FE, BI: cleared by reading LSR */

static unsigned
rx_capacity(const struct uart *u)
{
	return (u->fcr & UART_FCR_ENABLE) ? UART_FIFO_SIZE : 1;
}

static unsigned
rx_trigger(const struct uart *u)
{
	static const uint8_t level[4] = { 1, 4, 8, 14 };

	return (u->fcr & UART_FCR_ENABLE) ? level[u->fcr >> 6] : 1;
}

/*
 * The highest-priority pending interrupt, as IIR bits 3:0. Input arrives in
 * host-side bursts, so the character timeout (data below the trigger level)
 * is taken to have expired at once rather than after four character times.
 */
static uint8_t
pending_iid(const struct uart *u)
{
	if ((u->ier & UART_IER_RLSI) && (u->lsr & LSR_ERRORS))
		return UART_IIR_RLSI;
	if ((u->ier & UART_IER_RDI) && u->rx_count > 0)
		return u->rx_count >= rx_trigger(u) ? UART_IIR_RDI :
		    UART_IIR_TIMEOUT;
	if ((u->ier & UART_IER_THRI) && u->thre_pending)
		return UART_IIR_THRI;
	if ((u->ier & UART_IER_MSI) && (u->msr & 0x0F))
		return UART_IIR_MSI;
	return UART_IIR_NO_INT;
}

/* OUT2 gates the line on a PC; loopback forces OUT2 inactive at the pin. */
static void
update_irq(struct uart *u)
{
	hw_irq_set(&u->irq, pending_iid(u) != UART_IIR_NO_INT &&
	    (u->mcr & (UART_MCR_OUT2 | UART_MCR_LOOP)) == UART_MCR_OUT2);
}

static uint8_t
modem_inputs(const struct uart *u)
{
	uint8_t m = u->mcr;

	if (!(m & UART_MCR_LOOP))
		return MSR_IDLE_INPUTS;
	/* Loopback wires DTR to DSR, RTS to CTS, OUT1 to RI, OUT2 to DCD. */
	return (m & UART_MCR_DTR ? UART_MSR_DSR : 0) |
	    (m & UART_MCR_RTS ? UART_MSR_CTS : 0) |
	    (m & UART_MCR_OUT1 ? UART_MSR_RI : 0) |
	    (m & UART_MCR_OUT2 ? UART_MSR_DCD : 0);
}

static void
set_modem_inputs(struct uart *u, uint8_t in)
{
	uint8_t old = u->msr & 0xF0, changed = old ^ in;
	uint8_t delta = (changed >> 4) &
	    (UART_MSR_DCTS | UART_MSR_DDSR | UART_MSR_DDCD);

	if (old & ~in & UART_MSR_RI)	/* RI reports its falling edge */
		delta |= UART_MSR_TERI;
	u->msr = in | (u->msr & 0x0F) | delta;
}

static void
rx_clear(struct uart *u)
{
	u->rx_head = u->rx_count = 0;
	u->lsr &= ~UART_LSR_DR;
}

/*
 * A full FIFO drops the new byte; without FIFOs the byte overwrites RBR.
 * Either way it is an overrun.
 */
static void
rx_push(struct uart *u, uint8_t byte)
{
	if (u->rx_count == rx_capacity(u)) {
		u->lsr |= UART_LSR_OE;
		if (!(u->fcr & UART_FCR_ENABLE))
			u->rx[u->rx_head] = byte;
		return;
	}
	u->rx[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = byte;
	u->rx_count++;
	u->lsr |= UART_LSR_DR;
}

static uint8_t
rx_pop(struct uart *u)
{
	uint8_t byte;

	if (u->rx_count == 0)
		return 0;
	byte = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
	if (--u->rx_count == 0)
		u->lsr &= ~UART_LSR_DR;
	return byte;
}

void
uart_init(struct uart *u, hw_irq_fn *irq, int line, uart_tx_fn *tx,
    void *opaque)
{
	*u = (struct uart){
		.lsr = UART_LSR_THRE | UART_LSR_TEMT,
		.msr = MSR_IDLE_INPUTS,
		.tx = tx,
		.opaque = opaque,
	};
	hw_irq_init(&u->irq, irq, opaque, line);
}

static uint8_t
uart_read8(void *dev, unsigned offset)
{
	struct uart *u = dev;
	bool dlab = u->lcr & UART_LCR_DLAB;
	uint8_t val = 0, iid;

	switch (offset) {
	case UART_RBR:
		val = dlab ? u->dll : rx_pop(u);
		break;
	case UART_IER:
		val = dlab ? u->dlm : u->ier;
		break;
	case UART_IIR:
		iid = pending_iid(u);
		if (iid == UART_IIR_THRI)
			u->thre_pending = false;
		val = iid | ((u->fcr & UART_FCR_ENABLE) ? UART_IIR_FIFO : 0);
		break;
	case UART_LCR:
		val = u->lcr;
		break;
	case UART_MCR:
		val = u->mcr;
		break;
	case UART_LSR:
		val = u->lsr;
		u->lsr &= ~LSR_ERRORS;
		break;
	case UART_MSR:
		val = u->msr;
		u->msr &= 0xF0;
		break;
	case UART_SCR:
		val = u->scr;
		break;
	}
	update_irq(u);
	return val;
}

static void
write_fcr(struct uart *u, uint8_t val)
{
	/* Toggling the enable bit resets both FIFOs. */
	if ((val ^ u->fcr) & UART_FCR_ENABLE || (val & UART_FCR_CLEAR_RX))
		rx_clear(u);
	/* The other bits only program while the enable bit is written as 1. */
	u->fcr = (val & UART_FCR_ENABLE) ?
	    val & (UART_FCR_ENABLE | UART_FCR_TRIGGER) : 0;
}

static void
uart_write8(void *dev, unsigned offset, uint8_t val)
{
	struct uart *u = dev;
	bool dlab = u->lcr & UART_LCR_DLAB;

	switch (offset) {
	case UART_THR:
		if (dlab) {
			u->dll = val;
			break;
		}
		if (u->mcr & UART_MCR_LOOP)
			rx_push(u, val);
		else if (u->tx != NULL)
			u->tx(u->opaque, val);
		/* Sent at once: THR is empty again and re-arms THRE. */
		u->thre_pending = true;
		break;
	case UART_IER:
		if (dlab) {
			u->dlm = val;
			break;
		}
		/* Enabling THRI while THR is empty (always) raises THRE. */
		if (val & ~u->ier & UART_IER_THRI)
			u->thre_pending = true;
		u->ier = val & 0x0F;
		break;
	case UART_FCR:
		write_fcr(u, val);
		break;
	case UART_LCR:
		u->lcr = val;
		break;
	case UART_MCR:
		u->mcr = val & 0x1F;
		set_modem_inputs(u, modem_inputs(u));
		break;
	case UART_SCR:
		u->scr = val;
		break;
	}
	update_irq(u);
}

uint32_t
uart_read(struct uart *u, unsigned offset, unsigned size)
{
	return hw_read_bytes(uart_read8, u, offset, size, UART_NREGS);
}

void
uart_write(struct uart *u, unsigned offset, unsigned size, uint32_t val)
{
	hw_write_bytes(uart_write8, u, offset, size, val, UART_NREGS);
}

BUS_HANDLER(uart_io, struct uart, uart_read, uart_write)

size_t
uart_receive(struct uart *u, const uint8_t *buf, size_t n)
{
	size_t i = 0;

	/* In loopback the serial input pin is disconnected. */
	if (u->mcr & UART_MCR_LOOP)
		return 0;
	for (; i < n && u->rx_count < rx_capacity(u); i++)
		rx_push(u, buf[i]);
	update_irq(u);
	return i;
}

#define UART_TAG	HW_TAG('U', 'A', 'R', 'T')

int
uart_save(const struct uart *u, struct hw_blob *b)
{
	hw_blob_put_header(b, UART_TAG, 1);
	hw_put_bytes(b, u->rx, UART_FIFO_SIZE);
	hw_put8(b, (uint8_t)u->rx_head);
	hw_put8(b, (uint8_t)u->rx_count);
	hw_put8(b, u->ier);
	hw_put8(b, u->fcr);
	hw_put8(b, u->lcr);
	hw_put8(b, u->mcr);
	hw_put8(b, u->lsr);
	hw_put8(b, u->msr);
	hw_put8(b, u->scr);
	hw_put8(b, u->dll);
	hw_put8(b, u->dlm);
	hw_put8(b, u->thre_pending);
	hw_put_irq(b, &u->irq);
	return hw_blob_saved(b);
}

int
uart_load(struct uart *u, struct hw_blob *b)
{
	struct uart n = *u;
	int r = hw_blob_get_header(b, UART_TAG, 1);

	if (r < 0)
		return r;
	hw_get_bytes(b, n.rx, UART_FIFO_SIZE);
	n.rx_head = hw_get8(b);
	n.rx_count = hw_get8(b);
	n.ier = hw_get8(b);
	n.fcr = hw_get8(b);
	n.lcr = hw_get8(b);
	n.mcr = hw_get8(b);
	n.lsr = hw_get8(b);
	n.msr = hw_get8(b);
	n.scr = hw_get8(b);
	n.dll = hw_get8(b);
	n.dlm = hw_get8(b);
	n.thre_pending = hw_get_bool(b);
	hw_get_irq(b, &n.irq);
	r = hw_blob_done(b, n.rx_head >= UART_FIFO_SIZE ||
	    n.rx_count > rx_capacity(&n));
	if (r == 0)
		*u = n;
	return r;
}
