# nvmm-run: the reference VMM. Its parts add their own rules.
-include vmm/hw/module.mk
-include vmm/boot/module.mk
-include vmm/guest/module.mk

# nvmm-run itself: only machine.c includes nvmm.h.
VMM_SRCS := $(addprefix vmm/,main.c machine.c platform.c console.c)
NVMM_RUN := $(B)/nvmm-run

$(B)/vmm/machine.o: CPPFLAGS_vmm += -Iinclude

$(NVMM_RUN): $(VMM_SRCS:%.c=$(B)/%.o) $(GUEST_BLOB) $(BOOT_LIB) $(HW_LIB) \
		$(LIBNVMM_A)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ -lpthread

PROGRAMS += $(NVMM_RUN)
