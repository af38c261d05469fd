/* ecsguard: node-level runtime guard for Amazon ECS container instances. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "version") == 0) {
        printf("ecsguard %s\n", ECSGUARD_VERSION);
        return 0;
    }
    fprintf(stderr, "usage: ecsguard {run|probe|policy|version} [--help]\n");
    return 2;
}
