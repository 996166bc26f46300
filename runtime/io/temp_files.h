/* Temporary files ntkc creates beside its outputs and in its code cache:
 * named so that they are recognisable and short, removed when the process is
 * interrupted, and reported when an earlier run died before removing them.
 *
 * Names: "<dir>/.ntkc-<pid>-<12 hex digits><ext>", whatever the length of the
 * output's name (an output name near NAME_MAX still has room for its temp).
 *
 * Signals: temp_files_install_handlers() (the CLI calls it) catches SIGINT,
 * SIGTERM and SIGHUP: the handler unlinks every registered temp file — a
 * fixed table read without locks or allocation, so it is async-signal-safe —
 * then restores the default disposition and re-raises the signal, so the
 * process still dies of it. Between temp_files_defer_signals() and
 * temp_files_resume_signals() (a commit of several outputs, which must
 * finish or roll back) a signal is held and acted on at the resume.
 *
 * The table is process-global: a signal handler can reach nothing else. It
 * and the deferral flags are the only mutable globals besides libtcc's lock. */
#ifndef NTKC_TEMP_FILES_H
#define NTKC_TEMP_FILES_H

#include <stddef.h>

enum { TEMP_FILES_MAX = 32 };

/* Creates a new file "<prefix>.ntkc-<pid>-<random><ext>" exclusively with the
 * given mode (less the umask), registered for removal on a signal. prefix is
 * "" or a directory ending in '/'. Returns the descriptor (O_CLOEXEC, read and
 * write) with the path in out and the registration in *slot, or -1 with errno
 * set (ENAMETOOLONG when out is too small). */
int temp_file_create(const char *prefix, const char *ext, int mode, char *out, size_t cap, int *slot);

/* Registers path for removal on a signal; returns the slot, or -1 when the
 * table is full (the file then is only not cleaned up on a signal). */
int temp_files_add(const char *path);
/* Forgets a slot (before the file is renamed away or removed); -1 is a no-op. */
void temp_files_forget(int slot);

void temp_files_install_handlers(void);
void temp_files_defer_signals(void);
void temp_files_resume_signals(void);

/* Calls report(ctx, path, pid) for every "<dir>/.ntkc-<pid>-*" file owned by
 * this user whose process no longer exists: left by a run killed without
 * a chance to clean up (SIGKILL, power loss). Returns how many. */
int temp_files_stale(const char *dir, void (*report)(void *ctx, const char *path, long pid), void *ctx);

#endif
