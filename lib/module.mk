# libnvmm: libnvmm.so.0 and libnvmm.a.
include lib/x86/module.mk

CPPFLAGS_lib := -Iinclude -Ilib -fPIC -fvisibility=hidden

LIB_SRCS := lib/process.c lib/machine.c lib/vcpu.c lib/comm.c lib/mem.c lib/assist.c lib/dump.c \
	lib/registry.c lib/kvm/kvm.c lib/kvm/kvm_state.c lib/kvm/kvm_run.c \
	lib/kvm/cpuid.c lib/dirty.c lib/stats.c lib/xstate.c lib/debug.c
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/%.o)

LIBNVMM_A  := $(B)/libnvmm.a
LIBNVMM_SO := $(B)/libnvmm.so.$(SOVERSION)

PROGRAMS += $(LIBNVMM_A) $(LIBNVMM_SO)

# The static archive carries the x86 layer's objects too.
$(LIBNVMM_A): $(LIB_OBJS) $(X86_OBJS)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIBNVMM_SO): $(LIB_OBJS) $(X86_OBJS) lib/libnvmm.map
	@echo "  LD      $@"
	$(Q)$(CC) -shared -Wl,-soname,libnvmm.so.$(SOVERSION) \
		-Wl,--version-script=lib/libnvmm.map -Wl,-z,defs \
		$(ALL_LDFLAGS) -o $@ $(LIB_OBJS) $(X86_OBJS) -lpthread
	$(Q)ln -sf libnvmm.so.$(SOVERSION) $(B)/libnvmm.so
