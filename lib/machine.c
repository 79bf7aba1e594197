/*
 * Library initialisation, capabilities, machines and nvmm_ctl().
 */
#include "nvmm_impl.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int
init_common(bool root)
{
	const char *env;
	int r;

	if (nvmm_initialised)
		return 0;
	if (root && geteuid() != 0)
		return -EACCES;
	env = getenv("LIBNVMM_COMM_PAGE");
	nvmm_cache_off = env != NULL && strcmp(env, "0") == 0;
	r = kvm_init(&nvmm_cap);
	if (r < 0)
		return r;
	nvmm_root = root;
	nvmm_initialised = true;
	return 0;
}

NVMM_API int
nvmm_init(void)
{
	return nvmm_ret(init_common(false));
}

NVMM_API int
nvmm_root_init(void)
{
	return nvmm_ret(init_common(true));
}

NVMM_API int
nvmm_capability(struct nvmm_capability *cap)
{
	if (!nvmm_initialised)
		return nvmm_ret(-EBADF);
	if (cap == NULL)
		return nvmm_ret(-EFAULT);
	*cap = nvmm_cap;
	return 0;
}

/* Without the registry, ids are unique within this process only. */
static int
local_id(struct mach *m)
{
	for (unsigned id = 0; id < NVMM_MAX_MACHINES; id++) {
		if (machines_get(id) == NULL) {
			m->id = id;
			return 0;
		}
	}
	return -ENOBUFS;
}

NVMM_API int
nvmm_machine_create(struct nvmm_machine *mach)
{
	struct mach *m;
	int r;

	if (!nvmm_initialised)
		return nvmm_ret(-EBADF);
	if (mach == NULL)
		return nvmm_ret(-EFAULT);
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return nvmm_ret(-ENOMEM);
	pthread_rwlock_init(&m->lock, NULL);
	m->ctime = time(NULL);

	machines_lock();
	r = registry_claim(m);
	if (r == -EAGAIN)
		r = local_id(m);
	if (r == 0) {
		r = kvm_machine_create(m);
		if (r < 0)
			registry_release(m);
	}
	if (r == 0)
		machines_set(m->id, m);
	machines_unlock();
	if (r < 0) {
		pthread_rwlock_destroy(&m->lock);
		free(m);
		return nvmm_ret(r);
	}

	memset(mach, 0, sizeof(*mach));
	mach->machid = m->id;
	mach->pages = m->pages;
	mach->areas = m;
	return 0;
}

NVMM_API int
nvmm_machine_destroy(struct nvmm_machine *mach)
{
	struct mach *m;
	int r;

	machines_lock();
	r = mach_lookup(mach, &m);
	if (r == 0)
		machines_set(m->id, NULL);
	machines_unlock();
	if (r < 0)
		return nvmm_ret(r);

	/* As in NetBSD's kernel, destroying a machine destroys its VCPUs. */
	for (unsigned i = 0; i < NVMM_MAX_VCPUS; i++) {
		struct vcpu *v = m->vcpus[i];

		if (v == NULL)
			continue;
		vcpu_free(v);
	}
	mem_destroy(m);
	kvm_machine_destroy(m);
	registry_release(m);
	pthread_rwlock_destroy(&m->lock);
	free(m);
	return 0;
}

NVMM_API int
nvmm_machine_configure(struct nvmm_machine *mach, uint64_t op, void *conf)
{
	struct mach *m;
	int r;

	(void)conf;
	r = mach_lookup(mach, &m);
	if (r < 0)
		return nvmm_ret(r);
	/* x86 defines no machine configuration, on NetBSD as here. */
	(void)op;
	return nvmm_ret(-EINVAL);
}

NVMM_API int
nvmm_ctl(int op, void *data, size_t size)
{
	struct nvmm_ctl_mach_info *info = data;
	struct mach *m;

	if (!nvmm_initialised)
		return nvmm_ret(-EBADF);
	if (op != NVMM_CTL_MACH_INFO || size != sizeof(*info))
		return nvmm_ret(-EINVAL);
	if (info == NULL)
		return nvmm_ret(-EFAULT);
	if (info->machid >= NVMM_MAX_MACHINES)
		return nvmm_ret(-EINVAL);

	machines_lock();
	m = machines_get(info->machid);
	if (m != NULL) {
		pthread_rwlock_rdlock(&m->lock);
		info->nvcpus = m->nvcpus;
		info->nram = m->nram;
		info->pid = getpid();
		info->time = m->ctime;
		pthread_rwlock_unlock(&m->lock);
	}
	machines_unlock();
	if (m != NULL)
		return 0;
	/* Another process's machine: only the root owner may look at it. */
	return nvmm_ret(registry_info(info->machid, info));
}
