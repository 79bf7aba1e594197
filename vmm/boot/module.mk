# vmm/boot: kernel loaders and boot tables, a static library for nvmm-run.
BOOT_SRCS := $(addprefix vmm/boot/,acpi.c bzimage.c elf.c load.c ram.c)
BOOT_OBJS := $(BOOT_SRCS:%.c=$(B)/%.o)
BOOT_LIB  := $(B)/vmm/libboot.a

$(BOOT_LIB): $(BOOT_OBJS)
	@mkdir -p $(dir $@)
	@echo "  AR      $@"
	$(Q)rm -f $@ && $(AR) rcs $@ $^

TESTS += $(B)/tests/test_boot $(B)/tests/test_boot_elf

$(B)/tests/test_boot $(B)/tests/test_boot_elf: $(B)/tests/%: \
    $(B)/tests/%.o $(T_HARNESS) $(BOOT_LIB)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^
