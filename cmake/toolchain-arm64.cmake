# Cross-compiling for arm64 (Graviton) from an x86_64 Debian host: Debian's aarch64-linux-gnu gcc
# against a sysroot of Debian's arm64 -dev packages (scripts/build-arm64.sh makes it and passes
# ECSGUARD_ARM64_SYSROOT). bpf/bpf.cmake compiles the kernel programs for the target from
# CMAKE_SYSTEM_PROCESSOR (arm64 vmlinux.h, __TARGET_ARCH_arm64); clang and bpftool run on the host.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

if(NOT ECSGUARD_ARM64_SYSROOT)
  set(ECSGUARD_ARM64_SYSROOT "$ENV{ECSGUARD_ARM64_SYSROOT}")
endif()
if(NOT ECSGUARD_ARM64_SYSROOT OR NOT EXISTS "${ECSGUARD_ARM64_SYSROOT}/usr/include")
  message(FATAL_ERROR "toolchain-arm64: set ECSGUARD_ARM64_SYSROOT to the arm64 sysroot "
                      "(scripts/build-arm64.sh makes one)")
endif()
# try_compile projects re-read this file: hand them the sysroot too.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES ECSGUARD_ARM64_SYSROOT)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_SYSROOT "${ECSGUARD_ARM64_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH "${ECSGUARD_ARM64_SYSROOT}")
# Programs (clang, bpftool, python3, node) are the host's; libraries and headers the target's.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config reads the target's .pc files only, and prefixes their paths with the sysroot.
set(ENV{PKG_CONFIG_DIR} "")
set(ENV{PKG_CONFIG_LIBDIR}
    "${ECSGUARD_ARM64_SYSROOT}/usr/lib/aarch64-linux-gnu/pkgconfig:${ECSGUARD_ARM64_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${ECSGUARD_ARM64_SYSROOT}")

