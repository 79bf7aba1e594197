/* COM1: output polled on THRE, input by the RX interrupt into a ring. */
#include <stdarg.h>

#include "guest.h"

#define UART_DATA	0	/* RBR, THR; DLL with DLAB */
#define UART_IER	1	/* DLM with DLAB */
#define UART_FCR	2
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define LSR_DR		0x01
#define LSR_THRE	0x20
#define IER_RDA		0x01
#define LCR_DLAB	0x80
#define LCR_8N1		0x03
#define FCR_FIFO_RESET	0x07
#define MCR_DTR_RTS_OUT2 0x0B	/* OUT2 gates the IRQ line on a PC */

static volatile uint8_t rx_ring[256];
static volatile unsigned rx_head, rx_tail;	/* free-running */

void
uart_init(void)
{
	outb(PC_PORT_COM1 + UART_IER, 0);
	outb(PC_PORT_COM1 + UART_LCR, LCR_DLAB);
	outb(PC_PORT_COM1 + UART_DATA, 1);	/* 115200 baud */
	outb(PC_PORT_COM1 + UART_IER, 0);
	outb(PC_PORT_COM1 + UART_LCR, LCR_8N1);
	outb(PC_PORT_COM1 + UART_FCR, FCR_FIFO_RESET);
	outb(PC_PORT_COM1 + UART_MCR, MCR_DTR_RTS_OUT2);
}

static void
uart_irq(void)
{
	while (inb(PC_PORT_COM1 + UART_LSR) & LSR_DR) {
		uint8_t c = inb(PC_PORT_COM1 + UART_DATA);

		if (rx_head - rx_tail < sizeof(rx_ring))
			rx_ring[rx_head++ % sizeof(rx_ring)] = c;
	}
}

void
uart_rx_enable(void)
{
	ioapic_route(PC_IRQ_COM1, uart_irq);
	outb(PC_PORT_COM1 + UART_IER, IER_RDA);
}

int
uart_getc(void)
{
	wait_for(&rx_head, rx_tail + 1, 0);
	return rx_ring[rx_tail++ % sizeof(rx_ring)];
}

static void
uart_putc(char c)
{
	if (c == '\n')
		uart_putc('\r');
	while (!(inb(PC_PORT_COM1 + UART_LSR) & LSR_THRE))
		;
	outb(PC_PORT_COM1 + UART_DATA, c);
}

static void
put_num(uint64_t v, unsigned base, int width, char pad)
{
	char digits[20];
	int n = 0;

	do {
		digits[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v != 0);
	while (width-- > n)
		uart_putc(pad);
	while (n > 0)
		uart_putc(digits[--n]);
}

/* %s %c %u %x, with a 0 flag, a width and an l modifier. */
void
kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	for (; *fmt != 0; fmt++) {
		char pad = ' ';
		int width = 0;
		bool l = false;

		if (*fmt != '%') {
			uart_putc(*fmt);
			continue;
		}
		if (*++fmt == '0')
			pad = *fmt++;
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + *fmt++ - '0';
		if (*fmt == 'l')
			l = *fmt++;
		switch (*fmt) {
		case 'u':
		case 'x':
			put_num(l ? va_arg(ap, unsigned long) :
			    va_arg(ap, unsigned), *fmt == 'u' ? 10 : 16, width,
			    pad);
			break;
		case 's':
			for (const char *s = va_arg(ap, const char *); *s; s++)
				uart_putc(*s);
			break;
		case 'c':
			uart_putc(va_arg(ap, int));
			break;
		default:
			uart_putc(*fmt);
			break;
		}
	}
	va_end(ap);
}
