# Device models of nvmm-run, built into $(HW_LIB), with their unit tests.
CPPFLAGS_vmm += -Ivmm

HW_SRCS := $(wildcard vmm/hw/*.c)
HW_OBJS := $(HW_SRCS:%.c=$(B)/%.o)
HW_LIB  := $(B)/vmm/libhw.a
HW_TESTS := $(patsubst tests/%.c,$(B)/tests/%,$(wildcard tests/test_hw_*.c))

TESTS += $(HW_TESTS)

$(HW_LIB): $(HW_OBJS)
	@mkdir -p $(dir $@)
	@echo "  AR      $@"
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(B)/tests/test_hw_%.o: CPPFLAGS_tests += -Ivmm

$(HW_TESTS): $(B)/tests/%: $(B)/tests/%.o $(T_HARNESS) $(HW_LIB)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^
