# The test harness, the guest helper, and the core tests on real KVM.
T_HARNESS := $(B)/tests/t.o
CPPFLAGS_tests := -Iinclude -Itests

T_VM := $(B)/tests/vm.o $(B)/tests/payloads.o

$(B)/tests/test_core: $(B)/tests/test_core.o $(T_VM) $(T_HARNESS) $(LIBNVMM_A)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ -lpthread

TESTS += $(B)/tests/test_core
