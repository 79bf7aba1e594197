#!/bin/sh
# The Debian packages: dpkg-buildpackage -b in a copy of the tree, lintian
# with no errors, dpkg -i of libnvmm0, libnvmm-dev and nvmm-tools, a smoke
# test of what they installed, and dpkg --purge. It installs the packages
# on this host for a while, so it is run by make deb-check, not make check.
# Needs root, dpkg-dev, debhelper and lintian.
. tests/t.sh

pkgs="libnvmm0 libnvmm-dev nvmm-tools"
version=$(sed -n 's/^VERSION *:= *//p' Makefile)
tmp=$(mktemp -d)
src=$tmp/libnvmm-$version
installed=
cleanup() {
	[ -z "$installed" ] || dpkg --purge $pkgs >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
export LIBNVMM_RUNDIR=$tmp/run

for tool in dpkg-buildpackage dh lintian; do
	if ! command -v $tool >/dev/null; then
		t_fail debian "$tool is not installed"
		t_done
		exit
	fi
done

# The tree as git would have it: no build output, no VCS files.
mkdir "$src"
tar --exclude=./build --exclude-vcs --exclude-vcs-ignores -cf - . |
    tar -C "$src" -xf -

build() {
	(cd "$src" && dpkg-buildpackage -b -us -uc) >"$tmp/build.log" 2>&1 ||
	    { tail -n 30 "$tmp/build.log"; return 1; }
	for p in $pkgs; do
		[ -f "$tmp/${p}_${version}_amd64.deb" ] ||
		    { echo "  no $p package"; return 1; }
	done
}
t_check changelog_version_is_makefile_version \
    test "$(dpkg-parsechangelog -l debian/changelog -S Version)" = "$version"
t_check dpkg_buildpackage build

# Warnings and below are printed, errors fail.
lintian_clean() {
	lintian --fail-on error "$tmp"/libnvmm_"$version"_amd64.changes \
	    >"$tmp/lintian.log" 2>&1
	rc=$?
	grep -v 'root privileges' "$tmp/lintian.log" | sed 's/^/  /'
	[ "$rc" -eq 0 ]
}
t_check lintian_no_errors lintian_clean

if [ "$(id -u)" -ne 0 ]; then
	t_skip dpkg_install "needs root"
	t_done
	exit
fi
if dpkg-query -W $pkgs >/dev/null 2>&1; then
	t_skip dpkg_install "libnvmm packages are installed already"
	t_done
	exit
fi

install_debs() {
	installed=yes
	dpkg -i $(for p in $pkgs; do echo "$tmp/${p}_${version}_amd64.deb"; done) \
	    >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; false; }
}
t_check dpkg_install install_debs

t_check pkg_config_finds_nvmm test "$(pkg-config --modversion nvmm)" = "$version"

# The example shipped with libnvmm-dev, built against the system library.
hello() {
	cp /usr/share/doc/libnvmm-dev/examples/* "$tmp" &&
	    make -C "$tmp" hello >"$tmp/make.log" 2>&1 ||
	    { cat "$tmp/make.log"; return 1; }
	ldd "$tmp/hello" | grep -q 'libnvmm\.so\.0 => /.*/libnvmm\.so\.0' ||
	    { ldd "$tmp/hello"; return 1; }
	# Through with-kvm, which sees $tmp only when told.
	[ "$(WITH_KVM_RW=$tmp tools/with-kvm "$tmp/hello")" = "Hello from the guest" ]
}
t_check installed_example_builds_and_runs hello

nvmmctl() {
	tools/with-kvm /usr/sbin/nvmmctl identify | grep -q '^Guest run: *ok$'
}
t_check installed_nvmmctl_runs nvmmctl
t_check nvmmctl_manual test -f /usr/share/man/man8/nvmmctl.8.gz

purge() {
	dpkg --purge $pkgs >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; return 1; }
	installed=
	[ ! -e /usr/include/nvmm.h ] && [ ! -e /usr/sbin/nvmmctl ]
}
t_check dpkg_purge purge

t_done
