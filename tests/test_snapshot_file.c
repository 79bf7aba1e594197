/* nvmm-run's snapshot files, with no VM: vmm/snapshot.c. */
#include "t.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot.h"

#define NPAGES	100
#define MEM	((uint64_t)NPAGES * SNAP_PAGE)

static const struct snap_config cfg = { .mem = MEM, .ncpus = 1 };
static char path[64];

static void
setup(void)
{
	snprintf(path, sizeof(path), "/tmp/test_snapshot_file.%d", getpid());
	unlink(path);
}

static void
bit(uint64_t *bitmap, unsigned page)
{
	bitmap[page / 64] |= 1ULL << (page % 64);
}

/* One snapshot: RAM's pages in BITMAP, a CPU record, a devices record. */
static void
put_snapshot(bool append, const uint8_t *ram, const uint64_t *bitmap,
    uint32_t seq, struct snap_mark *mark)
{
	struct snap_writer w;

	T_EQ(snap_begin(&w, path, append, &cfg), 0);
	T_EQ(snap_put_ram(&w, ram, NPAGES, bitmap), 0);
	T_EQ(snap_put(&w, SNAP_CPU, "cpu", 3), 0);
	T_EQ(snap_put(&w, SNAP_DEVICES, &seq, sizeof(seq)), 0);
	T_EQ(snap_commit(&w, seq, mark), 0);
}

/* The RAM the file restores, and its last DEVICES record (a number). */
static void
restore(uint8_t *ram, uint32_t *devices, uint32_t *snapshots)
{
	struct snap_file f;
	enum snap_type type;
	const void *data;
	uint64_t len;
	char err[160];

	memset(ram, 0, MEM);
	T_EQ(snap_open(&f, path, err, sizeof(err)), 0);
	T_EQ(f.cfg.mem, MEM);
	T_EQ(f.torn[0], 0);
	while (snap_next(&f, &type, &data, &len)) {
		if (type == SNAP_RAM)
			T_EQ(snap_load_ram(data, len, ram, MEM), 0);
		if (type == SNAP_DEVICES)
			memcpy(devices, data, sizeof(*devices));
	}
	*snapshots = f.snapshots;
	snap_close(&f);
}

TEST(snapshot_file_full_then_deltas)
{
	static uint8_t ram[MEM], back[MEM];
	uint64_t bitmap[(NPAGES + 63) / 64] = { 0 };
	struct snap_mark mark;
	struct stat st;
	uint32_t devices, n;

	setup();
	memset(ram + 3 * SNAP_PAGE, 0xA5, SNAP_PAGE);
	memset(ram + 70 * SNAP_PAGE + 5, 0x11, 7);
	bit(bitmap, 3);
	bit(bitmap, 70);
	put_snapshot(false, ram, bitmap, 1, &mark);
	T_ASSERT(access(path, F_OK) == 0);
	T_ASSERT(snap_unchanged(path, &mark));
	restore(back, &devices, &n);
	T_EQ(memcmp(back, ram, MEM), 0);
	T_EQ(devices, 1);
	T_EQ(n, 1);

	/* A delta: page 3 zeroed, page 99 written; page 70 as it was. */
	memset(ram + 3 * SNAP_PAGE, 0, SNAP_PAGE);
	ram[99 * SNAP_PAGE + 4095] = 0x77;
	memset(bitmap, 0, sizeof(bitmap));
	bit(bitmap, 3);
	bit(bitmap, 99);
	put_snapshot(true, ram, bitmap, 2, &mark);
	T_ASSERT(snap_unchanged(path, &mark));
	T_EQ(stat(path, &st), 0);
	T_EQ((uint64_t)st.st_size, mark.size);
	restore(back, &devices, &n);
	T_EQ(memcmp(back, ram, MEM), 0);
	T_EQ(devices, 2);
	T_EQ(n, 2);
	unlink(path);
	T_ASSERT(!snap_unchanged(path, &mark));
}

/* snap_open's ERR for the file as it is now. */
static const char *
open_error(void)
{
	static char err[160];
	struct snap_file f;

	if (snap_open(&f, path, err, sizeof(err)) == 0) {
		snap_close(&f);
		return "";
	}
	return err;
}

