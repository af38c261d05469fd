# Layered libraries. A layer's headers are reachable only through a "view": a directory in the
# build tree that holds one symbolic link, named after the layer, to the layer's source folder.
# `#include "collectors/x.h"` resolves through the collectors view, which only the collectors
# library and the layers above it have on their include path. The repository root is on no
# include path, so nothing can reach a layer it does not link.

# eg_layer_view(<layer> <var>): create the view of folder <layer>; <var> is its directory.
function(eg_layer_view layer var)
  set(view ${CMAKE_BINARY_DIR}/layers/${layer})
  file(MAKE_DIRECTORY ${view})
  if(NOT EXISTS ${view}/${layer})
    file(CREATE_LINK ${CMAKE_SOURCE_DIR}/${layer} ${view}/${layer} SYMBOLIC)
  endif()
  set(${var} ${view} PARENT_SCOPE)
endfunction()

# The kernel ABI: bpf/events.h and the other headers shared by kernel and user code.
eg_layer_view(bpf EG_BPF_VIEW)
add_library(eg_bpf_abi INTERFACE)
target_include_directories(eg_bpf_abi INTERFACE ${EG_BPF_VIEW})
