#!/bin/sh
# make install into a staging DESTDIR: the files and links, the soname and
# the exported symbols, a program built out of the tree with pkg-config
# (examples/hello.c, linked with the shared and the static library), and
# make uninstall, which leaves none of those files behind.
b=${B:-build}
. tests/t.sh

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
stage=$tmp/stage
prefix=/usr/local
lib=$stage$prefix/lib
export LIBNVMM_RUNDIR=$tmp/run

make_in_tree() {
	make --no-print-directory B="$b" PREFIX=$prefix DESTDIR="$stage" "$@" \
	    >"$tmp/make.log" 2>&1 || { cat "$tmp/make.log"; false; }
}
t_check install make_in_tree install

installed_files() {
	for f in include/nvmm.h include/nvmm_ext.h include/dev/nvmm/nvmm.h \
	    include/dev/nvmm/nvmm_ioctl.h include/dev/nvmm/x86/nvmm_x86.h \
	    lib/libnvmm.a lib/pkgconfig/nvmm.pc sbin/nvmmctl \
	    $(cd man 2>/dev/null && for m in libnvmm.3 nvmm_ext.3 nvmmctl.8 nvmm-run.1; do
	        [ -f "$m" ] && echo "share/man/man${m##*.}/$m"; done); do
		[ -f "$stage$prefix/$f" ] || { echo "  missing $f"; return 1; }
	done
	cmp -s include/nvmm.h "$stage$prefix/include/nvmm.h"
}
t_check installed_files installed_files

# libnvmm.so -> libnvmm.so.0 -> libnvmm.so.X.Y.Z, whose soname is libnvmm.so.0.
library_links() {
	real=$(readlink "$lib/libnvmm.so.0") &&
	    [ "$(readlink "$lib/libnvmm.so")" = libnvmm.so.0 ] &&
	    [ -f "$lib/$real" ] && [ ! -L "$lib/$real" ] &&
	    case $real in libnvmm.so.0.*.*) ;; *) false ;; esac &&
	    readelf -d "$lib/$real" | grep -q 'SONAME.*\[libnvmm\.so\.0\]'
}
t_check library_links library_links

# The dynamic symbols defined: NetBSD's 24 functions, the 13 of nvmm_ext.h
# and their version nodes.
exported_symbols() {
	nm -D --defined-only "$lib/libnvmm.so.0" | awk '{ print $3 }' |
	    sed 's/@.*//' | sort >"$tmp/syms"
	printf '%s\n' NVMM_0 nvmm_assist_io nvmm_assist_mem nvmm_capability \
	    nvmm_ctl nvmm_gpa_map nvmm_gpa_to_hva nvmm_gpa_unmap \
	    nvmm_gva_to_gpa nvmm_hva_map nvmm_hva_unmap nvmm_init \
	    nvmm_machine_configure nvmm_machine_create nvmm_machine_destroy \
	    nvmm_root_init nvmm_vcpu_configure nvmm_vcpu_create \
	    nvmm_vcpu_destroy nvmm_vcpu_dump nvmm_vcpu_getstate \
	    nvmm_vcpu_inject nvmm_vcpu_run nvmm_vcpu_setstate nvmm_vcpu_stop \
	    NVMMX_1 nvmmx_ctl_stats nvmmx_dirty_fetch nvmmx_dirty_start \
	    nvmmx_dirty_stop nvmmx_stat_index nvmmx_stat_name nvmmx_vcpu_debug \
	    nvmmx_vcpu_getextra nvmmx_vcpu_getxsave nvmmx_vcpu_setextra \
	    nvmmx_vcpu_setxsave nvmmx_vcpu_stats nvmmx_xsave_size |
	    sort >"$tmp/want"
	diff "$tmp/want" "$tmp/syms"
}
t_check exported_symbols exported_symbols

# pkg-config, told where the staging tree is.
PKG_CONFIG_PATH=$lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$stage
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
pkg_config() {
	[ "$(pkg-config --modversion nvmm)" = "$(sed -n 's/^VERSION *:= *//p' Makefile)" ] &&
	    [ "$(echo $(pkg-config --cflags --libs nvmm))" = "-I$stage$prefix/include -L$lib -lnvmm" ] &&
	    [ "$(echo $(pkg-config --static --libs nvmm))" = "-L$lib -lnvmm -lpthread" ]
}
if command -v pkg-config >/dev/null; then
	t_check pkg_config pkg_config
else
	t_skip pkg_config "no pkg-config"
fi

# The example's own Makefile, and a static link by hand.
cp examples/hello.c examples/Makefile "$tmp"
build_out_of_tree() {
	make --no-print-directory -C "$tmp" >"$tmp/make.log" 2>&1 &&
	    cc -o "$tmp/hello-static" "$tmp/hello.c" \
	    $(pkg-config --cflags nvmm) $(pkg-config --libs-only-L nvmm) \
	    -Wl,-Bstatic -lnvmm -Wl,-Bdynamic -lpthread >>"$tmp/make.log" 2>&1 ||
	    { cat "$tmp/make.log"; false; }
}
t_check build_out_of_tree build_out_of_tree

# hello NAME PROGRAM: the guest's greeting, exactly.
hello() {
	printf 'Hello from the guest\n' >"$tmp/want"
	LD_LIBRARY_PATH=$lib "$2" >"$tmp/out" 2>&1 && cmp -s "$tmp/want" "$tmp/out" ||
	    { echo "  $(cat "$tmp/out")"; false; }
}
t_check run_shared hello shared "$tmp/hello"
t_check run_shared_uses_staged_library eval \
    "LD_LIBRARY_PATH=$lib ldd $tmp/hello | grep -qF '$lib/libnvmm.so.0'"
t_check run_static hello static "$tmp/hello-static"
t_check run_installed_nvmmctl eval \
    "'$stage$prefix/sbin/nvmmctl' identify | grep -q '^Guest run: *ok$'"

t_check uninstall make_in_tree uninstall
left_behind() {
	find "$stage" ! -type d >"$tmp/left"
	[ ! -s "$tmp/left" ] || { sed 's/^/  left: /' "$tmp/left"; false; }
}
t_check uninstall_leaves_no_files left_behind
t_check uninstall_removes_header_folders test ! -e "$stage$prefix/include/dev"

t_done
