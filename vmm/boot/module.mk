# vmm/boot: kernel loaders and boot tables, a static library for nvmm-run.
BOOT_SRCS := $(addprefix vmm/boot/,acpi.c bzimage.c elf.c load.c ram.c)
BOOT_LIB  := $(B)/vmm/libboot.a

$(BOOT_LIB): $(BOOT_SRCS:%.c=$(B)/%.o)
	@mkdir -p $(dir $@)
	@echo "  AR      $@"
	$(Q)rm -f $@ && $(AR) rcs $@ $^

TEST_BOOT_OBJS := $(addprefix $(B)/tests/,test_boot.o test_boot_bzimage.o \
    test_boot_elf.o)
TESTS += $(B)/tests/test_boot

$(B)/tests/test_boot: $(TEST_BOOT_OBJS) $(T_HARNESS) $(BOOT_LIB)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^
