/* Private to lib/kvm/. */
#ifndef LIB_KVM_IMPL_H
#define LIB_KVM_IMPL_H

#include "kvm.h"

/* NetBSD's default XCR0 mask: x87 and SSE. */
#define KVM_XCR0_DEFAULT	0x3ULL

extern int kvm_fd;
extern int kvm_run_size;
extern int kvm_kick_signal;
extern struct kvm_cpuid2 *kvm_supported_cpuid;
extern uint32_t kvm_mxcsr_mask;
extern bool kvm_out_emulated;
extern bool kvm_mmio_write_executed;
extern bool kvm_have_xsave;	/* KVM_GET/SET_XSAVE, else KVM_GET/SET_FPU */

int kvm_ioctl(int fd, unsigned long req, void *arg);

/* kvm_state.c */
void kvm_provide(struct vcpu *);
uint32_t kvm_xsave_probe(int vmfd);
int kvm_flush_sync(struct vcpu *);

/* kvm_run.c: completes an unfinished instruction before state is written. */
int kvm_settle_for_write(struct vcpu *, bool keep_gprs);
const struct kvm_cpuid_entry2 *kvm_supported_leaf(uint32_t fn, uint32_t idx);

#endif
