#!/bin/sh
# Fetches Debian's kernel and busybox-static with apt (downloaded, never
# installed) into a cache folder, and prepares what nvmm-run boots:
#   vmlinuz         the bzImage, for the 64-bit boot protocol
#   vmlinux         the ELF inside it, for the PVH entry (no decompressor:
#                   where KVM emulates guest code, decompressing takes hours)
#   initramfs.cpio  busybox and an /init that prints a banner and runs a shell
# Usage: linux.sh CACHE_DIR. Prints the cache folder when done.
set -eu
cache=${1:?usage: linux.sh CACHE_DIR}
mkdir -p "$cache"
cd "$cache"

for tool in cpio xz; do
	command -v $tool >/dev/null || apt-get install -y -qq cpio xz-utils >/dev/null
done

if [ ! -s vmlinux ] || [ ! -s vmlinuz ] || [ ! -s initramfs.cpio ]; then
	rm -rf deb root
	mkdir -p deb root
	# The kernel package linux-image-amd64 points to, and busybox-static.
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
	    awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	if [ -z "$pkg" ]; then
		apt-get update -qq
		pkg=$(apt-cache depends linux-image-amd64 |
		    awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	fi
	[ -n "$pkg" ] || { echo "linux.sh: no Debian kernel package found" >&2; exit 1; }
	(cd deb && apt-get download -qq -o APT::Sandbox::User=root "$pkg" busybox-static)
	for d in deb/*.deb; do dpkg-deb -x "$d" root; done
	cp root/boot/vmlinuz-* vmlinuz

	# The compressed vmlinux starts at setup_sects and payload_offset.
	setup=$(od -An -tu1 -j 497 -N 1 vmlinuz | tr -d ' ')
	payload=$(od -An -tu4 -j 584 -N 4 vmlinuz | tr -d ' ')
	tail -c +$(( (setup + 1) * 512 + payload + 1 )) vmlinuz |
	    xz -dc --single-stream >vmlinux.tmp 2>/dev/null || true
	[ "$(head -c 4 vmlinux.tmp | od -An -tx1 | tr -d ' ')" = 7f454c46 ] ||
	    { echo "linux.sh: no XZ-compressed ELF in the bzImage" >&2; exit 1; }
	mv vmlinux.tmp vmlinux

	mkdir -p initramfs/bin initramfs/proc initramfs/sys initramfs/dev
	cp root/bin/busybox initramfs/bin/busybox
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
	(cd initramfs && find . | cpio -o -H newc --quiet) >initramfs.cpio
	rm -rf deb root initramfs
fi
echo "$cache"
