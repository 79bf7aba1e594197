# nvmm-run: the reference VMM. Its parts add their own rules.
-include vmm/hw/module.mk
-include vmm/boot/module.mk
-include vmm/guest/module.mk
