/* xAPIC local APIC. */
#include "lapic.h"

/* LVT entries in register order, from LAPIC_LVT_TIMER on. */
enum {
	LVT_TIMER,
	LVT_THERMAL,
	LVT_PERF,
	LVT_LINT0,
	LVT_LINT1,
	LVT_ERROR,
};

/* Writable bits of each LVT entry: vector, mode, polarity, trigger, mask. */
static const uint32_t lvt_writable[LAPIC_NLVT] = {
	[LVT_TIMER] = 0x300FF,
	[LVT_THERMAL] = 0x107FF,
	[LVT_PERF] = 0x107FF,
	[LVT_LINT0] = 0x1A7FF,
	[LVT_LINT1] = 0x1A7FF,
	[LVT_ERROR] = 0x100FF,
};

static void
bits_set(struct apic_bits *b, unsigned v)
{
	b->w[v >> 5] |= 1u << (v & 31);
}

static void
bits_clear(struct apic_bits *b, unsigned v)
{
	b->w[v >> 5] &= ~(1u << (v & 31));
}

static bool
bits_test(const struct apic_bits *b, unsigned v)
{
	return b->w[v >> 5] & (1u << (v & 31));
}

/* The highest vector set, or -1. */
static int
bits_highest(const struct apic_bits *b)
{
	for (int i = 7; i >= 0; i--)
		if (b->w[i] != 0)
			return i * 32 + 31 - __builtin_clz(b->w[i]);
	return -1;
}

/* The priority class (bits 7:4) of the highest vector set, 0 if none. */
static uint32_t
bits_class(const struct apic_bits *b)
{
	int v = bits_highest(b);

	return v < 0 ? 0 : (uint32_t)v & 0xF0;
}

static bool
sw_enabled(const struct lapic *l)
{
	return l->svr & LAPIC_SVR_ENABLE;
}

static uint32_t
ppr(const struct lapic *l)
{
	uint32_t isr = bits_class(&l->isr);

	return (l->tpr & 0xF0) >= isr ? l->tpr : isr;
}

/* The P6 arbitration priority, for lowest-priority delivery. */
static uint32_t
apr(const struct lapic *l)
{
	uint32_t tpr = l->tpr & 0xF0, irr = bits_class(&l->irr);
	uint32_t isr = bits_class(&l->isr), max = tpr;

	if (tpr >= irr && tpr > isr)
		return l->tpr;
	if (isr > max)
		max = isr;
	if (irr > max)
		max = irr;
	return max;
}

static void accept(struct lapic *l, uint8_t vector, bool level);

/* Errors latch until the next ESR write and interrupt through LVT error. */
static void
error(struct lapic *l, uint32_t bit)
{
	uint32_t lvt = l->lvt[LVT_ERROR];

	l->esr_pending |= bit;
	/* An illegal error vector would recurse: it only latches. */
	if (!(lvt & LAPIC_LVT_MASKED) && (lvt & 0xFF) >= 16)
		accept(l, lvt & 0xFF, false);
}

static void
accept(struct lapic *l, uint8_t vector, bool level)
{
	if (!sw_enabled(l))
		return;
	if (vector < 16) {
		error(l, LAPIC_ESR_RECV_ILLEGAL);
		return;
	}
	bits_set(&l->irr, vector);
	if (level)
		bits_set(&l->tmr, vector);
	else
		bits_clear(&l->tmr, vector);
}

void
lapic_init(struct lapic *lapic, uint8_t id, const struct hw_clock *clock,
    apic_deliver_fn *ipi, lapic_eoi_fn *eoi, void *opaque)
{
	*lapic = (struct lapic){
		.id = (uint32_t)id << 24,
		.clock = clock,
		.ipi = ipi,
		.eoi = eoi,
		.opaque = opaque,
	};
	lapic_reset(lapic);
}

