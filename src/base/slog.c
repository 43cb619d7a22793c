/* The daemons' log lines (see slog.h). Written with one fprintf per line so
 * that lines of the manager and its runtime processes do not interleave. */
#include "slog.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static int min_level = SLOG_INFO;

void slog_set_level(int level)
{
    min_level = level;
}

int slog_get_level(void)
{
    return min_level;
}

int slog_level_parse(const char *name, int *level)
{
    static const struct {
        const char *name;
        int level;
    } names[] = {{"debug", SLOG_DEBUG},  {"info", SLOG_INFO},   {"warning", SLOG_WARNING},
                 {"warn", SLOG_WARNING}, {"error", SLOG_ERROR}, {"critical", SLOG_CRITICAL}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!strcmp(name, names[i].name)) {
            *level = names[i].level;
            return 0;
        }
    }
    return -1;
}

static const char *level_tag(int level)
{
    if (level >= SLOG_CRITICAL) return "CRT";
    if (level >= SLOG_ERROR) return "ERR";
    if (level >= SLOG_WARNING) return "WRN";
    if (level >= SLOG_INFO) return "INF";
    return "DBG";
}

void slog(int level, const char *component, const char *fmt, ...)
{
    if (level < min_level) return;
    char text[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    fprintf(stderr, "[%02d:%02d:%02d.%03d] [%s:%s] %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
            (int)(tv.tv_usec / 1000), level_tag(level), component, text);
}
