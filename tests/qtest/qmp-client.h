/*
 * A few lines of QMP for qtest programs that also need the monitor
 * (werror=stop and cont, set_link): connect to a unix socket the VMM
 * listens on, read lines, run commands.  Any failure fails the test.
 */
#ifndef TESTS_QTEST_QMP_CLIENT_H
#define TESTS_QTEST_QMP_CLIENT_H

/* Connect to the monitor at @path; the greeting is not read. */
int qmp_client_open(const char *path);
/*
 * The next line the monitor sends that contains @want; other lines
 * (events) are skipped.  An error reply ends the wait when @want is
 * "\"return\"", so a failed command is seen.  g_free() it.
 */
char *qmp_client_line(int fd, const char *want);
/* Run @cmd with @args (a JSON object's text, or NULL); its reply line. */
char *qmp_client_cmd_args(int fd, const char *cmd, const char *args);
/* Read the greeting and negotiate capabilities. */
void qmp_client_handshake(int fd);

#endif
