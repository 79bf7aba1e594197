/* The benchmark guest: see guest.h and image.S. */
#include "guest.h"

#include <string.h>
#include <sys/mman.h>

#include "bench.h"

extern const uint8_t bench_image[GUEST_ROM_SIZE];

void
guest_image(uint8_t rom[GUEST_ROM_SIZE], enum guest_loop loop,
    uint32_t iterations)
{
	uint32_t which = loop;

	memcpy(rom, bench_image, GUEST_ROM_SIZE);
	memcpy(rom + GUEST_COUNT_OFF, &iterations, 4);
	memcpy(rom + GUEST_LOOP_OFF, &which, 4);
}

uint8_t *
guest_mem(enum guest_loop loop)
{
	uint8_t *mem = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (mem == MAP_FAILED)
		die("guest memory: %m");
	guest_image(mem + GUEST_ROM_GPA, loop, 0);
	return mem;
}

void
guest_mem_free(uint8_t *mem)
{
	munmap(mem, GUEST_MEM_SIZE);
}
