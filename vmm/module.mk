# nvmm-run: the reference VMM. Its parts add their own rules.
-include vmm/hw/module.mk
-include vmm/boot/module.mk
-include vmm/guest/module.mk

# nvmm-run itself: only machine.c and gdbstub.c include nvmm.h.
VMM_SRCS := $(addprefix vmm/,main.c machine.c platform.c console.c snapshot.c gdb.c gdbstub.c)
NVMM_RUN := $(B)/nvmm-run

$(B)/vmm/machine.o $(B)/vmm/gdbstub.o: CPPFLAGS_vmm += -Iinclude

$(NVMM_RUN): $(VMM_SRCS:%.c=$(B)/%.o) $(GUEST_BLOB) $(BOOT_LIB) $(HW_LIB) \
		$(LIBNVMM_A)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ -lpthread

PROGRAMS += $(NVMM_RUN)

# The snapshot file format, with no VM.
$(B)/tests/test_snapshot_file.o: CPPFLAGS_tests += -Ivmm
$(B)/tests/test_snapshot_file: $(B)/tests/test_snapshot_file.o \
		$(B)/vmm/snapshot.o $(T_HARNESS)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^

TESTS += $(B)/tests/test_snapshot_file

# Linux from Debian's packages, cached outside the build tree.
LIBNVMM_CACHE ?= $(HOME)/.cache/libnvmm
LINUX_CACHE ?= $(LIBNVMM_CACHE)/linux
export LINUX_CACHE
# Where KVM emulates guest code (PVM), boot the ELF through PVH: the
# bzImage's decompressor alone would take hours there.
LINUX_KERNEL ?= $(if $(wildcard /sys/module/kvm_pvm),vmlinux,vmlinuz)
LINUX_APPEND ?= console=ttyS0 earlyprintk=serial rdinit=/init

# nvmm-run where KVM is: through tools/with-kvm, in an emulated AMD-V host
# where /dev/kvm is missing. RUN_ARGS: more nvmm-run options.
run: $(NVMM_RUN)
	$(Q)tools/with-kvm $(NVMM_RUN) $(RUN_ARGS)

linux-fetch:
	$(Q)sh vmm/linux.sh $(LINUX_CACHE) >/dev/null

# vmm/run-linux.sh adds to LINUX_APPEND what the host needs.
run-linux: $(NVMM_RUN) linux-fetch
	$(Q)tools/with-kvm sh vmm/run-linux.sh $(NVMM_RUN) "$(LINUX_APPEND)" \
		--kernel $(LINUX_CACHE)/$(LINUX_KERNEL) \
		--initrd $(LINUX_CACHE)/initramfs.cpio --mem 1G --cpus 2

.PHONY: run linux-fetch run-linux
