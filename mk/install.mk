# make install, make uninstall (PREFIX, DESTDIR and the *DIR variables of
# the top Makefile), and make deb-check, which builds and checks the
# Debian packages. The library goes in as libnvmm.so.$(VERSION), with the
# soname link libnvmm.so.$(SOVERSION) and the link libnvmm.so for -lnvmm.

INSTALL ?= install

HEADERS  := $(wildcard include/*.h include/dev/nvmm/*.h include/dev/nvmm/x86/*.h)
MANPAGES := $(wildcard man/libnvmm.3 man/nvmm_ext.3 man/nvmmctl.8 man/nvmm-run.1)

# Each installed file as SOURCE:DESTINATION:MODE, DESTINATION without DESTDIR.
INSTALL_FILES := \
	$(foreach h,$(HEADERS),$(h):$(INCLUDEDIR)/$(h:include/%=%):644) \
	$(LIBNVMM_SO):$(LIBDIR)/libnvmm.so.$(VERSION):644 \
	$(LIBNVMM_A):$(LIBDIR)/libnvmm.a:644 \
	$(NVMMCTL):$(SBINDIR)/nvmmctl:755 \
	$(if $(NVMM_RUN),$(NVMM_RUN):$(BINDIR)/nvmm-run:755) \
	$(foreach m,$(MANPAGES),$(m):$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m)):644)

PC_FILE  := $(PKGCONFIGDIR)/nvmm.pc
SO_LINKS := $(LIBDIR)/libnvmm.so.$(SOVERSION) $(LIBDIR)/libnvmm.so

install: all
	$(Q)set -e; for f in $(INSTALL_FILES); do \
		src=$${f%%:*} dst=$${f#*:}; \
		echo "  INSTALL $(DESTDIR)$${dst%:*}"; \
		$(INSTALL) -D -m $${dst##*:} $$src $(DESTDIR)$${dst%:*}; \
	done
	$(Q)ln -sf libnvmm.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libnvmm.so.$(SOVERSION)
	$(Q)ln -sf libnvmm.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libnvmm.so
	@echo "  INSTALL $(DESTDIR)$(PC_FILE)"
	$(Q)$(INSTALL) -d $(DESTDIR)$(PKGCONFIGDIR)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|' \
		-e 's|@LIBDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))|' \
		-e 's|@INCLUDEDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))|' \
		-e 's|@VERSION@|$(VERSION)|' lib/nvmm.pc.in >$(DESTDIR)$(PC_FILE)

# Removes what install put there, and the header folders if left empty.
uninstall:
	$(Q)rm -f $(foreach f,$(INSTALL_FILES),$(DESTDIR)$(word 2,$(subst :, ,$(f)))) \
		$(addprefix $(DESTDIR),$(PC_FILE) $(SO_LINKS))
	$(Q)cd $(DESTDIR)$(INCLUDEDIR) 2>/dev/null && \
		rmdir --ignore-fail-on-non-empty dev/nvmm/x86 dev/nvmm dev 2>/dev/null || :

# Slow (a package build and lintian) and it installs the packages on this
# host for a while: a separate step, not part of check.
deb-check:
	$(Q)sh tests/test_debian.sh

.PHONY: deb-check
