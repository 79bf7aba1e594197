# make qemu-check: QEMU as libnvmm's client. tools/qemu-nvmm builds QEMU's
# qemu-system-x86_64 with -accel nvmm from Debian's source against $(B)'s
# libnvmm (cached in ~/.cache/libnvmm/qemu: the first build takes minutes,
# later ones only what the library changed); tests/test_qemu.sh boots Linux
# with it to a shell, where KVM is. Slow and needs root (apt-get): not part
# of check, but .ci/run runs it before the suite.
QEMU_LIMIT ?= 600

qemu-check: all linux-fetch
	$(Q)qemu=$$(tools/qemu-nvmm $(B)) && \
	QEMU_NVMM=$$qemu QEMU_LIMIT=$(QEMU_LIMIT) LINUX_CACHE=$(LINUX_CACHE) \
	GS_KEEP=$(B)/qemu-check \
	T_LIMIT=$$((6 * $(QEMU_LIMIT) + 60)) \
	WITH_KVM_TIMEOUT=$$((6 * $(QEMU_LIMIT) + 120)) \
	sh tests/run.sh $(B) --kvm tests/test_qemu.sh

.PHONY: qemu-check

# make qemu-bench: QEMU -accel nvmm against -accel kvm and nvmm-run, time
# to a shell and syscalls per exit (bench/qemu.sh); a markdown table.
$(B)/bench/nvmm-count.so: bench/nvmm_count.c include/nvmm.h include/nvmm_ext.h
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -Iinclude -fPIC -shared -o $@ $< -ldl

qemu-bench: all linux-fetch $(B)/bench/nvmm-count.so
	$(Q)qemu=$$(tools/qemu-nvmm $(B)) && \
	QEMU_NVMM=$$qemu LINUX_CACHE=$(LINUX_CACHE) B=$(B) \
	tools/with-kvm sh bench/qemu.sh

.PHONY: qemu-bench
