/*
 * Snapshot files: see snapshot.h.
 */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char magic[8] = "NVMMSNAP";

struct file_header {
	char magic[8];
	uint32_t version;
	uint32_t rsvd;
};

struct rec_header {
	uint32_t type;		/* enum snap_type */
	uint32_t rsvd;
	uint64_t len;		/* the payload's bytes, padded to 8 in the file */
	uint64_t sum;		/* of the padded payload */
};

#define PAD8(n)		(((n) + 7) & ~(uint64_t)7)

/*
 * A Fletcher sum over 64-bit words: two adds a word, as the RAM record
 * is most of the file and the emulated host is slow. Chunks but the last
 * are whole words.
 */
struct sum {
	uint64_t a, b;
};

static void
sum_add(struct sum *s, const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t w;

	for (; n >= 8; n -= 8, b += 8) {
		memcpy(&w, b, 8);
		s->a += w;
		s->b += s->a;
	}
	if (n > 0) {
		w = 0;
		memcpy(&w, b, n);
		s->a += w;
		s->b += s->a;
	}
}

static uint64_t
sum_value(const struct sum *s)
{
	return s->a ^ (s->b * 0x9E3779B97F4A7C15ULL);
}

/* ---- Writing ----------------------------------------------------------- */

static int
write_all(struct snap_writer *w, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t r = write(w->fd, b, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		b += r;
		n -= (size_t)r;
		w->off += (uint64_t)r;
	}
	return 0;
}

/* The header, with the sum and length, goes in once the payload is out. */
static int
finish_record(struct snap_writer *w, uint64_t at, enum snap_type type,
    uint64_t len, struct sum *s)
{
	static const uint8_t zeros[8];
	struct rec_header h = { .type = type, .len = len };
	uint64_t pad = PAD8(len) - len;
	int r;

	h.sum = sum_value(s);
	r = write_all(w, zeros, pad);
	if (r == 0 && pwrite(w->fd, &h, sizeof(h), (off_t)at) != sizeof(h))
		r = -EIO;
	return r;
}

static int
begin_record(struct snap_writer *w, uint64_t *at)
{
	struct rec_header h = { 0 };

	*at = w->off;
	return write_all(w, &h, sizeof(h));
}

int
snap_put(struct snap_writer *w, enum snap_type type, const void *data,
    size_t len)
{
	struct sum s = { 0, 0 };
	uint64_t at;
	int r = begin_record(w, &at);

	if (r == 0)
		r = write_all(w, data, len);
	sum_add(&s, data, len);
	return r == 0 ? finish_record(w, at, type, len, &s) : r;
}

int
snap_put_ram(struct snap_writer *w, const uint8_t *ram, uint64_t npages,
    const uint64_t *bitmap)
{
	struct sum s = { 0, 0 };
	uint64_t at, nwords = (npages + 63) / 64, len;
	int r = begin_record(w, &at);

	if (r == 0)
		r = write_all(w, &npages, sizeof(npages));
	if (r == 0)
		r = write_all(w, bitmap, nwords * 8);
	sum_add(&s, &npages, sizeof(npages));
	sum_add(&s, bitmap, nwords * 8);
	/* Runs of marked pages, one write each. */
	for (uint64_t p = 0; r == 0 && p < npages; ) {
		uint64_t q = p;
		size_t n;

		while (q < npages && (bitmap[q / 64] >> (q % 64) & 1))
			q++;
		if (q == p) {
			p++;
			continue;
		}
		n = (size_t)((q - p) * SNAP_PAGE);
		r = write_all(w, ram + p * SNAP_PAGE, n);
		sum_add(&s, ram + p * SNAP_PAGE, n);
		p = q;
	}
	len = w->off - at - sizeof(struct rec_header);
	return r == 0 ? finish_record(w, at, SNAP_RAM, len, &s) : r;
}

static void
writer_free(struct snap_writer *w)
{
	close(w->fd);
	free(w->path);
	free(w->tmp);
	w->fd = -1;
}

