/*
 * pidfd actions for tests/integration/test_hostns.py (egprobe has none):
 *   hostns_pidfd signal PID SIG   pidfd_open + pidfd_send_signal
 *   hostns_pidfd setns PID        pidfd_open + setns(pidfd, CLONE_NEWNS)
 * Built static (tests/helpers/CMakeLists.txt) and bind-mounted into the container. Prints "ok"
 * or "error=<errno>" and exits 0 / 1.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    int pidfd = (int)syscall(SYS_pidfd_open, atoi(argv[2]), 0);
    if (pidfd < 0) {
        printf("error=%d step=pidfd_open\n", errno);
        return 1;
    }
    long rc;
    if (argv[1][0] == 's' && argv[1][1] == 'i' && argc == 4)
        rc = syscall(SYS_pidfd_send_signal, pidfd, atoi(argv[3]), NULL, 0);
    else if (argv[1][0] == 's' && argv[1][1] == 'e')
        rc = setns(pidfd, CLONE_NEWNS);
    else
        return 2;
    if (rc != 0) {
        printf("error=%d\n", errno);
        return 1;
    }
    printf("ok\n");
    return 0;
}
