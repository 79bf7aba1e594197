/*
 * nvmm-run's snapshot files (see nvmm-run(1), SNAPSHOTS): the bytes on
 * disk, knowing nothing of the hypervisor. machine.c fills the records.
 *
 * A file is a header ("NVMMSNAP", the format version) and records, each
 * with its type, length and checksum. The first record is the machine's
 * CONFIG; then come snapshots, each RAM, CPU per VCPU, DEVICES and a
 * COMMIT that makes it whole. The first snapshot's RAM has every page
 * that isn't zero; each later one, appended, only the pages written since
 * the one before, and restoring applies them in order.
 */
#ifndef VMM_SNAPSHOT_H
#define VMM_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNAP_VERSION	1
#define SNAP_PAGE	4096

enum snap_type {
	SNAP_CONFIG = 1,	/* struct snap_config */
	SNAP_RAM,		/* page count, bitmap, the pages it marks */
	SNAP_CPU,		/* one VCPU: machine.c's record */
	SNAP_DEVICES,		/* the platform's record */
	SNAP_COMMIT,		/* the snapshot's number, from 1 */
};

struct snap_config {
	uint64_t mem;		/* guest RAM, bytes */
	uint32_t ncpus;
	uint32_t rsvd;
};

/* ---- Writing ----------------------------------------------------------- */

/* The file as a commit left it: appending needs it unchanged since. */
struct snap_mark {
	uint64_t dev, ino, size;
};

struct snap_writer {
	int fd;
	bool append;
	uint64_t start;		/* where this snapshot began */
	uint64_t off;
	char *path, *tmp;
};

/*
 * Starts a snapshot: the first one of a file goes to PATH.tmp with CONFIG
 * and replaces PATH at snap_commit(); a later one (APPEND) is added to
 * PATH, which stays as it was until the commit is written. 0 or -errno.
 */
int snap_begin(struct snap_writer *w, const char *path, bool append,
    const struct snap_config *cfg);
int snap_put(struct snap_writer *w, enum snap_type type, const void *data,
    size_t len);
/* The pages of RAM (NPAGES of them) whose bit is set in BITMAP. */
int snap_put_ram(struct snap_writer *w, const uint8_t *ram, uint64_t npages,
    const uint64_t *bitmap);
/* Writes COMMIT number SEQ, syncs, puts the file in place and marks it. */
int snap_commit(struct snap_writer *w, uint32_t seq, struct snap_mark *mark);
/* Whether PATH is still the file MARK describes, as it was. */
bool snap_unchanged(const char *path, const struct snap_mark *mark);
/* Forgets the snapshot begun: the file is as it was. */
void snap_abort(struct snap_writer *w);

/* ---- Reading ----------------------------------------------------------- */

struct snap_file {
	const uint8_t *map;
	size_t size;
	size_t end;		/* just past the last COMMIT */
	size_t pos;		/* the next record, for snap_next() */
	struct snap_config cfg;
	uint32_t snapshots;	/* how many COMMITs up to end */
	char torn[160];		/* what is wrong after the last COMMIT, or "" */
};

/*
 * Maps PATH and checks it all: magic, version, every record's bounds and
 * checksum, CONFIG first, at least one COMMIT. 0, or -1 with a one-line
 * reason in ERR. What fails after a COMMIT is a snapshot cut short while
 * it was added: left out, with the reason in torn.
 */
int snap_open(struct snap_file *f, const char *path, char *err, size_t errlen);
void snap_close(struct snap_file *f);

/* The next record up to the last COMMIT, after CONFIG; false at the end. */
bool snap_next(struct snap_file *f, enum snap_type *type, const void **data,
    uint64_t *len);

/* Copies a RAM record's pages into RAM of MEM bytes: 0 or -EINVAL. */
int snap_load_ram(const void *data, uint64_t len, uint8_t *ram, uint64_t mem);

#endif
