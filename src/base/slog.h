/* The daemons' log (manager, orchestrator, local stack): one line per event
 * on stderr, in the form `[HH:MM:SS.mmm] [LVL:component] message`, filtered by
 * a global level. Components are short names: `mq`, `ch`, `mgr`, `if.NAME`,
 * `rt.NAME`, `orc`, `http`, `db`. */
#ifndef STRATUS_BASE_SLOG_H
#define STRATUS_BASE_SLOG_H

/* Levels use the Python numbering the runtime log frames carry. */
enum slog_level {
    SLOG_DEBUG = 10,
    SLOG_INFO = 20,
    SLOG_WARNING = 30,
    SLOG_ERROR = 40,
    SLOG_CRITICAL = 50,
};

/* Only messages at or above this level are written (default SLOG_INFO). */
void slog_set_level(int level);
int slog_get_level(void);

/* Parse "debug", "info", "warning", "error" (or "critical"). Returns 0 and
 * sets *level, or -1 for an unknown name. */
int slog_level_parse(const char *name, int *level);

void slog(int level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
