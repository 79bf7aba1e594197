# make bench: libnvmm against raw KVM and QEMU, one table (bench/main.c).
CPPFLAGS_bench := -Iinclude

BENCH_OBJS := $(addprefix $(B)/bench/,main.o measure.o guest.o image.o \
	kvm.o nvmm.o qemu.o stats.o)

# The statistics' cost is timed on the library's own functions.
$(B)/bench/stats.o: CPPFLAGS_bench := -Iinclude -Ilib

$(B)/bench/nvmm-bench: $(BENCH_OBJS) $(LIBNVMM_A)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ -lpthread -lm

# QEMU is the peer: Debian's package, installed when missing (as root);
# without it, its row says why. Where /dev/kvm is missing, the whole run is
# in the emulated AMD-V host (tools/with-kvm): its figures are ratios only.
bench: $(B)/bench/nvmm-bench
	$(Q)command -v qemu-system-x86_64 >/dev/null 2>&1 || \
	{ apt-get install -y -q --no-install-recommends qemu-system-x86 || \
	  { apt-get update -q && \
	    apt-get install -y -q --no-install-recommends qemu-system-x86; }; \
	} >/dev/null 2>&1 || echo "bench: could not install qemu-system-x86"
	$(Q)tools/with-kvm $(B)/bench/nvmm-bench
