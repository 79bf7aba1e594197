/*
 * NetBSD's <dev/nvmm/nvmm_ioctl.h>: the argument structures of the
 * /dev/nvmm ioctls. libnvmm for Linux talks to KVM instead, so only
 * nvmm_ctl()'s types matter at run time; the rest is kept so that code
 * naming these types compiles.
 */
#ifndef _NVMM_IOCTL_H_
#define _NVMM_IOCTL_H_

#include <time.h>
#include <dev/nvmm/nvmm.h>

struct nvmm_ioc_capability {
	struct nvmm_capability cap;
};

struct nvmm_ioc_machine_create {
	nvmm_machid_t machid;
};

struct nvmm_ioc_machine_destroy {
	nvmm_machid_t machid;
};

struct nvmm_ioc_machine_configure {
	nvmm_machid_t machid;
	uint64_t op;
	void *conf;
};

struct nvmm_ioc_vcpu_create {
	nvmm_machid_t machid;
	nvmm_cpuid_t cpuid;
};

struct nvmm_ioc_vcpu_destroy {
	nvmm_machid_t machid;
	nvmm_cpuid_t cpuid;
};

struct nvmm_ioc_vcpu_configure {
	nvmm_machid_t machid;
	nvmm_cpuid_t cpuid;
	uint64_t op;
	void *conf;
};

struct nvmm_ioc_vcpu_setstate {
	nvmm_machid_t machid;
	nvmm_cpuid_t cpuid;
};

struct nvmm_ioc_vcpu_getstate {
	nvmm_machid_t machid;
	nvmm_cpuid_t cpuid;
};

struct nvmm_ioc_vcpu_inject {
	nvmm_machid_t machid;
	nvmm_cpuid_t cpuid;
};

struct nvmm_ioc_vcpu_run {
	/* input */
	nvmm_machid_t machid;
	nvmm_cpuid_t cpuid;
	/* output */
	struct nvmm_vcpu_exit exit;
};

struct nvmm_ioc_hva_map {
	nvmm_machid_t machid;
	uintptr_t hva;
	size_t size;
	int flags;
};

struct nvmm_ioc_hva_unmap {
	nvmm_machid_t machid;
	uintptr_t hva;
	size_t size;
	int flags;
};

struct nvmm_ioc_gpa_map {
	nvmm_machid_t machid;
	uintptr_t hva;
	gpaddr_t gpa;
	size_t size;
	int prot;
};

struct nvmm_ioc_gpa_unmap {
	nvmm_machid_t machid;
	gpaddr_t gpa;
	size_t size;
};

struct nvmm_ctl_mach_info {
	/* input */
	nvmm_machid_t machid;
	/* output */
	uint32_t nvcpus;
	uint64_t nram;
	pid_t pid;
	time_t time;
};

struct nvmm_ioc_ctl {
	int op;
#define NVMM_CTL_MACH_INFO	0
	void *data;
	size_t size;
};

__NVMM_STATIC_ASSERT(sizeof(struct nvmm_ctl_mach_info) == 32,
    "struct nvmm_ctl_mach_info is 32 bytes");

#endif /* _NVMM_IOCTL_H_ */
