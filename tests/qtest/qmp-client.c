/* A minimal QMP client for qtest programs; see qmp-client.h. */
#include "qmp-client.h"
#include "qtest-tap.h"
#include <errno.h>
#include <glib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int qmp_client_open(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        qt_fail("connect to QMP at %s: %s", path, g_strerror(errno));
    }
    return fd;
}

char *qmp_client_line(int fd, const char *want)
{
    GString *line = g_string_new(NULL);
    char c;

    for (;;) {
        if (read(fd, &c, 1) != 1) {
            qt_fail("QMP connection closed");
        }
        if (c != '\n') {
            g_string_append_c(line, c);
        } else if (strstr(line->str, want) ||
                   (!strcmp(want, "\"return\"") &&
                    g_str_has_prefix(line->str, "{\"error\""))) {
            return g_string_free(line, FALSE);
        } else {
            g_string_truncate(line, 0);
        }
    }
}

char *qmp_client_cmd_args(int fd, const char *cmd, const char *args)
{
    g_autofree char *msg = g_strdup_printf(
        "{\"execute\": \"%s\"%s%s}", cmd, args ? ", \"arguments\": " : "",
        args ? args : "");

    if (write(fd, msg, strlen(msg)) != (ssize_t)strlen(msg)) {
        qt_fail("QMP write: %s", g_strerror(errno));
    }
    return qmp_client_line(fd, "\"return\"");
}

void qmp_client_handshake(int fd)
{
    g_free(qmp_client_line(fd, "\"QMP\""));
    g_free(qmp_client_cmd_args(fd, "qmp_capabilities", NULL));
}
