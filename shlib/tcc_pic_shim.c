/* Only in libntkc.so. Debian's libtcc.a is compiled as position-independent
 * *executable* code: it reaches libc's stdout, stderr and environ by
 * PC-relative addresses, which a shared object cannot bind to libc. These
 * hidden copies, taken from libc's when the library is loaded, are what those
 * references resolve to inside libntkc.so (libtcc writes to them only when no
 * error function is set, which ntkc always sets). */
#include <dlfcn.h>

#define HIDDEN __attribute__((visibility("hidden")))

HIDDEN void *stdout;
HIDDEN void *stderr;
HIDDEN char **environ;

__attribute__((constructor)) static void ntkc_bind_libc_data(void)
{
    void **out = dlsym(RTLD_DEFAULT, "stdout"), **errs = dlsym(RTLD_DEFAULT, "stderr");
    char ***env = dlsym(RTLD_DEFAULT, "environ");
    stdout = out ? *out : 0;
    stderr = errs ? *errs : 0;
    environ = env ? *env : 0;
}
