/*
 * nvmm-run: a reference VMM on libnvmm. Boots a Linux kernel (bzImage, or
 * ELF vmlinux through PVH) or, by default, the built-in guest, on a small PC
 * whose devices are emulated here, in userland, through the NVMM assists.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "console.h"
#include "guest/builtin.h"
#include "gdbstub.h"
#include "machine.h"
#include "snapshot.h"

#define DEFAULT_MEM	(256ULL << 20)
#define MAX_MEM		(128ULL << 30)
#define DEFAULT_CPUS	2
#define MAX_CPUS	64

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: nvmm-run [--kernel IMAGE] [--initrd FILE] [--append CMDLINE]\n"
	    "                [--mem SIZE] [--cpus N] [--snapshot FILE] [--stats]\n"
	    "                [--gdb PORT]\n"
	    "       nvmm-run --restore FILE [--snapshot FILE] [--stats]\n"
	    "\n"
	    "Runs a virtual machine on libnvmm with its serial console on this\n"
	    "terminal (Ctrl-A x quits). Without --kernel, runs the built-in guest.\n"
	    "\n"
	    "  --kernel IMAGE    a Linux bzImage, or an ELF vmlinux with a PVH entry\n"
	    "  --initrd FILE     an initial ramdisk for the kernel\n"
	    "  --append CMDLINE  the kernel command line (default \"console=ttyS0\")\n"
	    "  --mem SIZE        guest RAM, e.g. 512M or 2G (default 256M)\n"
	    "  --cpus N          virtual CPUs, 1 to %d (default %d)\n"
	    "  --snapshot FILE   Ctrl-A s or SIGUSR1 saves the machine to FILE\n"
	    "  --restore FILE    runs the machine FILE saved, from where it was\n"
	    "  --stats           print each CPU's exits and times at the end\n"
	    "  --gdb PORT        wait for gdb on 127.0.0.1:PORT, the guest stopped at\n"
	    "                    its first instruction (target remote :PORT)\n"
	    "  --help            this text\n", MAX_CPUS, DEFAULT_CPUS);
}

static void __attribute__((format(printf, 1, 2), noreturn))
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "nvmm-run: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* A size with an optional K, M or G suffix (binary), in whole pages. */
static uint64_t
parse_size(const char *s)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (end == s || errno != 0 || s[0] == '-')
		die("bad memory size '%s': give a number with K, M or G", s);
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	case '\0': break;
	default: die("bad memory size '%s': give a number with K, M or G", s);
	}
	if (*end != '\0' || v > (MAX_MEM >> shift) || (v << shift) < BOOT_RAM_MIN ||
	    ((v << shift) & 0xFFF))
		die("bad memory size '%s': from 2M to 128G, in 4K pages", s);
	return v << shift;
}

/* A whole number from 1 to max; what it is names it in the message. */
static unsigned
parse_count(const char *s, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end != '\0' || errno != 0 || v < 1 || v > max)
		die("bad %s '%s': from 1 to %ld", what, s, max);
	return (unsigned)v;
}

