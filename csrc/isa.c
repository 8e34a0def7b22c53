/* isa.c - which instruction sets this CPU and this build have, and the best of them. */
#include "internal.h"

int gi_cpu_has(int isa) {
    switch (isa) {
    case GI_ISA_PORTABLE: return 1;
#if defined(__x86_64__)
    case GI_ISA_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case GI_ISA_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512dq");
#endif
    default: return 0;
    }
}

/* Public enum -> kernel build index, or -1 if this build has no such kernels. */
int gi_isa_index(goptim_isa isa) {
    switch (isa) {
#if defined(__x86_64__)
    case GOPTIM_ISA_PORTABLE: return GI_ISA_PORTABLE;
    case GOPTIM_ISA_AVX2: return GI_ISA_AVX2;
    case GOPTIM_ISA_AVX512: return GI_ISA_AVX512;
#elif defined(__aarch64__)
    case GOPTIM_ISA_PORTABLE: return GI_ISA_PORTABLE;
    case GOPTIM_ISA_NEON: return GI_ISA_PORTABLE;
#else
    case GOPTIM_ISA_PORTABLE: return GI_ISA_PORTABLE;
#endif
    default: return -1;
    }
}

goptim_isa gi_best_isa(void) {
#if defined(__x86_64__)
    if (gi_cpu_has(GI_ISA_AVX512)) return GOPTIM_ISA_AVX512;
    if (gi_cpu_has(GI_ISA_AVX2)) return GOPTIM_ISA_AVX2;
    return GOPTIM_ISA_PORTABLE;
#elif defined(__aarch64__)
    return GOPTIM_ISA_NEON;
#else
    return GOPTIM_ISA_PORTABLE;
#endif
}
