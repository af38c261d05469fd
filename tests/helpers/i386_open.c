/*
 * i386_open PATH: a 32-bit (i386) program that opens PATH for writing (O_WRONLY | O_CREAT |
 * O_TRUNC) the way a 32-bit binary's C library does, through the vDSO's __kernel_vsyscall
 * (sysenter on Intel, syscall on AMD; int 0x80 where the vDSO gives none), prints
 * "ok i386_open via=vsyscall|int80" and exits 0, or "fail i386_open errno=N" and exits 1.
 * test_compat runs it in a container: a real 32-bit process, beside egprobe's int 0x80 calls
 * from a 64-bit one. Built with -m32 -nostdlib (no 32-bit C library needed on the build host):
 * its own entry point, auxiliary-vector walk and syscalls.
 */
#define I386_EXIT 1
#define I386_WRITE 4
#define I386_OPEN 5
#define AT_NULL 0
#define AT_SYSINFO 32

static unsigned long vsyscall; /* __kernel_vsyscall, from the auxiliary vector */

static long sys3(long nr, long a, long b, long c)
{
    long ret;
    if (vsyscall)
        __asm__ volatile("call *%[fn]"
                         : "=a"(ret)
                         : [fn] "S"(vsyscall), "a"(nr), "b"(a), "c"(b), "d"(c)
                         : "memory");
    else
        __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
    return ret;
}

static unsigned long length(const char *s)
{
    unsigned long n = 0;
    while (s[n])
        n++;
    return n;
}

static void say(const char *s)
{
    sys3(I386_WRITE, 1, (long)s, (long)length(s));
}

/* The stack the kernel built: argc, argv..., NULL, envp..., NULL, auxv pairs. */
__attribute__((used)) static void i386_main(long *sp)
{
    long argc = sp[0];
    char **argv = (char **)(sp + 1);
    char **envp = argv + argc + 1;
    while (*envp)
        envp++;
    for (unsigned long *av = (unsigned long *)(envp + 1); av[0] != AT_NULL; av += 2)
        if (av[0] == AT_SYSINFO)
            vsyscall = av[1];
    if (argc != 2) {
        say("usage: i386_open PATH\n");
        sys3(I386_EXIT, 2, 0, 0);
    }
    long fd = sys3(I386_OPEN, (long)argv[1], 01 | 0100 | 01000, 0644);
    if (fd < 0) {
        char line[] = "fail i386_open errno=000\n";
        long e = -fd;
        line[21] = (char)('0' + e / 100 % 10);
        line[22] = (char)('0' + e / 10 % 10);
        line[23] = (char)('0' + e % 10);
        say(line);
        sys3(I386_EXIT, 1, 0, 0);
    }
    say(vsyscall ? "ok i386_open via=vsyscall\n" : "ok i386_open via=int80\n");
    sys3(I386_EXIT, 0, 0, 0);
}

/* Entry: hand the initial stack pointer to i386_main on a 16-byte aligned stack. */
__asm__(".globl _start\n"
        "_start:\n"
        "  xor %ebp, %ebp\n"
        "  mov %esp, %eax\n"
        "  and $-16, %esp\n"
        "  sub $12, %esp\n"
        "  push %eax\n"
        "  call i386_main\n"
        "  hlt\n");
