/* status.c - status strings and the backend's name and kind. */
#include "internal.h"

const char *goptim_status_string(goptim_status s) {
    switch (s) {
    case GOPTIM_OK: return "ok";
    case GOPTIM_ERR_INVALID_ARGUMENT: return "invalid argument";
    case GOPTIM_ERR_OUT_OF_MEMORY: return "out of memory";
    case GOPTIM_ERR_NONFINITE: return "non-finite value";
    case GOPTIM_ERR_BACKEND: return "backend failure";
    case GOPTIM_ERR_UNSUPPORTED: return "unsupported";
    }
    return "unknown status";
}

const char *goptim_backend_name(void) { return "cpu"; }
int goptim_backend_is_device(void) { return 0; }
