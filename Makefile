# libnvmm for Linux: NetBSD's NVMM API on KVM.
#
#   make               build libnvmm.so.0, libnvmm.a, nvmmctl and nvmm-run into $(B)
#   make check         build and run the test suite, then again under ASan+UBSan
#   make check-fast    the test suite once, without the sanitizer pass
#   make bench         the benchmark suite (not part of check)
#   make install       PREFIX=/usr/local DESTDIR=
#
# Each part of the tree adds its own rules in its module.mk.

PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig

VERSION    := 0.2.0
SOVERSION  := 0

# B is the build folder; SAN=1 selects the sanitizer build.
ifeq ($(SAN),1)
B          ?= build/san
SANFLAGS   := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
B          ?= build
SANFLAGS   :=
endif

CC         ?= cc
CFLAGS     ?= -O2 -g
WARN       := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
ALL_CFLAGS := -std=gnu11 $(WARN) $(CFLAGS) $(SANFLAGS) -MMD -MP -D_GNU_SOURCE
ALL_LDFLAGS := $(LDFLAGS) $(SANFLAGS)

Q := @
ifeq ($(V),1)
Q :=
endif

# Every test program links the harness (tests/t.c: main and the runner,
# tests/t_check.c: the assertions, also used by helper programs).
T_CHECK   := $(B)/tests/t_check.o
T_HARNESS := $(B)/tests/t.o $(T_CHECK)

# Filled in by the modules. KVM_TESTS need KVM: they run through
# tools/with-kvm, in an emulated AMD-V host where /dev/kvm is missing.
PROGRAMS  :=
TESTS     :=
KVM_TESTS :=
CLEAN    :=

all:

include lib/module.mk
include tools/module.mk
include vmm/module.mk
include tests/module.mk
include bench/module.mk
include mk/install.mk
include mk/qemu.mk

all: $(PROGRAMS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) $(CPPFLAGS_$(firstword $(subst /, ,$<))) -c -o $@ $<

$(B)/%.o: %.S
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The suite runs twice: a normal build, then the same tests under ASan+UBSan.
check: check-fast
	$(Q)$(MAKE) --no-print-directory SAN=1 check-fast

check-fast: all $(TESTS) $(KVM_TESTS)
	$(Q)sh tests/run.sh $(B) $(TESTS) --kvm $(KVM_TESTS)

clean:
	rm -rf build

.PHONY: all check check-fast clean install uninstall bench

-include $(shell find $(B) -name '*.d' 2>/dev/null)
