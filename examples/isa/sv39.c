/* Sv39 paging (see vm.h) */
#define LEVELS 3
#include "vm.h"
