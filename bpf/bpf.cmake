# Builds each bpf/<concern>.bpf.c into an object with clang and generates its
# libbpf skeleton with bpftool. CO-RE against the committed vmlinux.h of the
# target architecture, so the build never reads the build host's BTF.
find_program(CLANG_BPF NAMES clang REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /usr/local/sbin REQUIRED)

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|amd64")
  set(ECSGUARD_BPF_ARCH x86_64)
  set(ECSGUARD_BPF_TARGET_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(ECSGUARD_BPF_ARCH arm64)
  set(ECSGUARD_BPF_TARGET_ARCH arm64)
else()
  message(FATAL_ERROR "ecsguard: no vmlinux.h for ${CMAKE_SYSTEM_PROCESSOR}")
endif()

set(ECSGUARD_BPF_OUT_DIR ${CMAKE_BINARY_DIR}/bpf)
file(MAKE_DIRECTORY ${ECSGUARD_BPF_OUT_DIR})
file(GLOB ECSGUARD_BPF_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/bpf/*.bpf.c)
file(GLOB ECSGUARD_BPF_HEADERS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/bpf/*.h)

# One object and its skeleton: <out_dir>/<name>.bpf.o and <name>.skel.h from <name>.bpf.c,
# compiled against the committed vmlinux.h and bpf/*.h. Sets <skel_var> to the skeleton path.
# The bench's own BPF tools (bench/CMakeLists.txt) are built with it too.
function(eg_bpf_skeleton src out_dir skel_var)
  get_filename_component(name ${src} NAME_WE)
  set(obj ${out_dir}/${name}.bpf.o)
  set(skel ${out_dir}/${name}.skel.h)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${CLANG_BPF} -g -O2 -target bpf -D__TARGET_ARCH_${ECSGUARD_BPF_TARGET_ARCH}
            -Wall -Werror -I${CMAKE_SOURCE_DIR}/bpf/vmlinux/${ECSGUARD_BPF_ARCH}
            -I${CMAKE_SOURCE_DIR}/bpf -c ${src} -o ${obj}
    DEPENDS ${src} ${ECSGUARD_BPF_HEADERS}
    COMMENT "BPF ${name}.bpf.c"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${BPFTOOL} gen skeleton ${obj} name ${name}_bpf > ${skel}
    DEPENDS ${obj}
    COMMENT "skeleton ${name}.skel.h"
    VERBATIM)
  set(${skel_var} ${skel} PARENT_SCOPE)
endfunction()

set(ECSGUARD_BPF_SKELETONS)
foreach(src ${ECSGUARD_BPF_SOURCES})
  eg_bpf_skeleton(${src} ${ECSGUARD_BPF_OUT_DIR} skel)
  list(APPEND ECSGUARD_BPF_SKELETONS ${skel})
endforeach()
add_custom_target(ecsguard_bpf_skeletons DEPENDS ${ECSGUARD_BPF_SKELETONS})