/* The whole file, or exit with a message naming it. */
static void *
read_file(const char *what, const char *path, size_t *len)
{
	struct stat st;
	void *buf;
	FILE *f;

	f = fopen(path, "rb");
	if (f == NULL)
		die("cannot open %s '%s': %s", what, path, strerror(errno));
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode))
		die("%s '%s' is not a regular file", what, path);
	buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
	if (buf == NULL)
		die("%s '%s': out of memory", what, path);
	if (fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
		die("cannot read %s '%s': %s", what, path, strerror(errno));
	fclose(f);
	*len = (size_t)st.st_size;
	return buf;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A machine booting KERNEL, or the built-in guest when NULL. */
static struct machine *
boot_machine(const char *kernel, const char *initrd, const char *cmdline,
    uint64_t mem, unsigned ncpus)
{
	const void *image;
	void *initrd_buf = NULL;
	size_t image_len, initrd_len = 0;
	struct boot_cpu bc;
	struct machine *m;
	char err[512];

	if (kernel != NULL) {
		image = read_file("kernel", kernel, &image_len);
		if (cmdline == NULL)
			cmdline = "console=ttyS0";
	} else {
		image = builtin_guest_start;
		image_len = (size_t)(builtin_guest_end - builtin_guest_start);
	}
	if (initrd != NULL)
		initrd_buf = read_file("initrd", initrd, &initrd_len);

	m = machine_create(mem, ncpus, err, sizeof(err));
	if (m == NULL)
		die("%s", err);
	if (boot_load_linux(machine_ram(m), image, image_len, cmdline,
	    initrd_buf, initrd_len, (int)ncpus, &bc, err, sizeof(err)) != 0)
		die("%s: %s", kernel != NULL ? kernel : "built-in guest", err);
	free(initrd_buf);
	if (kernel != NULL)
		free((void *)image);
	if (machine_boot(m, &bc) != 0)
		die("cannot set the boot CPU: %s", strerror(errno));
	return m;
}

/* The machine of a snapshot file, from its last snapshot. */
static struct machine *
restore_machine(const char *path)
{
	struct snap_file f;
	struct machine *m;
	char err[512];

	if (snap_open(&f, path, err, sizeof(err)) != 0)
		die("%s: %s", path, err);
	if (f.cfg.ncpus > MAX_CPUS || f.cfg.mem > MAX_MEM ||
	    f.cfg.mem < BOOT_RAM_MIN)
		die("%s: a machine of %u CPUs and %llu MiB, beyond nvmm-run's",
		    path, f.cfg.ncpus, (unsigned long long)(f.cfg.mem >> 20));
	if (f.torn[0] != '\0')
		fprintf(stderr, "nvmm-run: %s: %s, after snapshot %u: restoring "
		    "that one\n", path, f.torn, f.snapshots);
	m = machine_create(f.cfg.mem, f.cfg.ncpus, err, sizeof(err));
	if (m == NULL)
		die("%s", err);
	if (machine_restore(m, &f, err, sizeof(err)) != 0)
		die("%s: %s", path, err);
	snap_close(&f);
	return m;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "append", required_argument, NULL, 'a' },
		{ "mem", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "stats", no_argument, NULL, 's' },
		{ "snapshot", required_argument, NULL, 'S' },
		{ "restore", required_argument, NULL, 'R' },
		{ "gdb", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *kernel = NULL, *initrd = NULL, *cmdline = NULL;
	const char *snapshot = NULL, *restore = NULL;
	bool sized = false;
	uint64_t mem = DEFAULT_MEM;
	unsigned ncpus = DEFAULT_CPUS;
	bool stats = false;
	unsigned gdb_port = 0;
	int gdb_fd = -1;
	struct machine *m;
	char err[512];
	double t0;
	int c, status;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k': kernel = optarg; break;
		case 'i': initrd = optarg; break;
		case 'a': cmdline = optarg; break;
		case 'm': mem = parse_size(optarg); sized = true; break;
		case 'c': ncpus = parse_count(optarg, MAX_CPUS, "CPU count"); sized = true; break;
		case 's': stats = true; break;
		case 'S': snapshot = optarg; break;
		case 'R': restore = optarg; break;
		case 'g': gdb_port = parse_count(optarg, 65535, "port"); break;
		case 'h': usage(stdout); return 0;
		default:
			fprintf(stderr, "nvmm-run: see nvmm-run --help\n");
			return 1;
		}
	}
	if (optind != argc)
		die("unexpected argument '%s'", argv[optind]);
	if (kernel == NULL && (initrd != NULL || cmdline != NULL))
		die("--initrd and --append need --kernel");
	if (restore != NULL && (kernel != NULL || sized))
		die("--restore takes the machine from the file: no --kernel, "
		    "--mem or --cpus");
	/* A port taken fails now, before the machine is made. */
	if (gdb_port != 0 &&
	    (gdb_fd = gdbstub_listen(gdb_port, err, sizeof(err))) < 0)
		die("%s", err);

	t0 = now_s();
	if (restore != NULL)
		m = restore_machine(restore);
	else
		m = boot_machine(kernel, initrd, cmdline, mem, ncpus);
	if (gdb_fd >= 0) {
		fprintf(stderr, "nvmm-run: waiting for gdb on 127.0.0.1:%u\n",
		    gdb_port);
		status = gdbstub_start(m, gdb_fd);
		if (status < 0)
			die("cannot serve gdb: %s", strerror(-status));
	}
	if (console_start(m, snapshot) != 0)
		die("cannot start the console");
	/* Said once SIGUSR1 is ours: scripts wait for it before sending one. */
	if (restore != NULL)
		fprintf(stderr, "nvmm-run: restored %s in %.0f ms\n", restore,
		    (now_s() - t0) * 1e3);

	t0 = now_s();
	status = machine_run(m, err, sizeof(err));
	gdbstub_stop(status);
	console_stop();
	fprintf(stderr, "\nnvmm-run: %s\n", err);
	if (stats)
		machine_print_stats(m, now_s() - t0);
	machine_destroy(m);
	return status;
}