void
lapic_reset(struct lapic *lapic)
{
	struct lapic old = *lapic;

	*lapic = (struct lapic){
		.id = old.id,
		.dfr = 0xFFFFFFFF,
		.svr = 0xFF,
		.timer_div = 2,
		.lint = { old.lint[0], old.lint[1] },
		.clock = old.clock,
		.ipi = old.ipi,
		.eoi = old.eoi,
		.opaque = old.opaque,
	};
	for (int i = 0; i < LAPIC_NLVT; i++)
		lapic->lvt[i] = LAPIC_LVT_MASKED;
}

/* The first expiry after AFTER (ns), or HW_NO_DEADLINE. */
static uint64_t
timer_next(const struct lapic *l, uint64_t after)
{
	uint64_t period = (uint64_t)l->timer_icr * l->timer_div, e;

	if (period == 0)
		return HW_NO_DEADLINE;
	e = after > l->timer_start ? after - l->timer_start : 0;
	if (l->lvt[LVT_TIMER] & LAPIC_LVT_PERIODIC)
		return l->timer_start + (e / period + 1) * period;
	return e < period ? l->timer_start + period : HW_NO_DEADLINE;
}

/* Delivers an expiry due by NOW (several coalesce); true if one was. */
static bool
timer_update(struct lapic *l, uint64_t now)
{
	bool fire;

	if (now <= l->timer_seen)
		return false;
	fire = timer_next(l, l->timer_seen) <= now &&
	    !(l->lvt[LVT_TIMER] & LAPIC_LVT_MASKED);
	l->timer_seen = now;
	if (fire)
		accept(l, l->lvt[LVT_TIMER] & 0xFF, false);
	return fire;
}

static uint32_t
timer_current(const struct lapic *l, uint64_t now)
{
	uint64_t ticks;

	if (l->timer_icr == 0)
		return 0;
	ticks = (now - l->timer_start) / l->timer_div;
	if (l->lvt[LVT_TIMER] & LAPIC_LVT_PERIODIC)
		return l->timer_icr - ticks % l->timer_icr;
	return ticks >= l->timer_icr ? 0 : l->timer_icr - ticks;
}

/* DCR bits 3, 1:0: 0-6 divide by 2 << n, 7 by 1. */
static unsigned
dcr_divisor(uint32_t dcr)
{
	unsigned n = (dcr & 3) | ((dcr >> 1) & 4);

	return n == 7 ? 1 : 2u << n;
}

static void
eoi(struct lapic *l)
{
	int v = bits_highest(&l->isr);

	if (v < 0)
		return;
	bits_clear(&l->isr, v);
	if (bits_test(&l->tmr, v) && l->eoi != NULL)
		l->eoi(l->opaque, v);
}

static void
send_ipi(struct lapic *l)
{
	uint32_t lo = l->icr_lo;
	struct apic_msg m = {
		.vector = lo & 0xFF,
		.delivery = (lo >> 8) & 7,
		.logical = lo & LAPIC_ICR_LOGICAL,
		.shorthand = (lo >> 18) & 3,
		.dest = l->icr_hi >> 24,
		.source = l->id >> 24,
	};

	/* INIT level de-assert: xAPICs since the Pentium 4 ignore it. */
	if (m.delivery == APIC_DM_INIT && (lo & LAPIC_ICR_LEVEL) &&
	    !(lo & LAPIC_ICR_ASSERT))
		return;
	if ((m.delivery == APIC_DM_FIXED || m.delivery == APIC_DM_LOWEST) &&
	    m.vector < 16) {
		error(l, LAPIC_ESR_SEND_ILLEGAL);
		return;
	}
	if (l->ipi != NULL)
		l->ipi(l->opaque, &m);
}

static void
write_lvt(struct lapic *l, unsigned i, uint32_t val, uint64_t now)
{
	/* Expiries due under the old setting are settled first. */
	if (i == LVT_TIMER)
		timer_update(l, now);
	val &= lvt_writable[i];
	if (!sw_enabled(l))
		val |= LAPIC_LVT_MASKED;
	l->lvt[i] = val;
}