int
snap_begin(struct snap_writer *w, const char *path, bool append,
    const struct snap_config *cfg)
{
	struct file_header fh = { .version = SNAP_VERSION };
	int r;

	memset(w, 0, sizeof(*w));
	w->append = append;
	w->path = strdup(path);
	if (w->path == NULL || asprintf(&w->tmp, "%s.tmp", path) < 0) {
		free(w->path);
		return -ENOMEM;
	}
	w->fd = append ? open(path, O_WRONLY | O_CLOEXEC) :
	    open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		r = -errno;
		free(w->path);
		free(w->tmp);
		return r;
	}
	if (append) {
		off_t end = lseek(w->fd, 0, SEEK_END);

		if (end < 0) {
			r = -errno;
			writer_free(w);
			return r;
		}
		w->start = w->off = (uint64_t)end;
		return 0;
	}
	memcpy(fh.magic, magic, sizeof(magic));
	r = write_all(w, &fh, sizeof(fh));
	if (r == 0)
		r = snap_put(w, SNAP_CONFIG, cfg, sizeof(*cfg));
	if (r < 0)
		snap_abort(w);
	return r;
}

static void
mark_of(const struct stat *st, struct snap_mark *mark)
{
	mark->dev = st->st_dev;
	mark->ino = st->st_ino;
	mark->size = (uint64_t)st->st_size;
}

bool
snap_unchanged(const char *path, const struct snap_mark *mark)
{
	struct snap_mark now;
	struct stat st;

	if (stat(path, &st) != 0)
		return false;
	mark_of(&st, &now);
	return memcmp(&now, mark, sizeof(now)) == 0;
}

int
snap_commit(struct snap_writer *w, uint32_t seq, struct snap_mark *mark)
{
	struct stat st;
	int r = snap_put(w, SNAP_COMMIT, &seq, sizeof(seq));

	if (r == 0 && (fsync(w->fd) != 0 || fstat(w->fd, &st) != 0))
		r = -errno;
	if (r == 0 && !w->append && rename(w->tmp, w->path) != 0)
		r = -errno;
	if (r < 0) {
		snap_abort(w);
		return r;
	}
	mark_of(&st, mark);
	writer_free(w);
	return 0;
}

void
snap_abort(struct snap_writer *w)
{
	if (w->append) {
		/* Should this fail, the missing COMMIT still leaves it out. */
		if (ftruncate(w->fd, (off_t)w->start) == 0)
			fsync(w->fd);
	} else {
		unlink(w->tmp);
	}
	writer_free(w);
}

/* ---- Reading ----------------------------------------------------------- */

static const char *const type_names[] = {
	[SNAP_CONFIG] = "config", [SNAP_RAM] = "RAM", [SNAP_CPU] = "CPU",
	[SNAP_DEVICES] = "devices", [SNAP_COMMIT] = "commit",
};

