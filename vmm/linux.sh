#!/bin/sh
# Prepares what `make run-linux` and tests/test_linux.sh boot on nvmm-run,
# in CACHE_DIR:
#   vmlinuz, vmlinux  Debian's kernel (tools/debian-kernel; links into its cache)
#   initramfs.cpio    busybox and an /init that prints a banner and runs a shell
# Usage: linux.sh CACHE_DIR. Prints the cache folder when done.
set -eu
cache=${1:?usage: linux.sh CACHE_DIR}
kdir=$(sh "$(dirname "$0")/../tools/debian-kernel")
mkdir -p "$cache"
cd "$cache"
command -v cpio >/dev/null || apt-get install -y -qq cpio >/dev/null 2>&1 ||
    { echo "linux.sh: cannot install cpio" >&2; exit 1; }

for k in vmlinuz vmlinux; do
	[ "$(readlink $k)" = "$kdir/$k" ] || ln -sf "$kdir/$k" $k
done
if [ ! -s initramfs.cpio ] || [ initramfs.cpio -ot "$kdir/.complete" ]; then
	rm -rf initramfs
	mkdir -p initramfs/bin initramfs/proc initramfs/sys initramfs/dev
	cp "$kdir/bin/busybox" initramfs/bin/busybox
	cat >initramfs/init <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "nvmm-run: Linux $(uname -r) is up, $(grep -c ^processor /proc/cpuinfo) CPUs"
exec setsid cttyhack sh
INIT
	chmod +x initramfs/init
	(cd initramfs && find . | cpio -o -H newc --quiet) >initramfs.cpio.tmp
	mv initramfs.cpio.tmp initramfs.cpio
	rm -rf initramfs
fi
echo "$cache"