static uint32_t
reg_read(struct lapic *l, unsigned reg)
{
	if (reg >= LAPIC_LVT_TIMER && reg <= LAPIC_LVT_ERROR)
		return l->lvt[(reg - LAPIC_LVT_TIMER) >> 4];
	if (reg >= LAPIC_ISR && reg < LAPIC_ISR + 0x80)
		return l->isr.w[(reg - LAPIC_ISR) >> 4];
	if (reg >= LAPIC_TMR && reg < LAPIC_TMR + 0x80)
		return l->tmr.w[(reg - LAPIC_TMR) >> 4];
	if (reg >= LAPIC_IRR && reg < LAPIC_IRR + 0x80)
		return l->irr.w[(reg - LAPIC_IRR) >> 4];
	switch (reg) {
	case LAPIC_ID:
		return l->id;
	case LAPIC_VER:
		return LAPIC_VERSION;
	case LAPIC_TPR:
		return l->tpr;
	case LAPIC_APR:
		return apr(l);
	case LAPIC_PPR:
		return ppr(l);
	case LAPIC_LDR:
		return l->ldr;
	case LAPIC_DFR:
		return l->dfr;
	case LAPIC_SVR:
		return l->svr;
	case LAPIC_ESR:
		return l->esr;
	case LAPIC_ICR_LO:	/* delivery is instant: status always idle */
		return l->icr_lo;
	case LAPIC_ICR_HI:
		return l->icr_hi;
	case LAPIC_TIMER_ICR:
		return l->timer_icr;
	case LAPIC_TIMER_CCR:
		return timer_current(l, hw_now(l->clock));
	case LAPIC_TIMER_DCR:
		return l->timer_dcr;
	}
	return 0;
}

/* Registers sit at 16-byte strides; bytes 4-15 of each read as zero. */
uint32_t
lapic_read(struct lapic *lapic, unsigned offset, unsigned size)
{
	uint32_t val;

	if ((offset & 0xF) >= 4)
		return 0;
	val = reg_read(lapic, offset & 0xFF0) >> (8 * (offset & 3));
	return size >= 4 ? val : val & ((1u << (8 * size)) - 1);
}

/* Only aligned 32-bit writes are defined; the rest are dropped. */
void
lapic_write(struct lapic *l, unsigned offset, unsigned size, uint32_t val)
{
	unsigned reg = offset & 0xFF0;
	uint64_t now;

	if (size != 4 || (offset & 0xF) != 0)
		return;
	now = hw_now(l->clock);
	if (reg >= LAPIC_LVT_TIMER && reg <= LAPIC_LVT_ERROR) {
		write_lvt(l, (reg - LAPIC_LVT_TIMER) >> 4, val, now);
		return;
	}
	switch (reg) {
	case LAPIC_TPR:
		l->tpr = val & 0xFF;
		break;
	case LAPIC_EOI:
		eoi(l);
		break;
	case LAPIC_LDR:
		l->ldr = val & 0xFF000000;
		break;
	case LAPIC_DFR:
		l->dfr = val | 0x0FFFFFFF;
		break;
	case LAPIC_SVR:
		l->svr = val & 0x3FF;
		if (!sw_enabled(l))
			for (int i = 0; i < LAPIC_NLVT; i++)
				l->lvt[i] |= LAPIC_LVT_MASKED;
		break;
	case LAPIC_ESR:		/* a write makes the latched errors readable */
		l->esr = l->esr_pending;
		l->esr_pending = 0;
		break;
	case LAPIC_ICR_LO:
		l->icr_lo = val & 0xCCFFF;
		send_ipi(l);
		break;
	case LAPIC_ICR_HI:
		l->icr_hi = val & 0xFF000000;
		break;
	case LAPIC_TIMER_ICR:
		timer_update(l, now);
		l->timer_icr = val;
		l->timer_div = dcr_divisor(l->timer_dcr);
		l->timer_start = l->timer_seen = now;
		break;
	case LAPIC_TIMER_DCR:
		l->timer_dcr = val & 0xB;
		break;
	}
}

BUS_HANDLER(lapic_io, struct lapic, lapic_read, lapic_write)

