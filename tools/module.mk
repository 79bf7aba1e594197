# nvmmctl(8), the example VMM of examples/, and their tests.
CPPFLAGS_tools := -Iinclude -DLIBNVMM_VERSION='"$(VERSION)"'
CPPFLAGS_examples := -Iinclude

NVMMCTL := $(B)/nvmmctl
HELLO   := $(B)/examples/hello

PROGRAMS += $(NVMMCTL) $(HELLO)

# Linked statically with libnvmm, like the tests, to run from the build tree.
$(NVMMCTL): $(B)/tools/nvmmctl.o $(LIBNVMM_A)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ -lpthread

$(HELLO): $(B)/examples/hello.o $(LIBNVMM_A)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ -lpthread

$(B)/tests/vmhold: $(B)/tests/vmhold.o $(LIBNVMM_A)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ -lpthread

KVM_TESTS += tests/test_nvmmctl.sh tests/test_examples.sh
check-fast: $(B)/tests/vmhold

# tools/with-kvm itself, in the plain pass: it has no C code to sanitize.
ifneq ($(SAN),1)
TESTS += tests/test_with_kvm.sh
endif

# The installed library is the plain build: an ASan-built one would not
# load into the uninstrumented program the test builds against it.
ifneq ($(SAN),1)
KVM_TESTS += tests/test_install.sh
endif
