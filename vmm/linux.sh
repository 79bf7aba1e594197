#!/bin/sh
# Prepares what `make run-linux` and tests/test_linux.sh boot on nvmm-run,
# in CACHE_DIR:
#   vmlinuz, vmlinux  Debian's kernel (tools/debian-kernel; links into its cache)
#   initramfs.cpio    busybox, and an /init that prints a banner and hands
#                     over to busybox's init, which keeps a shell on the
#                     console and obeys poweroff and reboot
# Usage: linux.sh CACHE_DIR. Prints the cache folder when done.
set -eu
cache=${1:?usage: linux.sh CACHE_DIR}
kdir=$(sh "$(dirname "$0")/../tools/debian-kernel")
# The initramfs is built again when busybox or this script changes.
stamp=$({ cat "$0"; echo "$kdir"; } | sha256sum | cut -c1-16)
mkdir -p "$cache"
cd "$cache"
command -v cpio >/dev/null || apt-get install -y -qq cpio >/dev/null 2>&1 ||
    { echo "linux.sh: cannot install cpio" >&2; exit 1; }

for k in vmlinuz vmlinux; do
	[ "$(readlink $k)" = "$kdir/$k" ] || ln -sf "$kdir/$k" $k
done
if [ ! -s initramfs.cpio ] || [ "$(cat initramfs.stamp 2>/dev/null)" != "$stamp" ]; then
	rm -rf initramfs
	mkdir -p initramfs/bin initramfs/etc initramfs/proc initramfs/sys initramfs/dev
	cp "$kdir/bin/busybox" initramfs/bin/busybox
	cat >initramfs/init <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "nvmm-run: Linux $(uname -r) is up, $(grep -c ^processor /proc/cpuinfo) CPUs"
exec /bin/busybox init
INIT
	# busybox's poweroff and reboot signal PID 1, which a shell there
	# would ignore; cttyhack makes the console the shell's terminal, for
	# job control.
	cat >initramfs/etc/inittab <<'INITTAB'
::respawn:/bin/cttyhack /bin/sh
::ctrlaltdel:/bin/reboot
INITTAB
	chmod +x initramfs/init
	(cd initramfs && find . | cpio -o -H newc --quiet) >initramfs.cpio.tmp
	mv initramfs.cpio.tmp initramfs.cpio
	echo "$stamp" >initramfs.stamp
	rm -rf initramfs
fi
echo "$cache"
