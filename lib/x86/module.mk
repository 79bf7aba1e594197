# lib/x86: the pure x86 layer (page walker, guest memory, decoder, the
# emulation behind the assists), built as an archive that libnvmm links.
X86_SRCS   := $(wildcard lib/x86/*.c)
X86_OBJS   := $(X86_SRCS:%.c=$(B)/%.o)
X86_LIB    := $(B)/lib/x86/libx86.a
X86_CFLAGS := -Iinclude -Ilib -fPIC -fvisibility=hidden

$(B)/lib/x86/%.o: lib/x86/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) $(X86_CFLAGS) -c -o $@ $<

$(X86_LIB): $(X86_OBJS)
	@echo "  AR      $@"
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# Unit tests: synthetic page tables and byte strings, no KVM. The harness
# object is named directly because tests/module.mk, which defines
# T_HARNESS, is read after this file.
X86_TESTS  := $(patsubst tests/%.c,$(B)/tests/%, \
		$(filter-out tests/test_x86_guest.c,$(wildcard tests/test_x86_*.c)))
X86_TCFLAGS := -Iinclude -Ilib -Itests

$(B)/tests/test_x86_%.o: tests/test_x86_%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) $(X86_TCFLAGS) -c -o $@ $<

$(X86_TESTS): %: %.o $(B)/tests/test_x86_guest.o $(X86_LIB) $(T_HARNESS)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^

TESTS += $(X86_TESTS)

# Fuzzing (libFuzzer, from Debian's clang and libclang-rt-dev): not part of
# check. Each target runs FUZZ_TIME seconds from an empty corpus.
FUZZ_CC    ?= clang
FUZZ_TIME  ?= 20
X86_FUZZ   := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(wildcard tests/fuzz/fuzz_x86_*.c))
FUZZ_FLAGS := -std=gnu11 $(WARN) -g -O1 -D_GNU_SOURCE -Iinclude -Ilib -Itests \
	      -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined

$(B)/fuzz/%: tests/fuzz/%.c tests/test_x86_guest.c $(X86_SRCS) lib/x86/x86.h tests/test_x86_guest.h
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $<"
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(filter %.c,$^)

fuzz: $(X86_FUZZ)
	$(Q)for f in $(X86_FUZZ); do \
		echo "  FUZZ    $$f ($(FUZZ_TIME) s)"; \
		mkdir -p $$f.corpus && \
		$$f -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
			-artifact_prefix=$$f. $$f.corpus \
			>$$f.log 2>&1 || { tail -n 50 $$f.log; exit 1; }; \
		grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units)' $$f.log; \
	done

.PHONY: fuzz