static int __attribute__((format(printf, 3, 4)))
bad(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * The record at POS: its header and payload in the file, the sum right.
 * NULL with the reason in ERR.
 */
static const struct rec_header *
record_at(const struct snap_file *f, size_t pos, char *err, size_t errlen)
{
	const struct rec_header *h;
	struct sum s = { 0, 0 };

	if (f->size - pos < sizeof(*h)) {
		bad(err, errlen, "truncated at offset %zu", pos);
		return NULL;
	}
	h = (const struct rec_header *)(f->map + pos);
	if (h->type < SNAP_CONFIG || h->type > SNAP_COMMIT) {
		bad(err, errlen, "unknown record type %u at offset %zu",
		    h->type, pos);
		return NULL;
	}
	if (h->len > f->size - pos - sizeof(*h) ||
	    PAD8(h->len) > f->size - pos - sizeof(*h)) {
		bad(err, errlen, "truncated in the %s record at offset %zu",
		    type_names[h->type], pos);
		return NULL;
	}
	sum_add(&s, h + 1, PAD8(h->len));
	if (sum_value(&s) != h->sum) {
		bad(err, errlen, "checksum mismatch in the %s record at "
		    "offset %zu", type_names[h->type], pos);
		return NULL;
	}
	return h;
}

/*
 * Walks the snapshots after CONFIG: each must hold one RAM, one CPU per
 * VCPU and one DEVICES before its COMMIT.
 */
static int
check_snapshots(struct snap_file *f, size_t pos, char *err, size_t errlen)
{
	unsigned n[SNAP_COMMIT + 1] = { 0 };

	while (pos < f->size) {
		char why[160];
		const struct rec_header *h = record_at(f, pos, why,
		    sizeof(why));

		if (h == NULL || h->type == SNAP_CONFIG ||
		    (h->type == SNAP_COMMIT && (n[SNAP_RAM] != 1 ||
		    n[SNAP_DEVICES] != 1 || n[SNAP_CPU] != f->cfg.ncpus))) {
			bad(f->snapshots > 0 ? f->torn : err,
			    f->snapshots > 0 ? sizeof(f->torn) : errlen, "%s",
			    h == NULL ? why :
			    "a snapshot without its RAM, CPUs or devices");
			return f->snapshots > 0 ? 0 : -1;
		}
		pos += sizeof(*h) + PAD8(h->len);
		if (h->type != SNAP_COMMIT) {
			n[h->type]++;
			continue;
		}
		memset(n, 0, sizeof(n));
		f->snapshots++;
		f->end = pos;
	}
	if (f->snapshots == 0)
		return bad(err, errlen, "truncated: no complete snapshot");
	return 0;
}

int
snap_open(struct snap_file *f, const char *path, char *err, size_t errlen)
{
	const struct file_header *fh;
	const struct rec_header *h;
	struct stat st;
	char why[160];
	void *map;
	int fd;

	memset(f, 0, sizeof(*f));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return bad(err, errlen, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return bad(err, errlen, "not a regular file");
	}
	if (st.st_size < (off_t)sizeof(magic)) {
		close(fd);
		return bad(err, errlen, "not an nvmm-run snapshot (no magic)");
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return bad(err, errlen, "cannot map: %s", strerror(errno));
	f->map = map;
	f->size = (size_t)st.st_size;
	fh = map;
	if (memcmp(fh->magic, magic, sizeof(magic)) != 0) {
		snap_close(f);
		return bad(err, errlen, "not an nvmm-run snapshot (wrong magic)");
	}
	if (f->size < sizeof(*fh)) {
		snap_close(f);
		return bad(err, errlen, "truncated in the file header");
	}
	if (fh->version != SNAP_VERSION) {
		bad(err, errlen, "format version %u, this nvmm-run reads "
		    "version %u", fh->version, SNAP_VERSION);
		snap_close(f);
		return -1;
	}
	h = record_at(f, sizeof(*fh), why, sizeof(why));
	if (h == NULL || h->type != SNAP_CONFIG ||
	    h->len != sizeof(f->cfg)) {
		snap_close(f);
		return bad(err, errlen, "%s", h == NULL ? why :
		    "no machine configuration first");
	}
	memcpy(&f->cfg, h + 1, sizeof(f->cfg));
	if (f->cfg.ncpus == 0 || f->cfg.mem == 0 ||
	    f->cfg.mem % SNAP_PAGE != 0) {
		snap_close(f);
		return bad(err, errlen, "a machine of %u CPUs and %llu bytes",
		    f->cfg.ncpus, (unsigned long long)f->cfg.mem);
	}
	f->pos = sizeof(*fh) + sizeof(*h) + PAD8(h->len);
	if (check_snapshots(f, f->pos, err, errlen) < 0) {
		snap_close(f);
		return -1;
	}
	return 0;
}

void
snap_close(struct snap_file *f)
{
	if (f->map != NULL)
		munmap((void *)(uintptr_t)f->map, f->size);
	f->map = NULL;
}

bool
snap_next(struct snap_file *f, enum snap_type *type, const void **data,
    uint64_t *len)
{
	const struct rec_header *h;

	if (f->pos >= f->end)
		return false;
	h = (const struct rec_header *)(f->map + f->pos);
	*type = h->type;
	*data = h + 1;
	*len = h->len;
	f->pos += sizeof(*h) + PAD8(h->len);
	return true;
}

int
snap_load_ram(const void *data, uint64_t len, uint8_t *ram, uint64_t mem)
{
	const uint8_t *p = data;
	const uint64_t *bitmap;
	uint64_t npages, nwords, marked = 0;

	if (len < sizeof(npages))
		return -EINVAL;
	memcpy(&npages, p, sizeof(npages));
	nwords = (npages + 63) / 64;
	if (npages != mem / SNAP_PAGE || len < 8 + nwords * 8)
		return -EINVAL;
	bitmap = (const uint64_t *)(p + 8);
	for (uint64_t i = 0; i < nwords; i++)
		marked += (uint64_t)__builtin_popcountll(bitmap[i]);
	if (len != 8 + nwords * 8 + marked * SNAP_PAGE)
		return -EINVAL;
	p += 8 + nwords * 8;
	for (uint64_t i = 0; i < npages; i++) {
		if (bitmap[i / 64] >> (i % 64) & 1) {
			memcpy(ram + i * SNAP_PAGE, p, SNAP_PAGE);
			p += SNAP_PAGE;
		}
	}
	return 0;
}
