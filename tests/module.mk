# The guest helper, and the core tests on real KVM.
CPPFLAGS_tests := -Iinclude -Itests

T_VM := $(B)/tests/vm.o $(B)/tests/payloads.o

$(B)/tests/test_core: $(B)/tests/test_core.o $(T_VM) $(T_HARNESS) $(LIBNVMM_A)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ -lpthread

KVM_TESTS += $(B)/tests/test_core

$(B)/tests/test_api: $(B)/tests/test_api.o $(T_VM) $(T_HARNESS) $(LIBNVMM_A)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ -lpthread

KVM_TESTS += $(B)/tests/test_api

# nvmm_ext.h's full CPU state and debugging; ioctls counted through --wrap.
$(B)/tests/test_xstate: $(B)/tests/test_xstate.o $(B)/tests/xstate_guest.o \
		$(T_VM) $(T_HARNESS) $(LIBNVMM_A)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -Wl,--wrap=ioctl -o $@ $^ -lpthread

KVM_TESTS += $(B)/tests/test_xstate

# The extensions' dirty pages and statistics.
$(B)/tests/test_dirty: $(B)/tests/test_dirty.o $(B)/tests/dirty_payloads.o \
		$(T_VM) $(T_HARNESS) $(LIBNVMM_A)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ -lpthread

KVM_TESTS += $(B)/tests/test_dirty

# The workload tests/syscalls.sh counts with strace.
$(B)/tests/syscount: $(B)/tests/syscount.o $(T_VM) $(T_CHECK) $(LIBNVMM_A)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ -lpthread

# Counting needs the plain build: the sanitizers make syscalls of their own.
ifneq ($(SAN),1)
KVM_TESTS += tests/syscalls.sh
check-fast: $(B)/tests/syscount
endif

$(B)/tests/test_assist: $(B)/tests/test_assist.o $(B)/tests/assist_cases.o \
		$(B)/tests/oracle.o $(T_VM) $(T_HARNESS) $(LIBNVMM_A)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ -lpthread

KVM_TESTS += $(B)/tests/test_assist

# Both again, with the comm page off.
KVM_TESTS += tests/comm_page_off.sh

# nvmm-run end to end, with a guest that runs an instruction KVM can't emulate.
$(B)/tests/guest_badinsn.elf: tests/guest_badinsn.S
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) -nostdlib -static -no-pie -Wl,-Ttext-segment=0x100000 \
		-Wl,--build-id=none -Wl,-z,noexecstack -o $@ $<

KVM_TESTS += tests/test_nvmm_run.sh
check-fast: $(B)/tests/guest_badinsn.elf

# nvmm-run's snapshots and restores: the built-in guest, then Linux.
KVM_TESTS += tests/test_snapshot.sh

# Debian's kernel on nvmm-run (fetched with apt-get download and cached
# here: the emulated KVM host sees the cache read-only).
KVM_TESTS += tests/test_linux.sh
check-fast: linux-fetch

# The header alone, as NetBSD programs see it; also in strict C99 and C++.
$(B)/tests/test_header: $(B)/tests/test_header.o $(T_HARNESS)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^
	$(Q)$(CC) -std=c99 -pedantic -Wall -Wextra -Werror -Wno-pedantic -Iinclude \
		-fsyntax-only -include nvmm.h -x c /dev/null
	$(Q)$(CC) -std=c11 -pedantic -Wall -Wextra -Werror -Wno-pedantic -Iinclude \
		-fsyntax-only -include nvmm_ext.h -x c /dev/null
	$(Q)if command -v g++ >/dev/null; then for h in nvmm.h nvmm_ext.h; do \
		g++ -std=c++11 -Wall -Wextra -Werror -Iinclude -fsyntax-only \
		-include $$h -x c++ /dev/null || exit 1; done; fi

TESTS += $(B)/tests/test_header

# nvmm-run --gdb: the remote protocol alone, with no VM.
$(B)/tests/test_gdb.o: CPPFLAGS_tests += -Ivmm
$(B)/tests/test_gdb: $(B)/tests/test_gdb.o $(B)/vmm/gdb.o $(T_HARNESS)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^

TESTS += $(B)/tests/test_gdb

# nvmm-run --gdb with gdb, installed here: the emulated KVM host sees /
# read-only.
gdb-fetch:
	$(Q)command -v gdb >/dev/null || apt-get install -y -qq gdb >/dev/null || \
		{ apt-get update -qq && apt-get install -y -qq gdb >/dev/null; }

KVM_TESTS += tests/test_gdb.sh
check-fast: gdb-fetch

.PHONY: gdb-fetch
