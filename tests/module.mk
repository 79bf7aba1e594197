# The harness every test program links.
T_HARNESS := $(B)/tests/t.o