static void
poke(long off, uint8_t val)
{
	FILE *fp = fopen(path, "r+b");

	T_ASSERT(fp != NULL);
	T_EQ(fseek(fp, off, SEEK_SET), 0);
	T_EQ(fputc(val, fp), val);
	fclose(fp);
}

TEST(snapshot_file_bad_ones_refused)
{
	static uint8_t ram[MEM];
	uint64_t bitmap[(NPAGES + 63) / 64] = { 0 };
	struct snap_mark mark;
	struct stat st;

	setup();
	ram[5 * SNAP_PAGE] = 1;
	bit(bitmap, 5);
	put_snapshot(false, ram, bitmap, 1, &mark);
	T_EQ(stat(path, &st), 0);

	poke(2, 'X');
	T_EQ(strcmp(open_error(), "not an nvmm-run snapshot (wrong magic)"), 0);
	poke(2, 'M');
	poke(8, 9);
	T_EQ(strcmp(open_error(),
	    "format version 9, this nvmm-run reads version 1"), 0);
	poke(8, 1);
	T_EQ(strcmp(open_error(), ""), 0);
	poke(56 + 24 + 8 + 16 + 10, 0xEE);	/* in page 5's bytes */
	T_EQ(strcmp(open_error(),
	    "checksum mismatch in the RAM record at offset 56"), 0);
	poke(56 + 24 + 8 + 16 + 10, 0);
	/*
	 * Header 16, CONFIG 24 + 16, RAM 24 + 8 + 16 + 4096, CPU and DEVICES
	 * 24 + 8 each: the COMMIT at 4264, the file's end at 4296.
	 */
	T_EQ(st.st_size, 4296);
	T_EQ(truncate(path, st.st_size - 1), 0);
	T_EQ(strcmp(open_error(),
	    "truncated in the commit record at offset 4264"), 0);
	T_EQ(truncate(path, 16), 0);
	T_EQ(strcmp(open_error(), "truncated at offset 16"), 0);
	T_EQ(truncate(path, 10), 0);
	T_EQ(strcmp(open_error(), "truncated in the file header"), 0);
	unlink(path);
	T_EQ(strcmp(open_error(), "cannot open: No such file or directory"), 0);
}

TEST(snapshot_file_torn_delta_left_out)
{
	static uint8_t ram[MEM], back[MEM];
	uint64_t bitmap[(NPAGES + 63) / 64] = { 0 };
	struct snap_mark mark;
	uint32_t devices, n;
	struct snap_file f;
	char err[160];

	setup();
	ram[0] = 1;
	bit(bitmap, 0);
	put_snapshot(false, ram, bitmap, 1, &mark);
	ram[0] = 2;
	put_snapshot(true, ram, bitmap, 2, &mark);
	T_EQ(truncate(path, (off_t)mark.size - 8), 0);
	/* The second snapshot from 4296, 4240 bytes: its COMMIT at 8504. */
	T_EQ(snap_open(&f, path, err, sizeof(err)), 0);
	T_EQ(f.snapshots, 1);
	T_EQ(strcmp(f.torn, "truncated in the commit record at offset 8504"), 0);
	snap_close(&f);
	/* What is left restores as the first snapshot. */
	T_EQ(truncate(path, 4296), 0);
	restore(back, &devices, &n);
	T_EQ(back[0], 1);
	T_EQ(devices, 1);
	unlink(path);
}

TEST(snapshot_file_bad_ram_record)
{
	static uint8_t ram[MEM];
	uint64_t hdr[2] = { NPAGES, 0 };

	/* Page count of another machine; a bitmap marking more than there is. */
	T_EQ(snap_load_ram(hdr, sizeof(hdr), ram, MEM + SNAP_PAGE), -EINVAL);
	hdr[1] = 1;
	T_EQ(snap_load_ram(hdr, sizeof(hdr), ram, MEM), -EINVAL);
	T_EQ(snap_load_ram(hdr, 4, ram, MEM), -EINVAL);
}