void
lapic_set_irq(struct lapic *lapic, uint8_t vector, bool level)
{
	accept(lapic, vector, level);
}

/* ExtINT inputs are sampled by lapic_pending(); the rest act on edges. */
void
lapic_set_lint(struct lapic *lapic, unsigned pin, bool level)
{
	uint32_t lvt;
	bool rising;

	if (pin > 1)
		return;
	rising = level && !lapic->lint[pin];
	lapic->lint[pin] = level;
	lvt = lapic->lvt[LVT_LINT0 + pin];
	if (!rising || (lvt & LAPIC_LVT_MASKED))
		return;
	switch ((lvt >> 8) & 7) {
	case APIC_DM_FIXED:
		accept(lapic, lvt & 0xFF, lvt & LAPIC_LVT_LEVEL);
		break;
	case APIC_DM_NMI:
		lapic->events |= LAPIC_EV_NMI;
		break;
	}
}

static bool
extint_pending(const struct lapic *l)
{
	uint32_t lvt = l->lvt[LVT_LINT0];

	return l->extint || (l->lint[0] && !(lvt & LAPIC_LVT_MASKED) &&
	    ((lvt >> 8) & 7) == APIC_DM_EXTINT);
}

int
lapic_pending(const struct lapic *lapic)
{
	int v;

	if (extint_pending(lapic))
		return LAPIC_EXTINT;
	v = bits_highest(&lapic->irr);
	if (v < 0 || !sw_enabled(lapic) ||
	    ((uint32_t)v & 0xF0) <= (ppr(lapic) & 0xF0))
		return -1;
	return v;
}

void
lapic_ack(struct lapic *lapic, int vector)
{
	if (vector == LAPIC_EXTINT) {
		lapic->extint = false;
		return;
	}
	bits_clear(&lapic->irr, vector);
	bits_set(&lapic->isr, vector);
}

unsigned
lapic_take_events(struct lapic *lapic, uint8_t *sipi_vector)
{
	unsigned ev = lapic->events;

	lapic->events = 0;
	if (ev & LAPIC_EV_SIPI)
		*sipi_vector = lapic->sipi_vector;
	return ev;
}

bool
lapic_advance(struct lapic *lapic, uint64_t now_ns)
{
	return timer_update(lapic, now_ns);
}

uint64_t
lapic_next_deadline(const struct lapic *lapic)
{
	if (lapic->lvt[LVT_TIMER] & LAPIC_LVT_MASKED)
		return HW_NO_DEADLINE;
	return timer_next(lapic, lapic->timer_seen);
}

bool
lapic_match(const struct lapic *lapic, const struct apic_msg *msg)
{
	uint8_t id = lapic->id >> 24, ldr = lapic->ldr >> 24;

	switch (msg->shorthand) {
	case APIC_SH_SELF:
		return id == msg->source;
	case APIC_SH_ALL:
		return true;
	case APIC_SH_OTHERS:
		return id != msg->source;
	}
	if (msg->dest == 0xFF)
		return true;
	if (!msg->logical)
		return id == msg->dest;
	if ((lapic->dfr >> 28) == 0xF)		/* flat: a bit per LAPIC */
		return ldr & msg->dest;
	/* Cluster: cluster number in bits 7:4, a bit per LAPIC in 3:0. */
	return (ldr >> 4) == (msg->dest >> 4) && (ldr & msg->dest & 0xF);
}

void
lapic_deliver(struct lapic *lapic, const struct apic_msg *msg)
{
	switch (msg->delivery) {
	case APIC_DM_FIXED:
	case APIC_DM_LOWEST:
		accept(lapic, msg->vector, msg->level);
		break;
	case APIC_DM_NMI:
		lapic->events |= LAPIC_EV_NMI;
		break;
	case APIC_DM_INIT:
		lapic_reset(lapic);
		lapic->events |= LAPIC_EV_INIT;
		break;
	case APIC_DM_SIPI:
		lapic->events |= LAPIC_EV_SIPI;
		lapic->sipi_vector = msg->vector;
		break;
	case APIC_DM_EXTINT:
		lapic->extint = true;
		break;
	default:	/* SMI and the reserved mode 3 */
		break;
	}
}

