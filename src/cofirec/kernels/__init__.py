"""Pure array kernels (numpy / scipy / numba) used by the models; each is tested against a naive reference."""
