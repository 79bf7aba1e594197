# vmm/guest: the built-in guest, a freestanding ELF kernel, and the object
# that embeds it in nvmm-run. Built the same way with or without SAN=1.
GUEST_SRCS  := $(addprefix vmm/guest/,start.S main.c acpi.c console.c \
    intr.c smp.c)
GUEST_OBJS  := $(patsubst %,$(B)/%.guest.o,$(basename $(GUEST_SRCS)))
GUEST_ELF   := $(B)/vmm/guest/guest.elf
GUEST_BLOB  := $(B)/vmm/guest/guest-blob.o

GUEST_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -Wshadow \
    -Wstrict-prototypes -Wmissing-prototypes -O2 -ffreestanding -nostdlib \
    -fno-pic -fno-pie -static -mno-red-zone -mgeneral-regs-only \
    -fno-stack-protector -fno-asynchronous-unwind-tables \
    -fno-tree-loop-distribute-patterns
GUEST_LDFLAGS := -no-pie -Wl,--build-id=none -Wl,-z,max-page-size=4096 \
    -Wl,-z,noexecstack

$(B)/vmm/guest/%.guest.o: vmm/guest/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $< (guest)"
	$(Q)$(CC) $(GUEST_CFLAGS) -MMD -MP -c -o $@ $<

$(B)/vmm/guest/%.guest.o: vmm/guest/%.S
	@mkdir -p $(dir $@)
	@echo "  AS      $< (guest)"
	$(Q)$(CC) $(GUEST_CFLAGS) -MMD -MP -c -o $@ $<

$(B)/vmm/guest/guest.lds: vmm/guest/guest.lds.S vmm/pc.h
	@mkdir -p $(dir $@)
	@echo "  CPP     $<"
	$(Q)$(CC) -E -P -undef -x assembler-with-cpp -o $@ $<

$(GUEST_ELF): $(GUEST_OBJS) $(B)/vmm/guest/guest.lds
	@echo "  LD      $@"
	$(Q)$(CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) \
	    -Wl,-T,$(B)/vmm/guest/guest.lds -o $@ $(GUEST_OBJS)

$(GUEST_BLOB): vmm/guest/guest-blob.S $(GUEST_ELF)
	@echo "  AS      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -DGUEST_ELF='"$(GUEST_ELF)"' -c -o $@ $<

TESTS += $(B)/tests/test_boot_guest

$(B)/tests/test_boot_guest: $(B)/tests/test_boot_guest.o $(T_HARNESS) \
    $(BOOT_LIB) $(GUEST_BLOB)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^