uint64_t
lapic_route(struct lapic *const *lapics, unsigned n,
    const struct apic_msg *msg)
{
	uint64_t hit = 0;
	int best = -1;

	for (unsigned i = 0; i < n && i < 64; i++) {
		if (!lapic_match(lapics[i], msg))
			continue;
		if (msg->delivery != APIC_DM_LOWEST) {
			lapic_deliver(lapics[i], msg);
			hit |= 1ULL << i;
		} else if (sw_enabled(lapics[i]) &&
		    (best < 0 || apr(lapics[i]) < apr(lapics[best]))) {
			best = i;
		}
	}
	if (best >= 0) {
		lapic_deliver(lapics[best], msg);
		hit |= 1ULL << best;
	}
	return hit;
}

#define LAPIC_TAG	HW_TAG('L', 'A', 'P', 'I')

static void
put_bits(struct hw_blob *b, const struct apic_bits *bits)
{
	for (int i = 0; i < 8; i++)
		hw_put32(b, bits->w[i]);
}

static void
get_bits(struct hw_blob *b, struct apic_bits *bits)
{
	for (int i = 0; i < 8; i++)
		bits->w[i] = hw_get32(b);
}

int
lapic_save(const struct lapic *l, struct hw_blob *b)
{
	const uint32_t regs[] = {
		l->id, l->tpr, l->ldr, l->dfr, l->svr, l->esr, l->esr_pending,
		l->icr_lo, l->icr_hi, l->timer_icr, l->timer_dcr,
	};

	hw_blob_put_header(b, LAPIC_TAG, 1);
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		hw_put32(b, regs[i]);
	hw_put32(b, l->timer_div);
	hw_put32(b, l->events);
	for (int i = 0; i < LAPIC_NLVT; i++)
		hw_put32(b, l->lvt[i]);
	put_bits(b, &l->irr);
	put_bits(b, &l->isr);
	put_bits(b, &l->tmr);
	hw_put64(b, l->timer_start);
	hw_put64(b, l->timer_seen);
	hw_put8(b, l->lint[0]);
	hw_put8(b, l->lint[1]);
	hw_put8(b, l->extint);
	hw_put8(b, l->sipi_vector);
	return hw_blob_saved(b);
}

int
lapic_load(struct lapic *lapic, struct hw_blob *b)
{
	struct lapic n = *lapic;
	uint32_t *const regs[] = {
		&n.id, &n.tpr, &n.ldr, &n.dfr, &n.svr, &n.esr, &n.esr_pending,
		&n.icr_lo, &n.icr_hi, &n.timer_icr, &n.timer_dcr,
	};
	uint32_t div, events;
	int r = hw_blob_get_header(b, LAPIC_TAG, 1);

	if (r < 0)
		return r;
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		*regs[i] = hw_get32(b);
	div = hw_get32(b);
	events = hw_get32(b);
	for (int i = 0; i < LAPIC_NLVT; i++)
		n.lvt[i] = hw_get32(b);
	get_bits(b, &n.irr);
	get_bits(b, &n.isr);
	get_bits(b, &n.tmr);
	n.timer_start = hw_get64(b);
	n.timer_seen = hw_get64(b);
	n.lint[0] = hw_get_bool(b);
	n.lint[1] = hw_get_bool(b);
	n.extint = hw_get_bool(b);
	n.sipi_vector = hw_get8(b);
	n.timer_div = div;
	n.events = events;
	/* The divisor is one DCR gives: a power of two up to 128. */
	r = hw_blob_done(b, div == 0 || div > 128 || (div & (div - 1)) ||
	    (events & ~(unsigned)(LAPIC_EV_NMI | LAPIC_EV_INIT |
	    LAPIC_EV_SIPI)) || n.timer_seen < n.timer_start);
	if (r == 0)
		*lapic = n;
	return r;
}
