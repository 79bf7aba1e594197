/*
 * The machine registry: NVMM machine ids are host-wide on NetBSD, and
 * nvmmctl(8) lists every machine through nvmm_ctl(). Here each machine
 * claims a file "<rundir>/machine.<id>" (rundir: $LIBNVMM_RUNDIR or
 * /run/nvmm) created exclusively, mapped shared so that updates cost no
 * syscall, and write-locked for the life of the machine so that a file
 * whose owner died is recognised and reclaimed. After the entry's page
 * come the VCPUs' statistics, one slot per possible VCPU (the file is
 * sparse: untouched slots take no memory).
 */
#include "nvmm_impl.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define REG_MAGIC	0x4E564D4D	/* "NVMM" */
#define REG_SIZE	(NVMM_PAGE_SIZE + ((NVMM_MAX_VCPUS * \
	sizeof(struct stats_slot) + NVMM_PAGE_MASK) & ~NVMM_PAGE_MASK))

struct registry_entry {
	uint32_t magic;
	uint32_t machid;
	uint32_t nvcpus;
	int32_t pid;
	uint64_t nram;
	int64_t ctime;
	int fd;			/* only meaningful in the owning process */
};

static const char *
rundir(void)
{
	const char *d = getenv("LIBNVMM_RUNDIR");

	return d != NULL && d[0] != '\0' ? d : "/run/nvmm";
}

static void
entry_path(char *buf, size_t len, unsigned id)
{
	snprintf(buf, len, "%s/machine.%u", rundir(), id);
}

/* True when no live process holds the entry's lock. */
static bool
entry_stale(const char *path)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool stale;

	if (fd < 0)
		return false;
	stale = fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type == F_UNLCK;
	close(fd);
	return stale;
}

static int
claim_id(struct mach *m, unsigned id)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	struct registry_entry *e;
	char path[4096];
	int fd;

	entry_path(path, sizeof(path), id);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 && errno == EEXIST && entry_stale(path) &&
	    unlink(path) == 0)
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, REG_SIZE) != 0 ||
	    fcntl(fd, F_OFD_SETLK, &fl) != 0) {
		unlink(path);
		close(fd);
		return -EIO;
	}
	e = mmap(NULL, REG_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (e == MAP_FAILED) {
		unlink(path);
		close(fd);
		return -EIO;
	}
	e->magic = REG_MAGIC;
	e->machid = id;
	e->pid = getpid();
	e->ctime = m->ctime;
	e->fd = fd;
	m->reg = e;
	m->id = id;
	return 0;
}

/*
 * Picks the lowest free id. Without a usable run directory, ids are only
 * unique within this process and other processes cannot see the machine.
 */
int
registry_claim(struct mach *m)
{
	char lockpath[4096];
	int lock;

	mkdir(rundir(), 01777);
	snprintf(lockpath, sizeof(lockpath), "%s/lock", rundir());
	lock = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	if (lock >= 0 && flock(lock, LOCK_EX) == 0) {
		for (unsigned id = 0; id < NVMM_MAX_MACHINES; id++) {
			if (claim_id(m, id) == 0) {
				close(lock);
				return 0;
			}
		}
		close(lock);
		return -ENOBUFS;
	}
	if (lock >= 0)
		close(lock);
	m->reg = NULL;
	return -EAGAIN;
}

void
registry_update(struct mach *m)
{
	if (m->reg == NULL)
		return;
	m->reg->nvcpus = m->nvcpus;
	m->reg->nram = m->nram;
}

void
registry_release(struct mach *m)
{
	char path[4096];
	int fd;

	if (m->reg == NULL)
		return;
	entry_path(path, sizeof(path), m->id);
	unlink(path);
	fd = m->reg->fd;
	munmap(m->reg, REG_SIZE);
	close(fd);
	m->reg = NULL;
}

static struct stats_slot *
slots(const void *file)
{
	return (struct stats_slot *)((char *)file + NVMM_PAGE_SIZE);
}

struct stats_slot *
registry_slot(struct mach *m, nvmm_cpuid_t id)
{
	return m->reg != NULL ? slots(m->reg) + id : NULL;
}

/*
 * Another process's machine, its entry read into e: root, or the same
 * user, may look at it. Returns the open file.
 */
static int
entry_open(nvmm_machid_t id, struct registry_entry *e)
{
	struct stat st;
	char path[4096];
	ssize_t n;
	int fd;

	entry_path(path, sizeof(path), id);
	if (entry_stale(path))
		return -ENOENT;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT;
	n = pread(fd, e, sizeof(*e), 0);
	if (fstat(fd, &st) != 0 || n != (ssize_t)sizeof(*e) ||
	    e->magic != REG_MAGIC || e->machid != id) {
		close(fd);
		return -ENOENT;
	}
	if (!nvmm_root && st.st_uid != geteuid()) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

int
registry_info(nvmm_machid_t id, struct nvmm_ctl_mach_info *info)
{
	struct registry_entry e;
	int fd;

	fd = entry_open(id, &e);
	if (fd < 0)
		return fd;
	close(fd);
	info->nvcpus = e.nvcpus;
	info->nram = e.nram;
	info->pid = e.pid;
	info->time = e.ctime;
	return 0;
}

/* Mapped, not read: only loads from the slots themselves avoid torn counters. */
int
registry_map_slots(nvmm_machid_t id, const struct stats_slot **out)
{
	struct registry_entry e;
	struct stat st;
	void *p;
	int fd;

	fd = entry_open(id, &e);
	if (fd < 0)
		return fd;
	/* A file shorter than the slots (another libnvmm's) would fault. */
	if (fstat(fd, &st) != 0 || st.st_size < (off_t)REG_SIZE) {
		close(fd);
		return -ENOENT;
	}
	p = mmap(NULL, REG_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -ENOENT;
	*out = slots(p);
	return 0;
}

void
registry_unmap_slots(const struct stats_slot *s)
{
	munmap((char *)s - NVMM_PAGE_SIZE, REG_SIZE);
}
