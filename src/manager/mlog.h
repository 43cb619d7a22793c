/* The manager's log: one line per event on stderr, in the form
 * `[HH:MM:SS.mmm] [LVL:component] message`, filtered by a global level.
 * Components are short names: `mq`, `ch`, `mgr`, `if.NAME`, `rt.NAME`. */
#ifndef STRATUS_MANAGER_MLOG_H
#define STRATUS_MANAGER_MLOG_H

/* Levels use the Python numbering the runtime log frames carry. */
enum mlog_level {
    MLOG_DEBUG = 10,
    MLOG_INFO = 20,
    MLOG_WARNING = 30,
    MLOG_ERROR = 40,
    MLOG_CRITICAL = 50,
};

/* Only messages at or above this level are written (default MLOG_INFO). */
void mlog_set_level(int level);
int mlog_get_level(void);

/* Parse "debug", "info", "warning", "error" (or "critical"). Returns 0 and
 * sets *level, or -1 for an unknown name. */
int mlog_level_parse(const char *name, int *level);

void mlog(int level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
